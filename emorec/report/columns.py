"""The leaderboard's columns, declared, and the cells they show.

Every column of an entry's row is a :class:`Column`: a text column computes its cell from the
entry; a metric column shows mean ± std over seeds of one results column; an interval column
shows the mean with its 95% bootstrap interval. Best per metric column is bold, following the
metric's direction. Every shown metric of :data:`emorec.metrics.METRICS` has its columns (a new
metric appears without an edit here); other columns are entries in :data:`ENTRY_COLUMNS`. The
markdown tables (:mod:`emorec.report.tables`) and the site's (:mod:`emorec.report.site.data`)
show the same cells, made here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from emorec import uncertainty
from emorec.cells import SEED_FREE
from emorec.display import describe_variant, format_number, format_params, format_shown
from emorec.metrics import METRICS, Metric, higher_is_better
from emorec.record.external import EXTERNAL
from emorec.record.fuse_rows import FAMILY as LATE_FUSION
from emorec.report.board import Board, Rank
from emorec.vocabulary import TARGETS

# Shown params with a column of their own in every table (a model's facts say which it shows;
# any other it shows is written among its params).
SHOWN_PARAM_COLUMNS = ("window", "pooling")
DERIVED_FAMILIES = (EXTERNAL, LATE_FUSION)
# Which table of an entry's rows shows a column: ROW columns name the row and lead every table;
# each of PARTS is a table of its own.
ROW, SCORES, PER_TARGET, ERRORS, COST = "row", "scores", "targets", "errors", "cost"
PARTS = (SCORES, PER_TARGET, ERRORS, COST)


@dataclass(frozen=True)
class Column:
    header: str
    kind: str                 # "text", "metric" (mean ± std) or "interval" (mean [95% CI])
    metric: str = ""          # the results column of a metric or interval column
    text: Callable[[pd.Series, Board], str] | None = None   # a text column's cell
    part: str = SCORES        # ROW or one of PARTS
    optional: bool = False    # left out of a table where every row's cell is empty

    def __post_init__(self):
        drawn = {f"test_mean_{name}" for name in uncertainty.INTERVAL_METRICS}
        if self.kind == "interval" and self.metric not in drawn:
            raise ValueError(f"column {self.header!r}: an interval column shows one of "
                             f"{sorted(drawn)} (the metrics the bootstrap draws, "
                             f"uncertainty.INTERVAL_METRICS), not {self.metric!r}")


def _shown(name: str) -> Callable[[pd.Series, Board], str]:
    def cell(entry, board: Board) -> str:
        params = json.loads(entry["params"])
        return format_shown(name, board.model_facts(entry["model"]).shown(params).get(name))
    return cell


def _other_params(entry, board: Board) -> str:
    """The shown params without a column of their own (always, as ``name=value``), then the
    other non-default params."""
    facts = board.model_facts(entry["model"])
    shown = [format_shown(name, value) for name, value
             in facts.shown(json.loads(entry["params"])).items()
             if name not in SHOWN_PARAM_COLUMNS and value is not None]
    return ", ".join(part for part in (*shown, format_params(entry["variant"],
                                                             omit=facts.columns)) if part)


def _metric_columns(metric: Metric) -> list[Column]:
    """A shown metric's test columns: the mean of the targets with its interval (for the
    metrics drawn) and the mean alone (a per-session metric), or each target's. A metric whose
    higher values are better has its means among the scores and its targets' in a table of
    their own; an error (lower is better) has all of its columns among the errors."""
    agreement = metric.higher_is_better
    columns = []
    if metric.name in uncertainty.INTERVAL_METRICS:
        columns.append(Column(f"{metric.label} mean [95% CI]", "interval",
                              f"test_mean_{metric.name}", part=SCORES if agreement else ERRORS))
    if metric.per_session:
        return [*columns, Column(metric.label, "metric", f"test_mean_{metric.name}",
                                 part=SCORES if agreement else ERRORS)]
    return [*columns, *(Column(f"{metric.label} {target[0].upper()}", "metric",
                               f"test_{target}_{metric.name}",
                               part=PER_TARGET if agreement else ERRORS)
                        for target in TARGETS)]


ENTRY_COLUMNS = [
    Column("model", "text", text=lambda entry, board: model_cell(entry, board), part=ROW),
    *(Column(name, "text", text=_shown(name), part=ROW, optional=True)
      for name in SHOWN_PARAM_COLUMNS),
    *(column for metric in METRICS if metric.shown for column in _metric_columns(metric)),
    Column("seeds", "text", text=lambda entry, board: seeds_cell(entry), part=COST),
    Column("fit core-s", "text", text=lambda entry, board: fit_cell(entry), part=COST),
    Column("params", "text", text=_other_params, part=COST, optional=True),
]


def rank_cells(rank: Rank, board: Board) -> list[str]:
    """``3 [2, 6]``, P(best) and the Holm-corrected comparison with the table's best row; none
    where the test sessions are too few for a bootstrap."""
    if not board.enough_sessions:
        return []
    if rank.interval is None:
        return [str(rank.position), "—", "—"]
    low, high = rank.interval
    return [f"{rank.position} [{low}, {high}]", f"{rank.p_best:.2f}", rank.versus_best]


def entry_cells(entry, board: Board, ranked: pd.DataFrame | None, columns: list[Column],
                name: str | None = None) -> list[str]:
    """The entry's cells of ``columns``; ``name`` replaces the model's (floors); ``ranked``: the
    entries among which the best of each metric column is bold."""
    cells = []
    for column in columns:
        if column.kind == "text":
            cells.append(name if name and column.header == "model"
                         else column.text(entry, board))
        elif column.kind == "interval":
            cells.append(interval_cell(entry, board, column.metric, ranked))
        else:
            cells.append(mean_std_cell(entry, column.metric, ranked))
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


def interval_cell(entry, board: Board, column: str,
                  ranked: pd.DataFrame | None = None) -> str:
    text = format_number(entry[f"{column}_mean"])
    draws = board.draws.get(entry["label"])
    if draws is not None:
        low, high = uncertainty.interval(draws[column.removeprefix("test_mean_")])
        text += f" [{format_number(low)}, {format_number(high)}]"
    return _bold_if_best(text, entry, column, ranked)


def mean_std_cell(entry, column: str, ranked: pd.DataFrame | None) -> str:
    mean, std = entry[f"{column}_mean"], entry[f"{column}_std"]
    text = f"{format_number(mean)} ± {format_number(0.0 if np.isnan(std) else std)}"
    return _bold_if_best(text, entry, column, ranked)


def _bold_if_best(text: str, entry, column: str, ranked: pd.DataFrame | None) -> str:
    if ranked is None or len(ranked) < 2:
        return text
    means = ranked[f"{column}_mean"]
    best = means.max() if higher_is_better(column) else means.min()
    return f"**{text}**" if round(entry[f"{column}_mean"], 3) == round(best, 3) else text
