"""The leaderboard's tables, built from declared columns.

Every column of an entry's row is a :class:`Column`: a text column computes its cell from the
entry; a metric column shows mean ± std over seeds of one results column; an interval column
shows the mean with its 95% bootstrap interval. Best per metric column is bold, following the
metric's direction. Every shown metric of :data:`emorec.metrics.METRICS` has its columns (a new
metric appears without an edit here); other columns are entries in :data:`ENTRY_COLUMNS`.

A page is read in a column about 1000 px wide, so no table holds every column and long text
comes last: each group of the headline is two tables, its rank, model and scores, then what ran
(seeds, the fit's core-seconds, the chosen variant); the rows of every variant are one table
per :data:`PARTS` (the scores they are ranked by, each target's, the errors, what ran: seeds,
fit core-seconds, params), the same rows in the same order, each led by the row's rank (or place)
and :data:`ROW` columns. The headline's tables are also the summary ``emorec bench`` prints
(:func:`headline`).
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
from emorec.display import (
    FLOOR_NAMES,
    describe_variant,
    format_number,
    format_params,
    format_shown,
)
from emorec.external import EXTERNAL
from emorec.fuse_rows import FAMILY as LATE_FUSION
from emorec.metrics import METRICS, Metric, higher_is_better
from emorec.report.board import GROUPS, Board, Rank
from emorec.report.prose import (
    FULL_INTRO,
    GROUP_TITLES,
    HEADLINE_INTRO,
    HEADLINE_REFERENCE_TITLE,
    HEADLINE_RUNS_INTRO,
    PART_INTROS,
    REFERENCE_INTRO,
    TUNED_INTRO,
)
from emorec.vocabulary import TARGETS

# Shown params with a column of their own in every table (a model's facts say which it shows).
SHOWN_PARAM_COLUMNS = ("window", "pooling")
RANK_HEADER, AFTER_SCORES_HEADERS = "rank [95% CI]", ["P(best)", "vs best (Holm)"]
DERIVED_FAMILIES = (EXTERNAL, LATE_FUSION)
# Which table of an entry's rows shows a column: ROW columns name the row and lead every table;
# each of PARTS is a table of its own.
ROW, SCORES, PER_TARGET, ERRORS, COST = "row", "scores", "targets", "errors", "cost"
PARTS = (SCORES, PER_TARGET, ERRORS, COST)
POSITION_HEADER = "#"   # a row's place in tables whose rows have neither rank nor unique name


@dataclass(frozen=True)
class Column:
    header: str
    kind: str                 # "text", "metric" (mean ± std) or "interval" (mean [95% CI])
    metric: str = ""          # the results column of a metric or interval column
    text: Callable[[pd.Series, Board], str] | None = None   # a text column's cell
    part: str = SCORES        # ROW or one of PARTS
    optional: bool = False    # left out of a table where every row's cell is empty


def _shown(name: str) -> Callable[[pd.Series, Board], str]:
    def cell(entry, board: Board) -> str:
        params = json.loads(entry["params"])
        return format_shown(name, board.model_facts(entry["model"]).shown(params).get(name))
    return cell


def _other_params(entry, board: Board) -> str:
    return format_params(entry["variant"], omit=board.model_facts(entry["model"]).columns)


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


def _markdown(headers: list[str], body: list[list[str]]) -> str:
    return tabulate(body, headers=headers, tablefmt="github", disable_numparse=True)


def headline(board: Board) -> list[tuple[str, list[str]]]:
    """The headline as (title, its blocks of text): one row per model, its variant chosen on
    dev, online models and offline ones ranked apart, then the reference rows (never ranked).
    A group's first table is its rank, model and scores (test beside dev); the second, in the
    same order, what ran: seeds, the fit's core-seconds and the chosen variant (the longest
    text, last). The page's headline and ``emorec bench``'s summary."""
    ranked = board.enough_sessions
    blocks = []
    for name in GROUPS:
        entries = board.headline(name)
        if entries.empty:
            continue
        ranks = board.ranks(entries)
        scores, runs = [], []
        for _, entry in entries.iterrows():
            rank = rank_cells(ranks[entry["label"]], board)
            model = model_cell(entry, board)
            scores.append([*rank[:1], model, *_headline_scores(entry, board), *rank[1:]])
            runs.append([*([str(ranks[entry["label"]].position)] if ranked else []), model,
                         seeds_cell(entry), fit_cell(entry), chosen_variant(entry, board)])
        blocks.append((GROUP_TITLES[name], [
            _markdown([*([RANK_HEADER] if ranked else []), "model",
                       *_headline_score_headers(board),
                       *(AFTER_SCORES_HEADERS if ranked else [])], scores),
            HEADLINE_RUNS_INTRO,
            _markdown([*(["rank"] if ranked else []), "model", "seeds", "fit core-s",
                       "variant chosen on dev"], runs)]))
    if not board.floors.empty:
        body = [[FLOOR_NAMES[entry["model"]], *_headline_scores(entry, board)]
                for _, entry in board.floors.iterrows()]
        blocks.append((HEADLINE_REFERENCE_TITLE, [
            _markdown(["reference", *_headline_score_headers(board)], body)]))
    return blocks


def _headline_score_headers(board: Board) -> list[str]:
    return [_interval_header("test CCC mean [95% CI]", board), "dev CCC mean", "CCC/session"]


def _headline_scores(entry, board: Board) -> list[str]:
    return [_interval(entry, board, "test_mean_ccc"), format_number(entry["dev_mean_ccc_mean"]),
            _mean_std(entry, "test_mean_ccc_session", None)]


def headline_tables(board: Board) -> list[str]:
    """The headline's section of the page."""
    lines = ["## Headline: one row per model", "", HEADLINE_INTRO, ""]
    for title, texts in headline(board):
        lines += [f"### {title}", ""]
        for text in texts:
            lines += [text, ""]
    return lines


