"""The leaderboard's tables, built from declared columns.

Every column of an entry's row is a :class:`Column`: a text column computes its cell from the
entry; a metric column shows mean ± std over seeds of one results column; an interval column
shows the mean with its 95% bootstrap interval. Best per metric column is bold, following the
metric's direction. Every shown metric of :data:`emorec.metrics.METRICS` has its columns (a new
metric appears without an edit here); other columns are entries in :data:`ENTRY_COLUMNS`.
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
from emorec.external import EXTERNAL
from emorec.fuse_rows import FAMILY as LATE_FUSION
from emorec.metrics import METRICS, Metric, higher_is_better
from emorec.report.board import GROUPS, Board, Rank
from emorec.report.display import (
    FLOOR_NAMES,
    describe_variant,
    format_number,
    format_params,
    format_shown,
)
from emorec.report.prose import (
    FULL_INTRO,
    GROUP_TITLES,
    HEADLINE_INTRO,
    RANKS_PER_TABLE,
    REFERENCE_INTRO,
    TUNED_INTRO,
)
from emorec.vocabulary import TARGETS

# Shown params with a column of their own in every table (a model's facts say which it shows).
SHOWN_PARAM_COLUMNS = ("window", "pooling")
RANK_HEADERS = ["rank [95% CI]", "P(best)", "vs best (Holm)"]
DERIVED_FAMILIES = (EXTERNAL, LATE_FUSION)


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


def _metric_columns(metric: Metric) -> list[Column]:
    """A shown metric's test columns: the mean of the targets with its interval (for the
    metrics drawn), the mean alone (a per-session metric), or each target."""
    columns = []
    if metric.name in uncertainty.INTERVAL_METRICS:
        columns.append(Column(f"{metric.label} mean [95% CI]", "interval",
                              f"test_mean_{metric.name}"))
    if metric.per_session:
        return [*columns, Column(metric.label, "metric", f"test_mean_{metric.name}")]
    return [*columns, *(Column(f"{metric.label} {target[0].upper()}", "metric",
                               f"test_{target}_{metric.name}") for target in TARGETS)]


ENTRY_COLUMNS = [
    Column("model", "text", text=lambda entry, board: model_cell(entry, board)),
    *(Column(name, "text", text=_shown(name)) for name in SHOWN_PARAM_COLUMNS),
    Column("params", "text", text=_other_params),
    Column("seeds", "text", text=lambda entry, board: seeds_cell(entry)),
    *(column for metric in METRICS if metric.shown for column in _metric_columns(metric)),
    Column("fit core-s", "text", text=lambda entry, board: fit_cell(entry)),
]


def rank_headers(board: Board) -> list[str]:
    """No rank columns where the test sessions are too few for a bootstrap."""
    return RANK_HEADERS if board.enough_sessions else []


def rank_cells(rank: Rank, board: Board) -> list[str]:
    """``3 [2, 6]``, P(best) and the Holm-corrected comparison with the table's best row."""
    if not board.enough_sessions:
        return []
    if rank.interval is None:
        return [str(rank.position), "—", "—"]
    low, high = rank.interval
    return [f"{rank.position} [{low}, {high}]", f"{rank.p_best:.2f}", rank.versus_best]


def headline_tables(board: Board) -> list[str]:
    """One row per model, its variant chosen on dev; online models, then offline ones."""
    def cells(entry, chosen) -> list[str]:
        return [model_cell(entry, board), chosen_variant(entry, board), seeds_cell(entry),
                format_number(entry["dev_mean_ccc_mean"]),
                _interval(entry, board, "test_mean_ccc"),
                _mean_std(entry, "test_mean_ccc_session", None)]

    headers = ["model", "variant chosen on dev", "seeds", "dev CCC mean",
               _interval_header("test CCC mean [95% CI]", board), "CCC/session"]
    intro = HEADLINE_INTRO + (" " + RANKS_PER_TABLE if board.enough_sessions else "")
    return ["## Headline: one row per model", "", intro, "",
            *_ranked_tables(board, board.headline, "", cells, headers)]


def full_tables(board: Board) -> list[str]:
    """Every untuned variant, ranked within its group."""
    def cells(entry, entries) -> list[str]:
        return entry_cells(entry, board, entries)

    return ["## Every variant", "", FULL_INTRO, "",
            *_ranked_tables(board, board.group, ": every variant", cells, _headers(board))]


def _ranked_tables(board: Board, entries_of, title: str, cells, headers: list[str]
                   ) -> list[str]:
    """A table per group (online, then offline) of ``entries_of(group)``, each row its rank
    cells then ``cells(entry, entries)``."""
    lines = []
    for name in GROUPS:
        entries = entries_of(name)
        if entries.empty:
            continue
        ranks = board.ranks(entries)
        body = [[*rank_cells(ranks[entry["label"]], board), *cells(entry, entries)]
                for _, entry in entries.iterrows()]
        lines += [f"### {GROUP_TITLES[name]}{title}", "",
                  tabulate(body, headers=[*rank_headers(board), *headers], tablefmt="github",
                           disable_numparse=True), ""]
    return lines


def reference_table(board: Board) -> list[str]:
    if board.floors.empty:
        return []
    body = [entry_cells(entry, board, None, FLOOR_NAMES[entry["model"]])
            for _, entry in board.floors.iterrows()]
    return ["## Reference rows", "", REFERENCE_INTRO, "",
            tabulate(body, headers=_headers(board), tablefmt="github", disable_numparse=True), ""]


def tuned_table(board: Board) -> list[str]:
    body = [[entry["tuned_by"], str(int(entry["tuning_trials"])), entry["group"],
             *entry_cells(entry, board, None)]
            for _, entry in board.tuned.iterrows()]
    return ["## Tuned rows", "", TUNED_INTRO, "",
            tabulate(body, headers=["study", "trials", "group", *_headers(board)],
                     tablefmt="github", disable_numparse=True), ""]


def _headers(board: Board) -> list[str]:
    return [_interval_header(column.header, board) for column in ENTRY_COLUMNS]


def _interval_header(header: str, board: Board) -> str:
    """A header without its "[95% CI]" on a board too small for intervals."""
    return header if board.enough_sessions else header.replace(" [95% CI]", "")


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
    """How many seeds the entry ran with, ``seed-free`` (fitted once for all seeds), or
    ``external`` (predictions made elsewhere)."""
    if entry["family"] == EXTERNAL:
        return EXTERNAL
    return SEED_FREE if entry["seed_free"] else str(int(entry["seeds"]))


def fit_cell(entry) -> str:
    """The mean fit core-s, or a dash for a row that fitted nothing here (made from kept
    predictions)."""
    if entry["family"] in DERIVED_FAMILIES:
        return "—"
    return f"{entry['fit_core_seconds_mean']:.1f}"


def model_cell(entry, board: Board) -> str:
    """The model's name, marked ``(offline)`` when it reads future frames, ``(external)`` when
    its predictions were made elsewhere (``emorec score``) and ``(plugin)`` when it comes from
    outside emorec."""
    source = entry["model_source"]
    marks = [mark for mark, applies in (
        ("offline", board.offline(entry)),
        ("external", source.startswith(EXTERNAL)),
        ("plugin", source != "emorec" and not source.startswith(EXTERNAL))) if applies]
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
        low, high = uncertainty.interval(draws[column.removeprefix("test_mean_")])
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
