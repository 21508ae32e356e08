"""The leaderboard's tables, built from declared columns.

Every column of an entry's row is a :class:`Column`: a text column computes its cell from the
entry; a metric column shows mean ± std over seeds of one results column; an interval column
shows the mean with its 95% bootstrap interval. Best per metric column is bold, following the
metric's direction. Adding a column is one entry in :data:`ENTRY_COLUMNS`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from tabulate import tabulate

from emorec import uncertainty
from emorec.cells import SEED_FREE
from emorec.metrics import higher_is_better
from emorec.report.board import Board
from emorec.report.display import (
    FLOOR_NAMES,
    describe_variant,
    format_number,
    format_params,
    format_shown,
)
from emorec.report.prose import BEST_OF_EACH_INTRO, TUNED_INTRO

# Shown params with a column of their own in every table (a model's facts say which it shows).
SHOWN_PARAM_COLUMNS = ("window", "pooling")
INTERVALS = {"test_mean_ccc": "ccc", "test_mean_rmse": "rmse"}   # column -> Draws attribute


@dataclass(frozen=True)
class Column:
    header: str
    kind: str                 # "text", "metric" (mean ± std) or "interval" (mean [95% CI])
    metric: str = ""          # the results column of a metric or interval column
    text: Callable[[pd.Series, Board], str] | None = None   # a text column's cell


def _shown(name: str) -> Callable[[pd.Series, Board], str]:
    def cell(entry, board: Board) -> str:
        params = json.loads(entry["params"])
        return format_shown(name, board.model_facts(entry["model"]).shown(params).get(name))
    return cell


def _other_params(entry, board: Board) -> str:
    return format_params(entry["variant"], omit=board.model_facts(entry["model"]).columns)


ENTRY_COLUMNS = [
    Column("model", "text", text=lambda entry, board: model_cell(entry, board)),
    *(Column(name, "text", text=_shown(name)) for name in SHOWN_PARAM_COLUMNS),
    Column("params", "text", text=_other_params),
    Column("seeds", "text", text=lambda entry, board: seeds_cell(entry)),
    Column("CCC mean [95% CI]", "interval", "test_mean_ccc"),
    Column("CCC V", "metric", "test_valence_ccc"),
    Column("CCC A", "metric", "test_arousal_ccc"),
    Column("CCC/session", "metric", "test_mean_ccc_session"),
    Column("RMSE mean [95% CI]", "interval", "test_mean_rmse"),
    Column("RMSE V", "metric", "test_valence_rmse"),
    Column("RMSE A", "metric", "test_arousal_rmse"),
    Column("MAE V", "metric", "test_valence_mae"),
    Column("MAE A", "metric", "test_arousal_mae"),
    Column("fit core-s", "text",
           text=lambda entry, board: f"{entry['fit_core_seconds_mean']:.1f}"),
]


def ranked_table(board: Board) -> list[str]:
    """Default-params entries by test CCC, then the floors."""
    body, position = [], 0
    for _, entry in board.default.iterrows():
        position += 1
        rank = ("1" if entry["label"] == board.top
                else "1=" if board.versus_top(entry["label"]) == "tied" else str(position))
        body.append([rank, *entry_cells(entry, board, board.default)])
    body += [["—", *entry_cells(entry, board, None, FLOOR_NAMES[entry["model"]])]
             for _, entry in board.floors.iterrows()]
    return [tabulate(body, headers=["rank", *_headers()], tablefmt="github",
                     disable_numparse=True), ""]


def tuned_table(board: Board) -> list[str]:
    body = [[entry["tuned_by"], str(int(entry["tuning_trials"])),
             board.versus_top(entry["label"]) or "—", *entry_cells(entry, board, None)]
            for _, entry in board.tuned.iterrows()]
    return ["## Tuned rows", "", TUNED_INTRO, "",
            tabulate(body, headers=["study", "trials", "vs rank 1", *_headers()],
                     tablefmt="github", disable_numparse=True), ""]


def best_of_each_table(board: Board) -> list[str]:
    best = board.best_on_dev()
    if best.empty:
        return []
    body = [[model_cell(entry, board), chosen_variant(entry, board),
             f"{entry['dev_mean_ccc_mean']:.3f}",
             _interval(entry, board, "test_mean_ccc"),
             "rank 1" if entry["label"] == board.top else board.versus_top(entry["label"]) or "—"]
            for _, entry in best.iterrows()]
    return ["## Best of each model (chosen on dev)", "", BEST_OF_EACH_INTRO, "",
            tabulate(body, headers=["model", "variant chosen on dev", "dev CCC mean",
                                    "test CCC mean [95% CI]", "vs rank 1"],
                     tablefmt="github", disable_numparse=True), ""]


def _headers() -> list[str]:
    return [column.header for column in ENTRY_COLUMNS]


def entry_cells(entry, board: Board, ranked: pd.DataFrame | None, name: str | None = None
                ) -> list[str]:
    """The entry's cells of :data:`ENTRY_COLUMNS`; ``name`` replaces the model's (floors);
    ``ranked``: the entries among which the best of each metric column is bold."""
    cells = []
    for column in ENTRY_COLUMNS:
        if column.kind == "text":
            cells.append(name if name and column.header == "model"
                         else column.text(entry, board))
        elif column.kind == "interval":
            cells.append(_interval(entry, board, column.metric, ranked))
        else:
            cells.append(_mean_std(entry, column.metric, ranked))
    return cells


def seeds_cell(entry) -> str:
    """How many seeds the entry ran with, or ``seed-free`` (fitted once for all seeds)."""
    return SEED_FREE if entry["seed_free"] else str(int(entry["seeds"]))


def model_cell(entry, board: Board) -> str:
    """The model's name, marked ``(offline)`` when it reads future frames and ``(plugin)`` when
    it comes from outside emorec."""
    marks = [mark for mark, applies in (
        ("offline", board.offline(entry)),
        ("plugin", entry["model_source"] != "emorec")) if applies]
    return entry["model"] + (f" ({', '.join(marks)})" if marks else "")


def chosen_variant(entry, board: Board) -> str:
    """The shown params (always) and the other non-default params."""
    facts = board.model_facts(entry["model"])
    shown = facts.shown(json.loads(entry["params"]))
    return describe_variant(entry["model"], entry["variant"], shown).removeprefix(
        entry["model"]).strip()


def _interval(entry, board: Board, column: str, ranked: pd.DataFrame | None = None) -> str:
    text = format_number(entry[f"{column}_mean"])
    draws = board.draws.get(entry["label"])
    if draws is not None:
        low, high = uncertainty.interval(getattr(draws, INTERVALS[column]))
        text += f" [{format_number(low)}, {format_number(high)}]"
    return _bold_if_best(text, entry, column, ranked)


def _mean_std(entry, column: str, ranked: pd.DataFrame | None) -> str:
    mean, std = entry[f"{column}_mean"], entry[f"{column}_std"]
    text = f"{format_number(mean)} ± {format_number(0.0 if np.isnan(std) else std)}"
    return _bold_if_best(text, entry, column, ranked)


def _bold_if_best(text: str, entry, column: str, ranked: pd.DataFrame | None) -> str:
    if ranked is None or len(ranked) < 2:
        return text
    means = ranked[f"{column}_mean"]
    best = means.max() if higher_is_better(column) else means.min()
    return f"**{text}**" if round(entry[f"{column}_mean"], 3) == round(best, 3) else text
