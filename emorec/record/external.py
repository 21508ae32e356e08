"""Predictions made elsewhere, scored as a row of their own (``emorec score``).

A predictions CSV has the columns ``session``, ``timestamp`` (seconds), ``valence`` and
``arousal`` (the predictions), and optionally ``partition`` (``dev`` or ``test``; test when
absent). It must predict every scored test frame of the dataset's current split exactly once
(and, if it gives dev rows, every dev frame): the frames every emorec model is scored on, kept
beside the results (:mod:`emorec.store.predictions`). The row is marked external, has no MLflow fit,
and gets the same intervals and ranks as every other row (without dev predictions it has no
dev score, so it is chosen for the headline only as its model's one variant).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd

from emorec.errors import DataError, EmorecError
from emorec.record import derived
from emorec.store import predictions
from emorec.vocabulary import SCORED_PARTITIONS, TARGETS

EXTERNAL = "external"   # the family of such rows; their model_source starts with it
COLUMNS = ("session", "timestamp", *TARGETS)
TIME_TOLERANCE = 1e-3   # seconds: a prediction's timestamp matches a frame's within this


def read(path: Path) -> pd.DataFrame:
    """The predictions file, checked: columns, numbers, partitions."""
    try:
        table = pd.read_csv(path, dtype={"session": str, "partition": str})
    except FileNotFoundError:
        raise EmorecError(f"{path}: no such predictions file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(path, f"cannot read predictions CSV ({error})") from None
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise DataError(path, "predictions file lacks a column", column=missing[0],
                        expected=", ".join(COLUMNS) + " (and optionally partition)")
    if "partition" not in table.columns:
        table["partition"] = "test"
    for column in ("timestamp", *TARGETS):
        values = pd.to_numeric(table[column], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(dtype=float))
        if bad.any():
            row = int(np.argmax(bad))
            raise DataError(path, "bad prediction", row=row + 2, column=column,
                            expected="a finite number", found=repr(str(table[column].iloc[row])))
        table[column] = values.astype(float)
    bad = ~table["partition"].isin(SCORED_PARTITIONS)
    if bad.any():
        row = int(np.argmax(bad.to_numpy()))
        raise DataError(path, "bad partition", row=row + 2, column="partition",
                        expected=" or ".join(SCORED_PARTITIONS),
                        found=repr(table["partition"].iloc[row]))
    return table


def align(path: Path, table: pd.DataFrame, frames: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The predictions of each partition given, in the order of the kept frames, with their
    ratings; DataError naming the first frame missing, doubled or unknown."""
    out = {}
    for partition in SCORED_PARTITIONS:
        given = table[table["partition"] == partition]
        if given.empty:
            if partition == "test":
                raise DataError(path, "no test predictions", column="partition",
                                expected="a row for every test frame")
            continue
        wanted = frames[frames["partition"] == partition].reset_index(drop=True)
        key = _frame_keys(given)
        doubled = key.duplicated()
        if doubled.any():
            row = int(np.argmax(doubled.to_numpy()))
            raise DataError(path, f"a {partition} frame is predicted twice", row=int(
                given.index[row]) + 2, expected="one row per frame",
                found=f"session {given['session'].iloc[row]} at "
                      f"{given['timestamp'].iloc[row]:g} s again")
        wanted_key = _frame_keys(wanted)
        unknown = ~key.isin(set(wanted_key))
        if unknown.any():
            row = int(np.argmax(unknown.to_numpy()))
            raise DataError(path, f"not a scored {partition} frame of this dataset", row=int(
                given.index[row]) + 2, expected=f"a session and timestamp of its {partition} "
                "frames", found=f"session {given['session'].iloc[row]} at "
                                f"{given['timestamp'].iloc[row]:g} s")
        position = pd.Series(range(len(given)), index=key.to_numpy())
        missing = ~wanted_key.isin(set(key))
        if missing.any():
            first = wanted.iloc[int(np.argmax(missing.to_numpy()))]
            count = int(missing.sum())
            raise DataError(path, f"{count} {partition} frame{'s' if count > 1 else ''} "
                            f"{'have' if count > 1 else 'has'} no prediction",
                            expected=f"all {len(wanted)}",
                            found=f"none for session {first['session']} at "
                                  f"{first['timestamp']:g} s (the first)")
        order = position.loc[wanted_key.to_numpy()].to_numpy()
        out[partition] = wanted[["session", "timestamp", *TARGETS]].assign(
            **{f"{t}_pred": given[t].to_numpy()[order] for t in TARGETS})
    return out


def _frame_keys(table: pd.DataFrame) -> pd.Series:
    """``session@timestamp`` of each row, the timestamp in steps of :data:`TIME_TOLERANCE`."""
    return (table["session"].astype(str) + "@"
            + (table["timestamp"] / TIME_TOLERANCE).round().astype(np.int64).astype(str))


def external_row(path: Path, results_dir: Path, dataset: str, name: str, offline: bool,
                 context) -> derived.DerivedRow:
    """The row of the predictions in ``path`` for the dataset's current data and split."""
    frames = predictions.load_frames(results_dir, dataset, context.fingerprint,
                                     context.split_hash)
    if frames is None:
        raise EmorecError(f"{predictions.folder(results_dir, dataset)}: no scored frames kept "
                          f"for {dataset}'s current data and split (run emorec bench first)")
    by_partition = align(path, read(path), frames)
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    key = hashlib.sha256(f"{EXTERNAL}\n{name}\n{digest}\n{context.fingerprint}\n"
                         f"{context.split_hash}\n{offline}".encode()).hexdigest()[:16]
    return derived.DerivedRow(
        model=name, family=EXTERNAL, modality=EXTERNAL,
        source=f"{EXTERNAL}: {Path(path).name} sha256:{digest[:12]}", params={}, seed=None,
        cell_key=key, code_fingerprint="", by_partition=by_partition, offline=offline)
