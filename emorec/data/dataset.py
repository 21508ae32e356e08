"""The dataset folder: manifest, video frame table, audio window tables, optional split file.

On disk::

    DIR/manifest.json      name, origin (real | stand-in), fps, label scale, dims, windows,
                           the sessions the feature extractor was trained on, ...
    DIR/video.parquet      session, timestamp, [path], embedding_0..D-1, valence, arousal,
                           [valence_oracle, arousal_oracle]
    DIR/audio_<L>s.parquet session, start, end, [filename], x_0..x_{K-1}   (one per window L)
    DIR/split.csv          session,partition   (optional; else the seed-0 70/15/15 split)
    DIR/labels_raw.parquet session, time, valence, arousal: the ratings before alignment
                           (optional; datasets made by `emorec extract`)

Tables are validated when they are built or loaded (``emorec.data.validation``), kept sorted by
session and time, and fingerprinted from their content. The manifest and its checks:
:mod:`emorec.data.manifest`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from emorec.data import validation
from emorec.data.manifest import Manifest
from emorec.data.splits import Split, default_split, read_split_file
from emorec.errors import DataError
from emorec.system.files import link_files, replace_folder
from emorec.vocabulary import TARGETS

log = logging.getLogger(__name__)

MANIFEST_FILE = "manifest.json"
VIDEO_FILE = "video.parquet"
SPLIT_FILE = "split.csv"
CACHE_FOLDER = ".cache"   # an extraction's per-recording results, kept when the folder is saved
LABELS_RAW_FILE = "labels_raw.parquet"
ORACLE_COLUMNS = tuple(f"{target}_oracle" for target in TARGETS)


def audio_file_name(length: float) -> str:
    return f"audio_{format_seconds(length)}s.parquet"


def format_seconds(length: float) -> str:
    return f"{float(length):g}"


@dataclass(frozen=True)
class Dataset:
    """A validated dataset in memory. Build with :meth:`create` or :meth:`load`."""

    manifest: Manifest
    video: pd.DataFrame
    audio: dict[float, pd.DataFrame]
    split_table: pd.DataFrame | None = None
    root: Path | None = None
    labels_raw: pd.DataFrame | None = None   # ratings before alignment (extracted datasets)
    _computed: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    # ----------------------------------------------------------------- construction
    @classmethod
    def create(cls, manifest: Manifest, video: pd.DataFrame, audio: dict[float, pd.DataFrame],
               split_table: pd.DataFrame | None = None, *, source: str = "<memory>") -> Dataset:
        """Validate tables, sort them, and fingerprint the result."""
        manifest.check(f"{source} (manifest)")
        video = validation.check_video_table(
            video, f"{source} (video)", embedding_dim=manifest.embedding_dim, fps=manifest.fps,
            label_range=manifest.label_range, label_scale=manifest.label_scale)
        audio = {
            float(length): validation.check_audio_table(
                table, f"{source} (audio {format_seconds(length)} s)",
                audio_dim=manifest.audio_dim, length=float(length))
            for length, table in sorted(audio.items())
        }
        validation.report_audio_coverage(video, audio, source)
        unknown = sorted(set(manifest.extractor_train) - set(video["session"]))
        if unknown:
            raise DataError(f"{source} (manifest)", "extractor training sessions not in the "
                            "dataset", column="extractor_train",
                            expected="sessions of the video table",
                            found=validation.preview(unknown))
        if split_table is not None:
            split_table = validation.check_split_table(split_table, f"{source} (split)",
                                                       video["session"].unique())
        manifest = replace(
            manifest,
            audio_windows=tuple(audio),
            has_oracle=all(column in video.columns for column in ORACLE_COLUMNS),
        )
        manifest = replace(manifest, fingerprint=fingerprint(
            video, audio, manifest.source.get("extraction")))
        return cls(manifest, video, audio, split_table)

    @classmethod
    def load(cls, root: str | Path) -> Dataset:
        root = Path(root)
        manifest_path = root / MANIFEST_FILE
        if not manifest_path.is_file():
            raise DataError(root, "not an emorec dataset folder", expected=f"a {MANIFEST_FILE}",
                            found="none (make one with `emorec data synth` or "
                                  "`emorec data import`)")
        manifest = Manifest.from_json(manifest_path.read_text(), str(manifest_path))
        video = _read_parquet(root / VIDEO_FILE)
        audio = {length: _read_parquet(root / audio_file_name(length))
                 for length in manifest.audio_windows}
        split_path = root / SPLIT_FILE
        split_table = read_split_file(split_path) if split_path.is_file() else None
        dataset = cls.create(manifest, video, audio, split_table, source=str(root))
        if (root / LABELS_RAW_FILE).is_file():
            dataset = replace(dataset, labels_raw=_read_parquet(root / LABELS_RAW_FILE))
        if not manifest.fingerprint:
            raise DataError(manifest_path, "the manifest has no fingerprint, so edits to the "
                            "tables cannot be told from the data written", column="fingerprint",
                            expected="the fingerprint written with the tables",
                            found=f"{manifest.fingerprint!r}; write the dataset again (emorec "
                                  "data synth, import or extract)")
        if dataset.manifest.fingerprint != manifest.fingerprint:
            raise DataError(manifest_path, "the tables do not match the manifest's fingerprint "
                            "(files changed after the dataset was written?)",
                            column="fingerprint", expected=manifest.fingerprint,
                            found=dataset.manifest.fingerprint)
        return replace(dataset, root=root)

    def save(self, root: str | Path) -> Path:
        """Write the dataset folder whole, or leave what was there: the files go to a
        temporary folder beside ``root`` that then replaces it. An existing non-empty folder
        is replaced only if it is a dataset folder (holds a manifest)."""
        root = Path(root)

        def write(folder: Path) -> None:
            self._write_files(folder)
            link_files(root / CACHE_FOLDER, folder / CACHE_FOLDER)

        replace_folder(root, write, keep_if=MANIFEST_FILE)
        return root

    def save_if_changed(self, root: str | Path) -> bool:
        """:meth:`save` unless ``root`` holds this dataset already (the same manifest, content
        fingerprint included, and the same split file): how a dataset derived from another is
        kept beside it and written again only when what it derives from changed. True if
        written."""
        root = Path(root)
        manifest, split = root / MANIFEST_FILE, root / SPLIT_FILE
        if (manifest.is_file() and manifest.read_text() == self.manifest.to_json()
                and (split.read_bytes() if split.is_file() else None) == self._split_bytes()):
            return False
        self.save(root)
        return True

    def _split_bytes(self) -> bytes | None:
        return (None if self.split_table is None
                else self.split_table.to_csv(index=False, lineterminator="\n").encode())

    def _write_files(self, folder: Path) -> None:
        _write_parquet(self.video, folder / VIDEO_FILE)
        for length, table in self.audio.items():
            _write_parquet(table, folder / audio_file_name(length))
        if self.split_table is not None:
            (folder / SPLIT_FILE).write_bytes(self._split_bytes())
        if self.labels_raw is not None:
            _write_parquet(self.labels_raw, folder / LABELS_RAW_FILE)
        (folder / MANIFEST_FILE).write_text(self.manifest.to_json())

    # ----------------------------------------------------------------- access
    @property
    def name(self) -> str:
        return self.manifest.name

    @property
    def sessions(self) -> np.ndarray:
        return self.video["session"].unique()

    def matrix(self, table: str | float) -> np.ndarray:
        """The embeddings of ``"video"`` or of the audio table of that window length, as one
        C-contiguous float32 array of ``rows + 1`` rows, computed once. The extra last row is
        zeros, so that gathering with row index -1 (a masked slot) yields zeros."""
        if table not in self._computed:
            if table == "video":
                values = self.video[self.embedding_columns()]
            else:
                values = self.audio[float(table)][
                    validation.audio_columns(self.manifest.audio_dim)]
            padded = np.zeros((len(values) + 1, values.shape[1]), dtype=np.float32)
            padded[:-1] = values.to_numpy(np.float32)
            self._computed[table] = padded
        return self._computed[table]

    def embedding_columns(self) -> list[str]:
        return validation.embedding_columns(self.manifest.embedding_dim)

    def split(self) -> Split:
        """The dataset's split file, or the default seed-0 70/15/15 split by session (computed
        once)."""
        if "split" not in self._computed:
            self._computed["split"] = (Split(self.split_table, origin="split file")
                                       if self.split_table is not None
                                       else default_split(self.sessions))
        return self._computed["split"]

    def with_split(self, split_table: pd.DataFrame, source: str) -> Dataset:
        checked = validation.check_split_table(split_table, source, self.sessions)
        return replace(self, split_table=checked)


def fingerprint(video: pd.DataFrame, audio: dict[float, pd.DataFrame],
                extraction: dict | None = None) -> str:
    """A content hash of the tables (column names, order and values) and, for a dataset made by
    `emorec extract`, of how it was made (models and their weights, detector, rates, windows,
    label delay, library versions)."""
    digest = hashlib.sha256()
    if extraction:
        digest.update(json.dumps(extraction, sort_keys=True).encode())
    for label, table in [("video", video), *((f"audio_{k:g}", t) for k, t in audio.items())]:
        digest.update(label.encode())
        digest.update("\x1f".join(table.columns).encode())
        digest.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def _read_parquet(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(path, "file missing", expected="the table the manifest lists")
    try:
        return pq.read_table(path).to_pandas()
    except (pa.ArrowInvalid, OSError) as error:
        raise DataError(path, f"cannot read Parquet ({error})") from None


def _write_parquet(table: pd.DataFrame, path: Path) -> None:
    arrow = pa.Table.from_pandas(table, preserve_index=False)
    pq.write_table(arrow.replace_schema_metadata(None), path, compression="zstd")