def rank_cells(rank: Rank, board: Board) -> list[str]:
    """``3 [2, 6]``, P(best) and the Holm-corrected comparison with the table's best row; none
    where the test sessions are too few for a bootstrap."""
    if not board.enough_sessions:
        return []
    if rank.interval is None:
        return [str(rank.position), "—", "—"]
    low, high = rank.interval
    return [f"{rank.position} [{low}, {high}]", f"{rank.p_best:.2f}", rank.versus_best]


def full_tables(board: Board) -> list[str]:
    """Every untuned variant, ranked within its group, in a table per part."""
    lines = ["## Every variant", "", FULL_INTRO, ""]
    for name in GROUPS:
        entries = board.group(name)
        if entries.empty:
            continue
        ranks = board.ranks(entries)

        def lead(entry, part: str, ranks=ranks) -> tuple[list, list]:
            """The rank interval before the scores, P(best) and "vs best" after them; the
            other parts name the rank's position alone."""
            cells = rank_cells(ranks[entry["label"]], board)
            if not cells:
                return [], []
            if part != SCORES:
                return [("rank", str(ranks[entry["label"]].position))], []
            return ([(RANK_HEADER, cells[0])],
                    list(zip(AFTER_SCORES_HEADERS, cells[1:], strict=True)))

        lines += [f"### {GROUP_TITLES[name]}: every variant", "",
                  *_parts(board, entries, lead, ranked=entries)]
    return lines


def reference_table(board: Board) -> list[str]:
    if board.floors.empty:
        return []
    return ["## Reference rows", "", REFERENCE_INTRO, "",
            *_parts(board, board.floors, floors=True)]


def tuned_table(board: Board) -> list[str]:
    def lead(entry, part: str) -> tuple[list, list]:
        """The study names the row in every part; its trials and group lead the cost."""
        study = [("study", entry["tuned_by"])]
        if part != COST:
            return study, []
        return [*study, ("trials", str(int(entry["tuning_trials"]))),
                ("group", entry["group"])], []

    return ["## Tuned rows", "", TUNED_INTRO, "", *_parts(board, board.tuned, lead)]


def _parts(board: Board, entries: pd.DataFrame, lead=None, ranked: pd.DataFrame | None = None,
           floors: bool = False) -> list[str]:
    """The entries' rows in a table per part of :data:`PARTS`, in the same order in each.

    ``lead(entry, part)`` gives (header, cell) pairs to put before the row's :data:`ROW` columns
    and after the part's own columns; where its cells and the :data:`ROW` columns do not tell
    two rows apart, a :data:`POSITION_HEADER` column leads every table. An optional column empty
    in every row is left out. ``ranked``: the entries among which the best of each metric column
    is bold; ``floors``: reference rows, named as :data:`FLOOR_NAMES` does."""
    if entries.empty:
        return []
    lead = lead or (lambda entry, part: ([], []))
    rows = list(entries.iterrows())
    shown = [column for column in ENTRY_COLUMNS if not column.optional
             or any(column.text(entry, board) for _, entry in rows)]
    name = [column for column in shown if column.part == ROW]
    names = {(*(cell for _, cell in lead(entry, PER_TARGET)[0]),
              *entry_cells(entry, board, None, name)) for _, entry in rows}
    numbered = len(names) < len(rows)
    lines = []
    for part in PARTS:
        columns = name + [column for column in shown if column.part == part]
        body, headers = [], []
        for position, (_, entry) in enumerate(rows, start=1):
            before, after = lead(entry, part)
            before = [*([(POSITION_HEADER, str(position))] if numbered else []), *before]
            cells = entry_cells(entry, board, ranked, columns,
                                FLOOR_NAMES[entry["model"]] if floors else None)
            body.append([*(cell for _, cell in before), *cells, *(cell for _, cell in after)])
            headers = [*(header for header, _ in before), *_headers(board, columns),
                       *(header for header, _ in after)]
        if part in PART_INTROS:
            lines += [PART_INTROS[part], ""]
        lines += [_markdown(headers, body), ""]
    return lines


def _headers(board: Board, columns: list[Column]) -> list[str]:
    return [_interval_header(column.header, board) for column in columns]


def _interval_header(header: str, board: Board) -> str:
    """A header without its "[95% CI]" on a board too small for intervals."""
    return header if board.enough_sessions else header.replace(" [95% CI]", "")


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
