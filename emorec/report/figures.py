"""Leaderboard figures (PNG, matplotlib), drawn from the result files and kept predictions alone:

- test CCC against window length, one panel per model family, one line per model (and pooling),
  mean ± std over seeds; the frame models as dashed references;
- truth against prediction over time on one test session, for the best-ranked model, its lines
  broken where frames are missing (no face);
- test CCC against a stand-in generator factor (a factor study), with 95% intervals.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from emorec.display import format_params  # noqa: E402
from emorec.store.facts import ModelFacts  # noqa: E402
from emorec.vocabulary import TARGETS  # noqa: E402

FAMILY_ORDER = ("video", "audio", "fusion", "seq")   # panels: these first, any other after
FRAME_REFERENCES = ("ffnn", "bayesian_ridge")
PNG_METADATA = {"Software": None}   # byte-stable files: no version stamp
GAP_STEPS = 1.5   # kept frames further apart than this many frame steps: the trace breaks


def line_label(row, facts: ModelFacts) -> str:
    """``model (pooling) changed=params``: one line per model and params other than the window
    (the x axis): the shown params other than the window in brackets, then the rest."""
    shown = {name: value for name, value in facts.shown(json.loads(row["params"])).items()
             if name != "window" and value is not None}
    label = " ".join([row["model"], *(f"({value})" for value in shown.values())])
    changed = format_params(row["variant"], omit=facts.columns)
    return f"{label} {changed}" if changed else label


def window_of(row) -> float:
    """The row's window in seconds (NaN for a model without one)."""
    window = json.loads(row["params"]).get("window")
    return float("nan") if window is None else float(window)


def window_panels(windowed: pd.DataFrame) -> tuple[list[str], list[str]]:
    """The families drawn against window length (those whose rows span two windows or more,
    :data:`FAMILY_ORDER` first) and those at one window only, which the figure names."""
    spans = windowed.groupby("family")["window"].nunique()
    drawn = sorted(spans[spans > 1].index,
                   key=lambda f: (FAMILY_ORDER.index(f) if f in FAMILY_ORDER else len(spans), f))
    return drawn, sorted(spans[spans == 1].index)


def ccc_by_window(rows: pd.DataFrame, facts: dict[str, ModelFacts], dataset: str,
                  stand_in: bool, path: Path) -> bool:
    """Draw the figure into ``path``; False (nothing drawn) if no model has windows."""
    rows = rows.assign(window=rows.apply(window_of, axis=1) if len(rows) else [])
    windowed = rows[rows["window"].notna() & (rows["tuned_by"] == "")]   # tuned rows sit at
    families, one_window = window_panels(windowed)                       # one window only
    if not families:
        return False
    references = (rows[rows["model"].isin(FRAME_REFERENCES)]
                  .groupby("model")["test_mean_ccc"].mean().sort_index())
    figure, axes = plt.subplots(1, len(families), figsize=(max(6.4, 4.2 * len(families)), 3.8),
                                sharey=True, squeeze=False)
    for axis, family in zip(axes[0], families, strict=True):
        subset = windowed[windowed["family"] == family]
        labels = subset.apply(lambda row: line_label(row, facts.get(row["model"], ModelFacts())),
                              axis=1)
        for label, group in subset.groupby(labels, sort=True):
            stats = group.groupby("window")["test_mean_ccc"].agg(["mean", "std"]).fillna(0.0)
            axis.errorbar(stats.index, stats["mean"], yerr=stats["std"], marker="o",
                          capsize=3, label=label)
        for (name, value), style in zip(references.items(), ("--", ":"), strict=False):
            axis.axhline(value, color="grey", linestyle=style, linewidth=1,
                         label=f"{name} (frame)")
        axis.set_title(family)
        axis.set_xlabel("window (s)")
        axis.set_xticks(sorted(subset["window"].unique()))
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    axes[0][0].set_ylabel("test CCC (mean of V and A)")
    figure.suptitle(f"{dataset}" + (" (STAND-IN data)" if stand_in else "")
                    + ": test CCC against window length\nmean over seeds, error bars ± 1 std "
                    "over seeds" + (f"; at one window only, not drawn: {', '.join(one_window)}"
                                    if one_window else ""), fontsize=10)
    _save(figure, path)
    return True


