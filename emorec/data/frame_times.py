"""Frame times at import: from a timestamp column, the file names or (when asked) the row order,
checked against each other; float32 noise rounded to the frame grid; the frame rate per session.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from emorec.data.csv_files import file_paths
from emorec.data.validation import finite_numbers, preview
from emorec.errors import DataError

log = logging.getLogger(__name__)

# The extractor's file names: SEWA faces `<video>_<seconds, '.' as '_'>.png` (SEW1103_11_2.png is
# 11.2 s), AFEW-VA frames `<clip>/<frame number>.png`. Searched in the path, '/' separated.
NAME_RULES = {
    "seconds-in-name": re.compile(r"_(?P<seconds>\d+_\d+)\.[^./]+$"),
    "frame-in-name": re.compile(r"(?P<frame>\d+)\.[^./]+$"),
}
TIME_FROM = ("auto", "timestamp", *NAME_RULES, "row-order")
TIME_FROM_HELP = (f"one of {', '.join(TIME_FROM)}, or a regular expression with a group "
                  "(?P<seconds>...) or (?P<frame>...)")
# A session whose frames drift further than this many frame periods off the dataset's grid has
# a frame rate of its own.
DRIFT_LIMIT = 0.25


@dataclass(frozen=True)
class FrameTimes:
    seconds: np.ndarray
    fps: float
    origin: str          # where the times came from, for the manifest and the log


@dataclass(frozen=True, eq=False)
class _Candidate:
    """One source of frame times: seconds, frame numbers or positions in the session."""

    label: str                    # "the timestamp column", "the file name", "the row order"
    values: np.ndarray
    unit: str                     # "s", "frame" or "row"
    column: str | None            # the CSV column to name in an error
    shown: pd.Series | None = None  # the text quoted for a row (the file name as written)
    rule: str = ""                # the name rule that read the values

    def at(self, row: int, fps: float | None) -> str:
        value = self.values[row]
        quoted = f" {self.shown.iloc[row]!r}" if self.shown is not None else ""
        if self.unit == "s":
            return f"{value:g} s from {self.label}{quoted}"
        if self.unit == "frame":
            return f"frame {value:g} from {self.label}{quoted}"
        return f"{value / fps:g} s from {self.label} at {fps:g} fps"


def frame_times(raw: pd.DataFrame, sessions: np.ndarray, *, time_from: str, fps: float | None,
                source: str, first_row: int) -> FrameTimes:
    """Each row's frame time in seconds and the dataset's frame rate (``fps`` if given, else
    detected from the times), from the table's ``timestamp`` column or ``path`` names.

    ``time_from``: ``auto`` takes the timestamp column, else the first name rule that fits every
    file name; never the row order unless asked. Every other source present is checked against
    the one taken: the same order of frames and the same gaps, else a DataError naming the row
    and both values.
    """
    rule = parse_time_from(time_from)
    stamps = (_Candidate("the timestamp column", finite_numbers(raw, "timestamp", source,
                                                                first_row), "s", "timestamp")
              if "timestamp" in raw.columns else None)
    paths = file_paths(raw["path"]) if "path" in raw.columns else None
    names = _from_names(paths, raw.get("path"), sessions, rule, source, first_row)
    if rule == "timestamp" and stamps is None:
        raise DataError(source, "missing column", column="timestamp",
                        expected="a timestamp column (--time-from timestamp)")
    if rule == "row-order":
        primary = _Candidate("the row order", pd.Series(sessions).groupby(
            sessions).cumcount().to_numpy(float), "row", None)
    else:
        primary = stamps if rule in ("auto", "timestamp") and stamps is not None else names
    if primary is None:
        example = f"e.g. {raw['path'].iloc[0]!r}" if paths is not None else "no path column"
        raise DataError(source, "no frame times: no timestamp column, and the file names carry "
                        "no time", column="path" if paths is not None else None,
                        expected="a timestamp column, file names <video>_<s>_<frac>.png (SEWA) "
                                 "or <clip>/<frame>.png (AFEW-VA), a --time-from regular "
                                 "expression, or --time-from row-order with --fps",
                        found=example)
    if primary.unit != "s" and fps is None:
        raise DataError("--fps", f"frame times from {primary.label} ({primary.unit} numbers) "
                        "need the frame rate they count at", expected="--fps (AFEW-VA: 25)")
    for other in (stamps, names):
        if other is not None and other is not primary:
            _check_agreement(primary, other, sessions, fps, source, first_row)
    seconds = primary.values.astype(float) / (1.0 if primary.unit == "s" else fps)
    if fps is None:
        fps = detect_fps(sessions, seconds, source)
    origin = primary.label + (f" ({primary.rule})" if primary.rule else "")
    if primary.unit == "row":
        log.warning("%s: frame times from the row order at %g fps (--time-from row-order): a "
                    "frame without a face would close up its gap", source, fps)
    if primary is stamps:
        seconds, rounded, largest = round_float32_noise(seconds, fps)
        if rounded:
            log.info("%s: %d timestamps rounded to the %g fps grid (float32 noise, at most "
                     "%.2g s)", source, rounded, fps, largest)
    checked = [other.label for other in (stamps, names) if other not in (None, primary)]
    log.info("%s: frame times from %s%s", source, origin,
             f", checked against {' and '.join(checked)}" if checked else "")
    return FrameTimes(seconds, float(fps), origin)


def parse_time_from(text: str) -> str | re.Pattern:
    """A rule name, or a compiled regular expression with a ``seconds`` or ``frame`` group."""
    if text in TIME_FROM:
        return NAME_RULES.get(text, text)
    try:
        pattern = re.compile(text)
    except re.error as error:
        raise DataError("--time-from", f"not a rule name nor a valid regular expression "
                        f"({error})", expected=TIME_FROM_HELP, found=repr(text)) from None
    if len({"seconds", "frame"} & set(pattern.groupindex)) != 1:
        raise DataError("--time-from", "a regular expression needs exactly one group named "
                        "seconds or frame", expected=TIME_FROM_HELP, found=repr(text))
    return pattern


def _rule_name(rule: str | re.Pattern) -> str:
    if isinstance(rule, str):
        return rule
    named = [name for name, pattern in NAME_RULES.items() if pattern == rule]
    return named[0] if named else f"--time-from {rule.pattern!r}"


def _from_names(paths: pd.Series | None, written: pd.Series | None, sessions: np.ndarray,
                rule: str | re.Pattern, source: str, first_row: int) -> _Candidate | None:
    """Times from the file names by ``rule`` (every name must match), or for ``auto`` and the
    other rule names by the first name rule that gives every frame of a session its own time
    (None when none does)."""
    if paths is None:
        if isinstance(rule, re.Pattern):
            raise DataError(source, "missing column", column="path",
                            expected="file names to take the frame times from")
        return None
    for pattern in [rule] if isinstance(rule, re.Pattern) else NAME_RULES.values():
        group = "seconds" if "seconds" in pattern.groupindex else "frame"
        text = paths.str.extract(pattern, expand=True)[group]
        values = pd.to_numeric(text.str.replace("_", ".", regex=False), errors="coerce")
        unmatched = np.flatnonzero(values.isna().to_numpy())
        repeated = pd.DataFrame({"session": sessions, "value": values}).duplicated().any()
        if not unmatched.size and (isinstance(rule, re.Pattern) or not repeated):
            unit = "s" if group == "seconds" else "frame"
            return _Candidate("the file name", values.to_numpy(float), unit, "path", written,
                              _rule_name(pattern))
        if isinstance(rule, re.Pattern):
            raise DataError(source, f"the file name does not match --time-from "
                            f"{_rule_name(rule)}", column="path",
                            row=int(unmatched[0]) + first_row,
                            expected=f"a match of {pattern.pattern!r} with a number in its "
                                     f"{group} group",
                            found=repr(written.iloc[unmatched[0]]))
    return None


def _check_agreement(primary: _Candidate, other: _Candidate, sessions: np.ndarray,
                     fps: float | None, source: str, first_row: int) -> None:
    """The two sources order each session's frames the same way and see the same gaps."""
    table = pd.DataFrame({"session": sessions, "a": primary.values, "b": other.values})
    by_session = table.groupby("session", sort=False)
    misordered = (by_session["a"].rank(method="first") != by_session["b"].rank(method="first"))
    ordered = table.sort_values(["session", "a"], kind="stable")
    gaps_differ = pd.Series(_gaps(ordered, "a") != _gaps(ordered, "b"), index=ordered.index)
    bad = np.flatnonzero((misordered | gaps_differ.reindex(table.index)).to_numpy())
    if bad.size:
        row = int(bad[0])
        raise DataError(source, f"{primary.label} and {other.label} give different frame times "
                        "(a frame missing, or rows out of order?)",
                        column=primary.column or other.column, row=row + first_row,
                        expected="the same order and gaps from both",
                        found=f"{primary.at(row, fps)}, but {other.at(row, fps)}")


