"""The leaderboard's tables, made of the columns of :mod:`emorec.report.columns`.

A page is read in a column about 1000 px wide, so no table holds every column and long text
comes last: each group of the headline is two tables, its rank, model and scores, then what ran
(seeds, the fit's core-seconds, the chosen variant); the rows of every variant are one table
per :data:`~emorec.report.columns.PARTS` (the scores they are ranked by, each target's, the
errors, what ran: seeds, fit core-seconds, params), the same rows in the same order, each led by
the row's rank (or place) and :data:`~emorec.report.columns.ROW` columns. The headline's tables
are also the summary ``emorec bench`` prints (:func:`headline`).
"""

from __future__ import annotations

import pandas as pd
from tabulate import tabulate

from emorec.display import FLOOR_NAMES, format_number
from emorec.report.board import GROUPS, Board
from emorec.report.columns import (
    COST,
    ENTRY_COLUMNS,
    PARTS,
    PER_TARGET,
    ROW,
    SCORES,
    Column,
    chosen_variant,
    entry_cells,
    fit_cell,
    interval_cell,
    mean_std_cell,
    model_cell,
    rank_cells,
    seeds_cell,
)
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

RANK_HEADER, AFTER_SCORES_HEADERS = "rank [95% CI]", ["P(best)", "vs best (Holm)"]
POSITION_HEADER = "#"   # a row's place in tables whose rows have neither rank nor unique name


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
    return [interval_cell(entry, board, "test_mean_ccc"),
            format_number(entry["dev_mean_ccc_mean"]),
            mean_std_cell(entry, "test_mean_ccc_session", None)]


def headline_tables(board: Board) -> list[str]:
    """The headline's section of the page."""
    lines = ["## Headline: one row per model", "", HEADLINE_INTRO, ""]
    for title, texts in headline(board):
        lines += [f"### {title}", ""]
        for text in texts:
            lines += [text, ""]
    return lines


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
