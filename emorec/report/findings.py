"""What a SEWA stand-in board reproduces of the thesis's findings, and what it reverses.

Each finding is a statement about test RMSE (mean of valence and arousal, the measure the
thesis's tables report), evaluated on the thesis's own numbers and on the board's untuned rows
(mean over seeds) the same way: the best variant of a model is its lowest test RMSE on both
sides, as the thesis picked it, so like is compared with like. A finding that holds on one side
and not the other is reversed. Nothing here is a target the stand-in was set to meet.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pandas as pd
from tabulate import tabulate

from emorec.report.thesis import thesis_numbers

FUSION = ("fusion1", "fusion2", "fusion3", "fusion4_v1", "fusion4_v2", "fusion4_v3")
CLOSE = 0.10   # "about equal": within 10% of each other's RMSE


def _best(table: pd.DataFrame, models) -> float:
    return float(table.loc[table["model"].isin(models), "rmse"].min())


def _best_windows(table: pd.DataFrame, model: str) -> set[float]:
    rows = table[table["model"] == model]
    return set(rows.loc[rows["rmse"].round(4) == round(rows["rmse"].min(), 4), "window"])


FINDINGS: list[tuple[str, Callable[[pd.DataFrame], object]]] = [
    ("the decision tree is the worst classic model",
     lambda t: _best(t, ["decision_tree"]) > max(_best(t, ["svr"]), _best(t, ["bayesian_ridge"]))),
    (f"SVR and BayesianRidge are within {CLOSE:.0%} of each other",
     lambda t: abs(_best(t, ["svr"]) / _best(t, ["bayesian_ridge"]) - 1) <= CLOSE),
    ("the best window GRU beats the frame BayesianRidge",
     lambda t: _best(t, ["gru"]) < _best(t, ["bayesian_ridge"])),
    ("the best video GRU beats the best fusion model",
     lambda t: _best(t, ["gru"]) < _best(t, FUSION)),
    ("the GRU's best window (s)", lambda t: _best_windows(t, "gru")),
    ("the audio FFNN is the worst learned model",
     lambda t: t.groupby("model")["rmse"].min().idxmax() == "audio_ffnn"),
]


def thesis_table() -> pd.DataFrame:
    """The thesis's SEWA test rows as (model, window, rmse); its GRU rows under ``gru``."""
    rows = thesis_numbers()
    rows = rows[(rows["dataset"] == "sewa") & (rows["split"] == "test")]
    return pd.DataFrame({
        "model": rows["model"].str.replace(r"^gru_.*", "gru", regex=True),
        "window": rows["window_s"],
        "rmse": (rows["rmse_valence"] + rows["rmse_arousal"]) / 2})


def board_table(entries: pd.DataFrame) -> pd.DataFrame:
    """A board's untuned entries as (model, window, rmse); the GRU on its default target."""
    params = entries["params"].map(json.loads)
    keep = ~params.map(lambda p: p.get("target", "frame") != "frame")
    return pd.DataFrame({"model": entries["model"], "window": params.map(lambda p: p.get(
        "window")), "rmse": entries["test_mean_rmse_mean"]})[keep]


def _text(value) -> str:
    if isinstance(value, set):
        return ", ".join(f"{w:g}" for w in sorted(value))
    return "yes" if value else "no"


def findings_section(board, dataset: str) -> list[str]:
    """The table of findings, for a SEWA stand-in board that has every model they name."""
    needed = {"decision_tree", "svr", "bayesian_ridge", "gru", "audio_ffnn", *FUSION}
    if not dataset.startswith("sewa-synth") or not needed <= set(board.default["model"]):
        return []
    here = board_table(board.default)
    thesis = thesis_table()
    body = []
    for finding, rule in FINDINGS:
        theirs, ours = rule(thesis), rule(here)
        same = bool(ours & theirs) if isinstance(ours, set) else ours == theirs
        body.append([finding, _text(theirs), _text(ours),
                     "reproduced" if same else "reversed"])
    return ["## What this stand-in reproduces of the thesis", "",
            "Each finding evaluated the same way on the thesis's SEWA tables and on this "
            "board's untuned rows: test RMSE, mean of valence and arousal, each model's best "
            "variant by test RMSE on both sides (as the thesis picked it). The stand-in's "
            "generator factors, their values and where each comes from: docs/stand-ins.md.", "",
            tabulate(body, headers=["finding", "thesis", "here", ""], tablefmt="github"), ""]