def _gaps(ordered: pd.DataFrame, column: str) -> np.ndarray:
    """Frame periods from each frame to the one before it in its session (0 for the first)."""
    steps = ordered.groupby("session", sort=False)[column].diff()
    return np.rint(steps / steps[steps > 0].median()).fillna(0).to_numpy()


def round_float32_noise(seconds: np.ndarray, fps: float) -> tuple[np.ndarray, int, float]:
    """Times that are a grid time passed through float32 (0.20000000298023224 for 0.2) put back
    on the grid; returns the times, how many were rounded and the largest change."""
    grid = np.round(seconds * fps) / fps
    noisy = (grid != seconds) & (grid.astype(np.float32) == seconds.astype(np.float32))
    largest = float(np.abs(seconds - grid)[noisy].max()) if noisy.any() else 0.0
    return np.where(noisy, grid, seconds), int(noisy.sum()), largest


def frame_rates(sessions, seconds, fps: float) -> pd.DataFrame:
    """Per session (sorted): ``frames``, the detected ``rate`` (frame periods per second, a gap
    counting as the frames it misses; NaN for one frame) and ``drift_s``, how far its frames
    stray from the ``fps`` grid started at its first frame; ``differs`` when that is more than
    a quarter of a frame period."""
    table = pd.DataFrame({"session": np.asarray(sessions), "t": np.asarray(seconds, float)})
    table = table.sort_values(["session", "t"], kind="stable")
    steps = table.groupby("session")["t"].diff()
    period = steps.where(steps > 0).groupby(table["session"]).transform("median")
    slots = np.rint(steps / period).fillna(0).groupby(table["session"]).cumsum()
    elapsed = table["t"] - table.groupby("session")["t"].transform("min")
    per_frame = pd.DataFrame({"session": table["session"], "slots": slots, "elapsed": elapsed,
                              "drift": (elapsed - slots / fps).abs()})
    rates = per_frame.groupby("session").agg(frames=("slots", "size"), slots=("slots", "max"),
                                             elapsed=("elapsed", "max"), drift_s=("drift", "max"))
    rates["rate"] = (rates["slots"] / rates["elapsed"]).where(rates["elapsed"] > 0)
    rates["differs"] = rates["drift_s"] > DRIFT_LIMIT / fps
    return rates[["frames", "rate", "drift_s", "differs"]]


