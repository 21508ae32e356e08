"""Test predictions of one session per cell, for the leaderboard's trace figure.

``leaderboard/results/<dataset>.trace.parquet`` keeps, for every cell, the rating and prediction
of one test session (the same session for every cell of a dataset and split), so the figure can
be redrawn from the repository alone.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from emorec.errors import DataError
from emorec.vocabulary import TARGETS

TRACE_COLUMNS = ["cell_key", "session", "timestamp", *TARGETS, *(f"{t}_pred" for t in TARGETS)]


def trace_path(root: Path, dataset: str) -> Path:
    return Path(root) / f"{dataset}.trace.parquet"


def trace_session(predictions: pd.DataFrame) -> str:
    """The test session with the most frames (first by name on a tie): the same for every
    cell of a dataset and split."""
    counts = predictions["session"].value_counts()
    return str(min(counts.index[counts == counts.max()]))


def append(path: Path, cell_key: str, predictions: pd.DataFrame) -> None:
    """Store the trace session's predictions of one cell (replacing an older copy)."""
    session = trace_session(predictions)
    rows = predictions[predictions["session"] == session].assign(cell_key=cell_key)
    rows = rows[TRACE_COLUMNS].astype({c: "float32" for c in TRACE_COLUMNS[3:]})
    old = load(path)
    _write(path, pd.concat([old[old["cell_key"] != cell_key], rows], ignore_index=True))


def _write(path: Path, table: pd.DataFrame) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    table.to_parquet(partial, index=False, compression="zstd")
    partial.replace(path)   # atomic: a killed sweep never leaves half a file


def load(path: Path) -> pd.DataFrame:
    if not path.is_file():
        return pd.DataFrame(columns=TRACE_COLUMNS)
    table = pd.read_parquet(path)
    missing = [c for c in TRACE_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(path, "trace file lacks columns", column=missing[0],
                        expected=", ".join(TRACE_COLUMNS))
    return table


def merge(sources: list[Path], out: Path) -> None:
    """The traces of several folders' files into ``out``: each cell's from the first source
    that has it."""
    tables = pd.concat([load(path).assign(source=number) for number, path in enumerate(sources)],
                       ignore_index=True)
    if not tables.empty:
        first = tables.groupby("cell_key")["source"].transform("min")
        _write(out, tables[tables["source"] == first].drop(columns="source"))