def ccc_by_factor(table: pd.DataFrame, factor: str, dataset: str, stand_in: bool,
                  path: Path) -> None:
    """Test CCC against a factor's value (numbers; or names, such as feature sets, placed in
    the table's order), one line per row, 95% interval bars."""
    numeric = pd.api.types.is_numeric_dtype(table["value"])
    names = list(dict.fromkeys(table["value"]))
    figure, axis = plt.subplots(figsize=(9.0, 4.4))
    for row, group in table.groupby("row", sort=False):
        group = group.sort_values("value") if numeric else group
        # a percentile interval need not hold the mean: clip, do not draw bars backwards
        below = (group["ccc"] - group["low"]).fillna(0.0).clip(lower=0.0)
        above = (group["high"] - group["ccc"]).fillna(0.0).clip(lower=0.0)
        axis.errorbar(group["value"] if numeric else group["value"].map(names.index),
                      group["ccc"], yerr=[below, above], marker="o", capsize=3, label=row)
    axis.set_xlabel(factor)
    axis.set_ylabel("test CCC (mean of V and A)")
    if numeric:
        axis.set_xticks(sorted(table["value"].unique()))
    else:
        axis.set_xticks(range(len(names)), names, fontsize=7)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    figure.suptitle(f"{dataset}{' (STAND-IN data)' if stand_in else ''}: test CCC against "
                    f"{factor.split(' (')[0]}\nmean over seeds, "
                    "bars: 95% bootstrap interval over test sessions and seeds", fontsize=10)
    _save(figure, path)


def trace(session: pd.DataFrame, title: str, stand_in: bool, path: Path,
          oracle: pd.DataFrame | None = None) -> None:
    """Rating vs prediction of one cell on one test session (``session``: its kept frames),
    with the noise-free rating (``oracle``'s predictions of the session) where given."""
    _save(trace_figure(session, title, stand_in, oracle), path)


def trace_figure(session: pd.DataFrame, title: str, stand_in: bool,
                 oracle: pd.DataFrame | None = None):
    """The trace's figure: every line broken where frames are missing (:func:`with_gaps`)."""
    name = session["session"].iloc[0]
    cell = with_gaps(session)
    oracle = with_gaps(oracle) if oracle is not None else cell.iloc[:0]
    figure, axes = plt.subplots(2, 1, figsize=(9, 5), sharex=True)
    for axis, target in zip(axes, TARGETS, strict=True):
        axis.plot(cell["timestamp"], cell[target], color="black", linewidth=1, label="rating")
        if not oracle.empty:
            axis.plot(oracle["timestamp"], oracle[f"{target}_pred"], color="grey",
                      linewidth=0.8, linestyle=":", label="noise-free rating")
        axis.plot(cell["timestamp"], cell[f"{target}_pred"], color="tab:red", linewidth=1,
                  label="prediction")
        axis.set_ylabel(target)
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="upper right")
    axes[1].set_xlabel(f"time (s), test session {name} "
                       "(its CCC is the median of the cell's test sessions)")
    figure.suptitle(title + (" (STAND-IN data)" if stand_in else ""), fontsize=10)
    return figure


def with_gaps(frames: pd.DataFrame) -> pd.DataFrame:
    """``frames`` in time order, with a row of missing values inside every gap: where the next
    kept frame is more than :data:`GAP_STEPS` frame steps (the median step) away, as across
    frames with no face, which are not scored. A line drawn through the rows breaks there
    instead of joining the frames on either side; a missing value of the frames' own breaks it
    too, and a frame without a timestamp is left out."""
    frames = frames[frames["timestamp"].notna()].sort_values("timestamp", kind="stable")
    times = frames["timestamp"].to_numpy(dtype=float)
    steps = np.diff(times)
    steps_taken = steps[steps > 0]
    if not len(steps_taken):
        return frames
    after = np.flatnonzero(steps > GAP_STEPS * np.median(steps_taken))
    if not len(after):
        return frames
    breaks = pd.DataFrame({"timestamp": (times[after] + times[after + 1]) / 2})
    return (pd.concat([frames, breaks], ignore_index=True)
            .sort_values("timestamp", kind="stable").reset_index(drop=True))


def _save(figure, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path, dpi=100, metadata=PNG_METADATA)
    plt.close(figure)