def detect_fps(sessions, seconds, source: str) -> float:
    """The median of the sessions' detected rates, to 3 decimals."""
    rates = frame_rates(sessions, seconds, 1.0)["rate"].dropna()
    if rates.empty:
        raise DataError(source, "cannot detect the frame rate: no session has two frames",
                        expected="--fps")
    fps = round(float(rates.median()), 3)
    log.info("%s: frame rate detected from the times: %g fps (override with --fps)", source, fps)
    return fps


def sessions_off_rate(rates: pd.DataFrame, fps: float) -> str:
    """``SEW1103 4.995 fps (0.18 s off the grid), ...`` for the sessions whose rate differs."""
    off = rates[rates["differs"]]
    return preview([f"{session} {row.rate:.4g} fps ({row.drift_s:.2g} s off the {fps:g} fps "
                    "grid)" for session, row in off.iterrows()], 4)


def report_frame_rates(video: pd.DataFrame, fps: float, source: str, *,
                       strict: bool = False) -> pd.DataFrame:
    """Name the sessions whose frame rate differs from the dataset's: a warning, or with
    ``strict`` a DataError. Returns :func:`frame_rates`."""
    rates = frame_rates(video["session"], video["timestamp"], fps)
    count = int(rates["differs"].sum())
    if count:
        found = f"{count} of {len(rates)} sessions: {sessions_off_rate(rates, fps)}"
        if strict:
            raise DataError(source, "sessions with a frame rate of their own", column="timestamp",
                            expected=f"every session at the dataset's {fps:g} fps", found=found)
        log.warning("%s: %d of %d sessions have a frame rate other than the dataset's %g fps "
                    "(their frames drift off its grid; --strict makes this an error): %s",
                    source, count, len(rates), fps, sessions_off_rate(rates, fps))
    return rates
