"""Splits by session (never by frame: neighbouring frames leak), with a stable hash, and the
guard against testing on sessions the feature extractor was trained on."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from emorec.data.validation import preview
from emorec.errors import DataError
from emorec.vocabulary import PARTITIONS

log = logging.getLogger(__name__)

DEFAULT_RATIOS = (0.70, 0.15, 0.15)
DEFAULT_SPLIT_SEED = 0


@dataclass(frozen=True)
class Split:
    """A table ``session, partition`` sorted by session; ``origin`` says where it came from."""

    table: pd.DataFrame
    origin: str

    def sessions(self, partition: str) -> np.ndarray:
        if partition not in PARTITIONS:
            raise ValueError(f"unknown partition {partition!r}; expected one of {PARTITIONS}")
        return self.table.loc[self.table["partition"] == partition, "session"].to_numpy()

    @property
    def hash(self) -> str:
        return split_hash(self.table)

    def sizes(self) -> dict[str, int]:
        return {p: int((self.table["partition"] == p).sum()) for p in PARTITIONS}


def split_hash(table: pd.DataFrame) -> str:
    """sha256 of the canonical ``session,partition`` lines, sorted by session (first 16 hex)."""
    ordered = table.sort_values("session", kind="stable")
    text = "".join(f"{s},{p}\n" for s, p in zip(ordered["session"], ordered["partition"],
                                                 strict=True))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def make_split(sessions, seed: int = DEFAULT_SPLIT_SEED,
               ratios: tuple[float, float, float] = DEFAULT_RATIOS) -> Split:
    """Deterministic session split: sessions sorted, shuffled with ``seed``, cut by ``ratios``.

    Each partition gets at least one session, so at least three sessions are needed.
    """
    names = np.sort(np.asarray(sessions, dtype=str))
    if len(np.unique(names)) != len(names):
        raise ValueError("session ids must be unique")
    if len(names) < len(PARTITIONS):
        raise DataError("<split>", f"cannot split {len(names)} sessions into train/dev/test",
                        expected="at least 3 sessions")
    if len(ratios) != 3 or min(ratios) <= 0 or abs(sum(ratios) - 1) > 1e-9:
        raise ValueError(f"ratios must be three positive fractions summing to 1, got {ratios}")
    order = np.random.default_rng(seed).permutation(len(names))
    n_dev = max(1, round(ratios[1] * len(names)))
    n_test = max(1, round(ratios[2] * len(names)))
    n_train = len(names) - n_dev - n_test
    partition = np.array(["train"] * n_train + ["dev"] * n_dev + ["test"] * n_test)
    table = pd.DataFrame({"session": names[order], "partition": partition})
    table = table.sort_values("session", kind="stable").reset_index(drop=True)
    return Split(table, origin=f"seed {seed}, {'/'.join(f'{r:.0%}' for r in ratios)}")


def default_split(sessions) -> Split:
    return make_split(sessions, DEFAULT_SPLIT_SEED)


def read_split_file(path: str | Path) -> pd.DataFrame:
    """Read a ``session,partition`` CSV (validated against a dataset by the caller)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "split file not found")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(path, f"cannot read split CSV ({error})") from None


def read_extractor_train(path: str | Path) -> list[str]:
    """The sessions (videos) the feature extractor was trained on: a CSV with a ``session``
    column, one id per row, as the dataset names its sessions. Sorted, each once."""
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "extractor training list not found")
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(path, f"cannot read CSV ({error})") from None
    if "session" not in table.columns:
        raise DataError(path, "missing column", column="session",
                        expected="a 'session' column listing the sessions (videos) the feature "
                                 "extractor was trained on",
                        found=f"columns {preview(list(map(str, table.columns)))}")
    sessions = table["session"].str.strip()
    empty = np.flatnonzero((sessions == "").to_numpy())
    if empty.size:
        raise DataError(path, "empty session id", column="session", row=int(empty[0]) + 2,
                        expected="a session id")
    return sorted(set(sessions))


def extractor_sessions(path: str | Path, sessions) -> tuple[str, ...]:
    """The listed sessions that are in the dataset; the others are named in a warning."""
    listed = read_extractor_train(path)
    known = set(sessions)
    inside = tuple(s for s in listed if s in known)
    if not inside:
        raise DataError(path, "none of its sessions is in the dataset", column="session",
                        expected=f"session ids as the dataset names them, e.g. "
                                 f"{sorted(known)[0]!r}", found=preview(listed))
    outside = [s for s in listed if s not in known]
    if outside:
        log.warning("%s: %d of %d listed sessions are not in this dataset (another dataset's?): "
                    "%s", path, len(outside), len(listed), preview(outside))
    log.info("%s: the feature extractor was trained on %d of the dataset's %d sessions",
             path, len(inside), len(known))
    return inside


def extractor_overlap(split: Split, extractor_train) -> list[str]:
    """The split's test sessions that the feature extractor was trained on."""
    return sorted(set(split.sessions("test")) & set(extractor_train))


GUARD_STATES = ("", "given", "not given", "overlap allowed")   # "": a stand-in


def guard_state(origin: str, split: Split, extractor_train, allow: bool) -> str:
    """What a result row says about the extractor-leakage guard (see GUARD_STATES)."""
    if origin != "real":
        return ""
    if not extractor_train:
        return "not given"
    return "overlap allowed" if allow and extractor_overlap(split, extractor_train) else "given"


def check_extractor_overlap(split: Split, extractor_train, source: str, *,
                            allow: bool = False) -> None:
    """Refuse a split whose test partition holds sessions the feature extractor was trained on:
    their embeddings were fitted to those very videos, so their test scores are inflated. With
    ``allow`` it is a warning. Nothing to check when the training list was not given."""
    overlap = extractor_overlap(split, extractor_train)
    if not overlap:
        return
    found = (f"{len(overlap)} of {len(split.sessions('test'))} test sessions ({preview(overlap)}) "
             f"in split {split.hash} ({split.origin})")
    if allow:
        log.warning("%s: --allow-extractor-overlap: the feature extractor was trained on %s; "
                    "their scores are inflated", source, found)
        return
    raise DataError(source, "the test partition holds sessions the feature extractor was "
                    "trained on (their test scores would be inflated)", column="session",
                    expected="test sessions outside its training list (write such a split with "
                             "`emorec data split DATASET --file SPLIT.csv`), or "
                             "--allow-extractor-overlap", found=found)
