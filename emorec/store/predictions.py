"""Every cell's dev and test predictions, kept beside its results row.

``<results>/predictions/<dataset>/`` holds:

- ``frames-<id>.parquet``: the scored frames of one dataset and split (partition, session,
  timestamp and the ratings), written once: every model is scored on the same frames
  (:mod:`emorec.data.views`), so they are stored once, not per cell;
- ``<cell_key>.parquet``: the cell's predictions of those frames, in their order, at a
  resolution of :data:`STEP` (kept as whole multiples of it, delta-encoded: about 2 bytes a
  frame for both targets).

A row's metrics come from its exact sums (:mod:`emorec.store.results`); the kept predictions serve
what is built on them: late fusion (``emorec fuse``), the trace figure and any new analysis,
from the repository alone. A file is written whole under a temporary name and renamed, before
its results row, so a row never lacks its predictions.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from emorec.errors import DataError, EmorecError
from emorec.system.files import replace_file, writable_folder
from emorec.vocabulary import SCORED_PARTITIONS, TARGETS

FOLDER = "predictions"
STEP = 1e-3   # resolution of a kept prediction: far below rater noise (about 0.07 on SEWA)
FRAME_COLUMNS = ["partition", "session", "timestamp", *TARGETS]
PREDICTED = [f"{target}_pred" for target in TARGETS]


def folder(results_dir: Path, dataset: str) -> Path:
    return Path(results_dir) / FOLDER / dataset


def frames_id(fingerprint: str, split_hash: str) -> str:
    """The name part of the frames file of one dataset fingerprint and split."""
    return hashlib.sha256(f"{fingerprint}\n{split_hash}".encode()).hexdigest()[:12]


def frames_path(results_dir: Path, dataset: str, fingerprint: str, split_hash: str) -> Path:
    return folder(results_dir, dataset) / f"frames-{frames_id(fingerprint, split_hash)}.parquet"


def cell_path(results_dir: Path, dataset: str, cell_key: str) -> Path:
    return folder(results_dir, dataset) / f"{cell_key}.parquet"


def check_writable(results_dir: Path, dataset: str) -> None:
    """EmorecError now, before any cell is fitted, if predictions cannot be kept later."""
    path = folder(results_dir, dataset)
    if path.exists() and not path.is_dir():
        raise EmorecError(f"{path}: predictions folder is a file")
    existing = next((p for p in [path, *path.parents] if p.exists()), Path("."))
    writable_folder(existing, "predictions folder")


def write(results_dir: Path, dataset: str, fingerprint: str, split_hash: str, cell_key: str,
          by_partition: dict[str, pd.DataFrame]) -> None:
    """Keep one cell's predictions (``by_partition``: dev and test frames with labels and
    predictions, as :class:`emorec.evaluation.CellResult` has them; an external row may lack
    dev)."""
    kept = [p for p in SCORED_PARTITIONS if p in by_partition]
    table = pd.concat([by_partition[p].assign(partition=p) for p in kept], ignore_index=True)
    folder(results_dir, dataset).mkdir(parents=True, exist_ok=True)
    frames = frames_path(results_dir, dataset, fingerprint, split_hash)
    if frames.is_file():
        _check_same_frames(frames, table)
    elif kept == list(SCORED_PARTITIONS):
        replace_file(frames, lambda partial: table[FRAME_COLUMNS].to_parquet(
            partial, index=False, compression="zstd"))
    else:
        raise EmorecError(f"{frames}: no scored frames kept for this dataset and split yet "
                          "(run emorec bench first)")
    quantised = pa.table({name: np.round(table[name].to_numpy() / STEP).astype(np.int64)
                          for name in PREDICTED})
    quantised = quantised.replace_schema_metadata({
        "frames": frames.name, "step": repr(STEP), "cell_key": cell_key,
        "partitions": ",".join(kept)})
    replace_file(cell_path(results_dir, dataset, cell_key), lambda partial: pq.write_table(
        quantised, partial, compression="zstd", use_dictionary=False,
        column_encoding="DELTA_BINARY_PACKED"))


def load(results_dir: Path, dataset: str, cell_key: str) -> pd.DataFrame | None:
    """One cell's dev and test frames with ratings and predictions, or None if not kept."""
    path = cell_path(results_dir, dataset, cell_key)
    if not path.is_file():
        return None
    try:
        table = pq.read_table(path)
        meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
        frames = read_frames(path.parent / meta["frames"])
        frames = frames[frames["partition"].isin(meta["partitions"].split(","))]
    except (OSError, ValueError, KeyError) as error:
        raise DataError(path, f"cannot read kept predictions ({error})") from None
    if table.num_rows != len(frames):
        raise DataError(path, "kept predictions do not match their frames file",
                        expected=f"{len(frames)} rows", found=f"{table.num_rows}")
    step = float(meta["step"])
    return frames.reset_index(drop=True).assign(
        **{name: table[name].to_numpy() * step for name in PREDICTED})


def read_frames(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise DataError(path, "frames file of kept predictions is missing")
    table = pd.read_parquet(path)
    missing = [c for c in FRAME_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(path, "frames file lacks columns", column=missing[0],
                        expected=", ".join(FRAME_COLUMNS))
    return table


def load_frames(results_dir: Path, dataset: str, fingerprint: str, split_hash: str
                ) -> pd.DataFrame | None:
    """The scored frames of a dataset and split, or None if no cell kept predictions."""
    path = frames_path(results_dir, dataset, fingerprint, split_hash)
    return read_frames(path) if path.is_file() else None


def merge(sources: list[Path], out: Path, dataset: str) -> None:
    """Copy the kept predictions of ``sources`` that ``out`` lacks into ``out``."""
    target = folder(out, dataset)
    for source in sources:
        for path in sorted(folder(source, dataset).glob("*.parquet")):
            if not (target / path.name).exists():
                target.mkdir(parents=True, exist_ok=True)
                replace_file(target / path.name,
                             lambda partial, path=path: shutil.copyfile(path, partial))


def _check_same_frames(path: Path, table: pd.DataFrame) -> None:
    kept = read_frames(path)
    kept = kept[kept["partition"].isin(set(table["partition"]))]
    same = (len(kept) == len(table)
            and (kept["session"].astype(str).to_numpy() == table["session"].astype(str)
                 .to_numpy()).all()
            and np.allclose(kept["timestamp"].to_numpy(), table["timestamp"].to_numpy(),
                            rtol=0, atol=1e-6))
    if not same:
        raise EmorecError(f"{path}: this cell was scored on other frames than the cells "
                          "before it (a bug: every model is scored on the same frames)")
