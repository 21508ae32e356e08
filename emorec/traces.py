"""Test predictions of one session per cell, for the leaderboard's trace figure.

``leaderboard/results/<dataset>.trace.parquet`` keeps, for every cell, the rating and prediction
of one representative test session: the one whose CCC (mean of valence and arousal, within the
session) is the median of that cell's test sessions. The figure can so be redrawn from the
repository alone, and shows neither the cell's best nor its worst session. Each row names the
rule its session was chosen by (files written before the rule existed kept the largest
session).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from emorec import metrics
from emorec.errors import DataError, EmorecError
from emorec.files import replace_file, writable_folder
from emorec.vocabulary import TARGETS

TRACE_COLUMNS = ["cell_key", "session", "timestamp", *TARGETS, *(f"{t}_pred" for t in TARGETS),
                 "rule"]
MEDIAN_RULE = "median per-session CCC of the cell"
OLD_RULE = "largest test session"


def trace_path(root: Path, dataset: str) -> Path:
    return Path(root) / f"{dataset}.trace.parquet"


def trace_session(predictions: pd.DataFrame) -> str:
    """The test session whose own CCC (mean over targets) is the median of the cell's sessions
    (the lower one of an even count; ties by name)."""
    scores = sorted((float(np.mean([metrics.ccc(part[t], part[f"{t}_pred"]) for t in TARGETS])),
                     str(session)) for session, part in predictions.groupby("session"))
    return scores[(len(scores) - 1) // 2][1]


def append(path: Path, cell_key: str, predictions: pd.DataFrame) -> None:
    """Store the trace session's predictions of one cell (replacing an older copy)."""
    session = trace_session(predictions)
    rows = predictions[predictions["session"] == session].assign(cell_key=cell_key,
                                                                 rule=MEDIAN_RULE)
    rows = rows[TRACE_COLUMNS].astype({c: "float32" for c in TRACE_COLUMNS[3:-1]})
    old = load(path)
    _write(path, pd.concat([old[old["cell_key"] != cell_key], rows], ignore_index=True))


def _write(path: Path, table: pd.DataFrame) -> None:
    replace_file(path, lambda partial: table.to_parquet(partial, index=False,
                                                        compression="zstd"))


def check_writable(path: Path) -> None:
    """EmorecError now, before any cell is fitted, if ``path`` cannot take traces later."""
    writable_folder(path.parent, "results folder")
    if path.exists() and not path.is_file():
        raise EmorecError(f"{path}: trace file is not a file")
    load(path)


def load(path: Path) -> pd.DataFrame:
    if not path.is_file():
        return pd.DataFrame(columns=TRACE_COLUMNS)
    try:
        table = pd.read_parquet(path)
    except (OSError, ValueError) as error:   # pyarrow's errors derive from these
        raise DataError(path, f"cannot read the trace file ({error})") from None
    if "rule" not in table.columns:
        table["rule"] = OLD_RULE
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
