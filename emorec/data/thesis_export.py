"""Export a dataset to the thesis / feature-extractor CSV layout (``video.csv``,
``audio_<L>s.csv``, ``split.csv``), labels multiplied back by the label scale, with an
``emorec.json`` sidecar (name, origin, fps, label scale, extractor training sessions, source)
that :func:`emorec.data.thesis_csv.import_thesis_csv` reads back, so export -> import gives back
the same dataset and a stand-in stays labelled a stand-in. The sidecar's reading and checks are
here too.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np

from emorec.data.csv_files import write_csv
from emorec.data.dataset import Dataset, format_seconds
from emorec.data.manifest import positive_number
from emorec.errors import DataError
from emorec.system.files import read_json, replace_folder
from emorec.vocabulary import ORIGINS, TARGETS

log = logging.getLogger(__name__)

SIDECAR = "emorec.json"
SIDECAR_FIELDS = ("name", "origin", "fps", "label_scale", "extractor_train", "source")


def export_thesis_csv(dataset: Dataset, out_dir: str | Path) -> list[Path]:
    """Write ``video.csv``, ``audio_<L>s.csv``, ``split.csv`` (if any) and ``emorec.json`` into
    ``out_dir``, whole or not at all. A non-empty folder is replaced only if an export made it
    (it holds ``emorec.json``): a user's own files are never overwritten."""
    out_dir = Path(out_dir)
    names = []

    def write(folder: Path) -> None:
        scale = dataset.manifest.label_scale
        video = dataset.video.copy()
        for column in TARGETS:
            video[column] = _unscale(video[column].to_numpy(), scale)
        names.append(write_csv(video, folder / "video.csv").name)
        for length, table in dataset.audio.items():
            names.append(write_csv(table, folder / f"audio_{format_seconds(length)}s.csv").name)
        if dataset.split_table is not None:
            names.append(write_csv(dataset.split_table, folder / "split.csv").name)
        manifest = dataset.manifest
        sidecar = {"name": manifest.name, "origin": manifest.origin, "fps": manifest.fps,
                   "label_scale": manifest.label_scale,
                   "extractor_train": list(manifest.extractor_train), "source": manifest.source}
        (folder / SIDECAR).write_text(json.dumps(sidecar, indent=2, sort_keys=True) + "\n")
        names.append(SIDECAR)

    replace_folder(out_dir, write, keep_if=SIDECAR)
    return [out_dir / name for name in names]


def _unscale(values: np.ndarray, scale: float) -> np.ndarray:
    """Labels times ``scale``, rounded where that divides back to the exact stored label
    (AFEW-VA's integers come back as integers, not 3.0000000000000004)."""
    if scale == 1.0:
        return values
    scaled = values * scale
    rounded = np.round(scaled, 9)
    exact = rounded / scale == values
    lossy = int((~exact & (scaled / scale != values)).sum())
    if lossy:
        log.warning("%d labels do not survive x%g then /%g exactly (off by one ulp)",
                    lossy, scale, scale)
    return np.where(exact, rounded, scaled)


def read_sidecar(path: Path) -> dict:
    """The export sidecar; its values are checked with the manifest they go into."""
    if not path.is_file():
        return {}
    sidecar = read_json(path, "an emorec export sidecar")
    if not isinstance(sidecar, dict):
        raise DataError(path, "not an emorec export sidecar", expected="a JSON object",
                        found=type(sidecar).__name__)
    unknown = sorted(set(sidecar) - set(SIDECAR_FIELDS))
    if unknown:
        raise DataError(path, "unknown fields", expected=", ".join(SIDECAR_FIELDS),
                        found=", ".join(unknown))
    if "origin" in sidecar and sidecar["origin"] not in ORIGINS:
        raise DataError(path, "bad origin", column="origin", expected=" or ".join(ORIGINS),
                        found=repr(sidecar["origin"]))
    for name in ("fps", "label_scale"):
        value = sidecar.get(name)
        if value is not None and not positive_number(value):
            raise DataError(path, f"bad {name}", column=name, expected="a finite number > 0",
                            found=repr(value))
    trained_on = sidecar.get("extractor_train", [])
    if not isinstance(trained_on, list) or not all(isinstance(s, str) for s in trained_on):
        raise DataError(path, "bad extractor_train", column="extractor_train",
                        expected="a list of session ids", found=repr(trained_on)[:80])
    return sidecar
