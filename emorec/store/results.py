"""Results files: one row per dataset x model x params x seed (a cell; a seed-free model has
one cell per dataset and params, its row's ``seed`` empty), in
``leaderboard/results/<dataset>.csv``.

Rows are appended one at a time as cells finish, so an interrupted sweep loses nothing it
completed; every write is whole or nothing. Every file is validated on load against the
versioned schema (:mod:`emorec.store.schema`), read as the current schema whatever version
wrote it (:mod:`emorec.store.upgrade`) and given its metric columns from its sums
(:mod:`emorec.store.session_sums`); leaderboards are rendered from these files alone.
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from emorec.errors import DataError, EmorecError
from emorec.store import facts, predictions
from emorec.store.schema import COLUMNS, METRIC_COLUMNS, STATS_COLUMNS, TEXT_COLUMNS, validate
from emorec.store.session_sums import with_metrics
from emorec.store.upgrade import upgrade
from emorec.system.files import replace_file, writable_folder

RESULTS_DIR = Path("leaderboard") / "results"


def results_path(root: Path, dataset: str) -> Path:
    return Path(root) / f"{dataset}.csv"


def append(path: Path, record: dict) -> None:
    """Validate one record and add it as one complete CSV row: the file is written anew beside
    itself and renamed over the old one, so a kill leaves the old file or the new one, never
    half a row. (A file of a few thousand rows takes milliseconds; cells take seconds.)"""
    record = {k: v for k, v in record.items() if k not in METRIC_COLUMNS}   # derived, not kept
    frame = validate(pd.DataFrame([record]), str(path), first_row=None)
    old = load(path)[COLUMNS]
    write(path, pd.concat([old, frame], ignore_index=True) if len(old) else frame)


def check_writable(path: Path) -> None:
    """EmorecError now, before any cell is fitted, if ``path`` cannot take rows later (whether
    it reads as results is :func:`load`'s to say, which the runner calls next)."""
    writable_folder(path.parent, "results folder")
    if path.exists() and (not path.is_file() or not os.access(path, os.R_OK | os.W_OK)):
        raise EmorecError(f"{path}: results file is not a readable and writable file")


def write(path: Path, frame: pd.DataFrame) -> None:
    """Write validated records as a whole results file (atomically)."""
    frame = validate(frame.reset_index(drop=True)[[c for c in frame.columns
                                                    if c not in METRIC_COLUMNS]],
                     str(path), first_row=None)

    def write_rows(partial: Path) -> None:
        with partial.open("w", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(COLUMNS)
            for _, record in frame.iterrows():
                writer.writerow([_cell(record[column]) for column in COLUMNS])

    replace_file(path, write_rows)


def merge(sources: list[Path], out: Path) -> dict[str, tuple[int, int]]:
    """Merge the results files (and kept predictions) of several folders, e.g. the shards of a
    sweep run on several machines, into ``out``: one row per cell key (the first one seen;
    ``out``'s own files count as the first source), and the model facts beside them likewise.
    Returns dataset -> (rows read, rows kept)."""
    out = Path(out)
    folders = [out, *(Path(s) for s in sources if Path(s).resolve() != out.resolve())]
    names = sorted({p.stem for folder in folders for p in Path(folder).glob("*.csv")})
    summary = {}
    for name in (facts.MODELS_FILE, facts.DATASETS_FILE):
        kept = {}
        for folder in reversed(folders):   # the first folder's facts win, as its rows do
            kept.update(facts.read_raw(folder, name))
        if kept:
            facts.write(out, kept, name)
    for name in names:
        frames = [load(results_path(folder, name)).assign(_source=str(results_path(folder, name)))
                  for folder in folders]
        frames = [f for f in frames if not f.empty]
        if not frames:
            continue
        table = pd.concat(frames, ignore_index=True)
        _check_no_conflict(table)
        kept = table.drop_duplicates("cell_key", keep="first").drop(columns="_source")
        write(results_path(out, name), kept)
        predictions.merge(folders[1:], out, name)
        summary[name] = (len(table), len(kept))
    return summary


def _check_no_conflict(table: pd.DataFrame) -> None:
    """One cell's rows from several files must agree in what its metrics derive from: rows
    that differ would make the merge keep whichever file came first."""
    kept = [*STATS_COLUMNS, "recorded_metrics"]
    twice = table[table.duplicated("cell_key", keep=False)]
    for key, rows in twice.groupby("cell_key", sort=False):
        if len(rows[kept].drop_duplicates()) > 1:
            first = rows.iloc[0]
            other = rows[(rows[kept] != first[kept]).any(axis=1)].iloc[0]
            raise EmorecError(
                f"merge-results: cell {key} ({first['model']} {first['params']}, seed "
                f"{first['seed']}) has different results in {first['_source']} and "
                f"{other['_source']}: keep the one you trust and remove the other's row")


def load(path: Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        return with_metrics(pd.DataFrame(columns=COLUMNS))
    if not path.is_file():
        raise DataError(path, "not a results file", expected="a CSV file", found="a folder")
    _check_last_row(path)
    try:
        frame = pd.read_csv(path, dtype={c: str for c in TEXT_COLUMNS},
                            keep_default_na=False,
                            na_values={c: [""] for c in [*METRIC_COLUMNS, "seed"]})
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise DataError(path, f"cannot read results CSV ({error})") from None
    return with_metrics(validate(upgrade(frame), str(path), first_row=2))


def _check_last_row(path: Path) -> None:
    """A file whose last line lacks its newline was either cut while being written (by an
    older emorec or another tool) or saved by an editor that strips the final newline. The
    last row is kept if it is complete: every column, and a whole MLflow run id (32 hex
    digits) or none as its last field; a cut row is refused, naming the line."""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) == b"\n":
            return
    text = path.read_text(encoding="utf-8", errors="replace")
    records = list(csv.reader(io.StringIO(text)))
    if (len(records) > 1 and len(records[-1]) == len(records[0])
            and re.fullmatch(r"|[0-9a-f]{32}", records[-1][-1])):
        return
    raise DataError(path, "the last row is incomplete (no line end and fields missing: the "
                    "file was cut while being written)", row=text.count("\n") + 1,
                    expected="complete rows",
                    found="a cut row; delete that line (its cell runs again on the next bench)")


def load_all(root: Path) -> pd.DataFrame:
    frames = [load(path) for path in sorted(Path(root).glob("*.csv"))]
    return (pd.concat(frames, ignore_index=True) if frames
            else with_metrics(pd.DataFrame(columns=COLUMNS)))


def _cell(value) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)
