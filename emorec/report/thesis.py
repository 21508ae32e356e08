"""The thesis's reported tables (``thesis_results.csv``: every MAE/RMSE/MSE table of the thesis
as data), loaded once, and the section of a leaderboard that quotes them for orientation."""

from __future__ import annotations

import functools
from importlib import resources

import pandas as pd
from tabulate import tabulate

from emorec.data.frame_rate import RATE_SUFFIX

FAILED_MAE = 0.5   # a thesis row with MAE above this predicted outside the label range


@functools.cache
def thesis_results() -> pd.DataFrame:
    """Every row of the thesis's tables, as printed (text; empty where not given)."""
    source = resources.files("emorec.report") / "thesis_results.csv"
    with source.open() as handle:
        return pd.read_csv(handle, dtype=str, keep_default_na=False)


NUMBER_COLUMNS = ("window_s", "window_frames", "mae_valence", "rmse_valence", "mae_arousal",
                  "rmse_arousal", "mse_valence", "mse_arousal")


@functools.cache
def thesis_numbers() -> pd.DataFrame:
    """:func:`thesis_results` with its number columns as numbers (NaN where not given)."""
    table = thesis_results().copy()
    for column in NUMBER_COLUMNS:
        table[column] = pd.to_numeric(table[column].replace("", None))
    return table


def thesis_section(dataset: str, names: dict[str, str]) -> list[str]:
    """The thesis's test rows for the real dataset a stand-in or real dataset is named after,
    with its model names given as emorec's (``names``: thesis name -> emorec name)."""
    name = RATE_SUFFIX.sub("", dataset).split("-synth")[0]   # afew-va-synth-small-5fps -> afew-va
    thesis = thesis_results()
    thesis = thesis[(thesis["dataset"] == name) & (thesis["split"] == "test")]
    if thesis.empty:
        return []
    body = []
    for _, r in thesis.iterrows():
        maes = [float(r[c]) for c in ("mae_valence", "mae_arousal") if r[c]]
        failed = any(mae > FAILED_MAE for mae in maes)
        body.append([r["table"], names.get(r["model"], r["model"]),
                     f"{r['window_s']} s" if r["window_s"] else "", r["pooling"],
                     *(as_printed(r[c]) for c in ("mae_valence", "rmse_valence",
                                                  "mae_arousal", "rmse_arousal")),
                     "failed run: MAE near 1, outside the label range" if failed else ""])
    return [f"## Reported in the thesis (real {name.upper()}, for orientation)", "",
            "Numbers as printed in the thesis's tables (digits as printed, a leading 0 added), "
            "on the real dataset with the thesis's own split; not rerun here and not "
            "comparable run for run. Model names are emorec's. The thesis's Conv1D GRU rows "
            "with MAE near 1 are runs that failed (their outputs left the [-1, 1] label "
            "range); emorec's Conv1D pooling ends in tanh like every net.", "",
            tabulate(body, headers=["table", "model", "window", "pooling", "MAE V", "RMSE V",
                                    "MAE A", "RMSE A", "note"], tablefmt="github",
                     disable_numparse=True), ""]


def as_printed(text: str) -> str:
    """A thesis number with the digits it was printed with: ``.10`` -> ``0.10``."""
    return f"0{text}" if text.startswith(".") else text
