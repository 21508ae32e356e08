"""What a board's HTML page shows, taken from its :class:`~emorec.report.board.Board` with the
markdown's own cell functions (:mod:`emorec.report.columns`, :mod:`emorec.display`), so
the page and ``<dataset>.md`` cannot disagree: its entries (every untuned variant, the tuned
rows, the reference rows) and its headline, each with its test CCC, interval and ranks, and a
card per model with its variants and their runs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from markdown_it import MarkdownIt

from emorec import uncertainty
from emorec.cells import seed_label
from emorec.display import FLOOR_NAMES, format_number, format_params
from emorec.record.external import EXTERNAL
from emorec.record.fuse_rows import FAMILY as LATE_FUSION
from emorec.report import columns, prose
from emorec.report.board import GROUPS, Board
from emorec.store import predictions, result_rows

MARKDOWN = MarkdownIt("commonmark")
# A card's words for a model whose rows were made, not fitted (no registration to describe it):
# the board's own note on such rows.
DERIVED_NOTES = {LATE_FUSION: prose.FUSION_NOTE, EXTERNAL: prose.EXTERNAL_NOTE}


@dataclass(frozen=True)
class Run:
    """One results row of an entry: a seed's (or a seed-free model's one) run."""
    seed: str
    cell_key: str
    code_fingerprint: str
    commit: str
    mlflow_run_id: str
    test_ccc: str
    kept: bool     # its predictions are kept (the trace view can show them)


@dataclass(frozen=True)
class Ranked:
    """An entry's rank cells in one table, as the markdown writes them (empty without
    bootstrap)."""
    rank: str
    rank_order: int
    p_best: str
    versus_best: str


@dataclass(frozen=True)
class Entry:
    id: str
    label: str
    model: str
    name: str          # the markdown's model cell (marks) or a reference row's name
    group: str         # online, offline or reference
    family: str
    modality: str
    variant: str       # shown params and the other non-default ones, as the headline writes it
    params: str        # the non-default params, as the tables write them
    params_json: str
    seeds: str
    seeds_order: int
    tuned_by: str
    tuning_trials: int
    test_ccc: str
    test_ccc_value: float
    interval: tuple[float, float] | None
    interval_text: str
    ccc_session: str
    dev_ccc: str
    dev_ccc_value: float
    test_rmse: str
    test_rmse_value: float
    ccc_valence: str
    ccc_arousal: str
    fit: str
    fit_value: float
    ranked: Ranked | None     # among every untuned variant of its group
    headline: Ranked | None   # among the headline's rows of its group (None: not a headline row)
    runs: tuple[Run, ...]

    @property
    def traced(self) -> bool:
        """Whether its first run's predictions are kept (what the trace view draws)."""
        return bool(self.runs) and self.runs[0].kept

    @property
    def ccc_text(self) -> str:
        return f"{self.test_ccc} {self.interval_text}".strip()


@dataclass(frozen=True)
class Card:
    key: str       # the card's element id
    model: str
    description_html: str
    family: str
    modality: str
    source: str
    offline_when: str
    thesis_names: str
    entries: tuple[Entry, ...]


@dataclass(frozen=True)
class Page:
    dataset: str
    stand_in: bool
    note_html: str               # the stand-in banner, or the extractor-leakage guard line
    fingerprint: str
    split_hash: str
    runs: int
    hidden: int
    sessions: int
    enough_sessions: bool
    facts: dict
    headline: tuple[Entry, ...]
    entries: tuple[Entry, ...]  # every untuned variant (online, offline), tuned, reference
    cards: tuple[Card, ...]
    axis: tuple[float, float]   # the interval bars' test CCC range

    def card(self, model: str) -> Card:
        return next(card for card in self.cards if card.model == model)

    @property
    def tuned(self) -> bool:
        return any(entry.tuned_by for entry in self.entries)

    def options(self, field: str) -> list[str]:
        """The distinct values of an entry field, for a filter."""
        return sorted({str(getattr(entry, field)) for entry in self.entries},
                      key=lambda value: (not value[:1].isdigit(), value))

    def bar(self, entry: Entry) -> tuple[float, float, float] | None:
        """The entry's interval bar on :attr:`axis`, in percent: low, high, mean."""
        low_axis, high_axis = self.axis
        if np.isnan(entry.test_ccc_value):
            return None

        def place(value: float) -> float:
            return round(100 * (value - low_axis) / (high_axis - low_axis), 2)

        low, high = entry.interval or (entry.test_ccc_value, entry.test_ccc_value)
        return place(low), place(high), place(entry.test_ccc_value)


def markdown(text: str) -> str:
    return MARKDOWN.render(text)


def page(board: Board, results_dir: Path, dataset_facts: dict) -> Page:
    rows = board.all_rows
    last = rows.iloc[-1]
    dataset, stand_in = last["dataset"], last["origin"] == "stand-in"
    entries = _entries(board, Path(results_dir))
    by_label = {entry.label: entry for entry in entries}
    headline = tuple(by_label[label] for name in GROUPS
                     for label in board.headline(name)["label"])
    values = [v for entry in entries for v in (entry.interval or (entry.test_ccc_value,))
              if not np.isnan(v)]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    pad = max(0.02, (high - low) * 0.04)
    return Page(
        dataset=dataset, stand_in=stand_in,
        note_html=markdown(prose.STAND_IN_NOTE.format(dataset=dataset) if stand_in
                           else prose.GUARD_LINES[board.guard()]),
        fingerprint=last["fingerprint"], split_hash=last["split_hash"], runs=len(board.rows),
        hidden=len(rows) - len(board.rows), sessions=len(board.sessions),
        enough_sessions=board.enough_sessions, facts=dataset_facts,
        headline=headline, entries=entries, cards=_cards(board, entries),
        axis=(max(-1.0, low - pad), min(1.0, high + pad)))


def _entries(board: Board, results_dir: Path) -> tuple[Entry, ...]:
    """Every untuned variant (online, then offline, ranked), the tuned rows, the reference
    rows: the markdown's tables in its order."""
    ranked = {}
    for name in GROUPS:
        ranked.update(_ranks(board, board.group(name)))
    in_headline = {}
    for name in GROUPS:
        in_headline.update(_ranks(board, board.headline(name)))
    ordered = pd.concat([*(board.group(name) for name in GROUPS), board.tuned, board.floors])
    number = {label: n for n, label in enumerate(board.entries["label"])}
    labels = board.rows["model"] + " " + board.rows["params"] + " " + board.rows["tuned_by"]
    return tuple(_entry(entry, board, f"e{number[entry['label']]}", ranked.get(entry["label"]),
                        in_headline.get(entry["label"]),
                        board.rows[labels == entry["label"]], results_dir)
                 for _, entry in ordered.iterrows())


def _ranks(board: Board, entries: pd.DataFrame) -> dict[str, Ranked]:
    out = {}
    for label, rank in board.ranks(entries).items():
        cells = columns.rank_cells(rank, board) or [str(rank.position), "", ""]
        out[label] = Ranked(cells[0], rank.position, cells[1], cells[2])
    return out


def _entry(entry, board: Board, key: str, ranked: Ranked | None, headline: Ranked | None,
           rows: pd.DataFrame, results_dir: Path) -> Entry:
    draws = board.draws.get(entry["label"])
    interval = (tuple(float(v) for v in uncertainty.interval(draws["ccc"]))
                if draws is not None else None)
    floor = entry["model"] in FLOOR_NAMES
    dataset = rows["dataset"].iloc[0]
    rows = rows.sort_values("seed", na_position="first", kind="stable")
    runs = tuple(Run(seed=seed_label(result_rows.row_seed(row["seed"])), cell_key=row["cell_key"],
                     code_fingerprint=row["code_fingerprint"], commit=row["code_version"],
                     mlflow_run_id=row["mlflow_run_id"],
                     test_ccc=format_number(row["test_mean_ccc"]),
                     kept=predictions.cell_path(results_dir, dataset, row["cell_key"]).is_file())
                 for _, row in rows.iterrows())
    seeds = columns.seeds_cell(entry)
    return Entry(
        id=key, label=entry["label"], model=entry["model"],
        name=FLOOR_NAMES[entry["model"]] if floor else columns.model_cell(entry, board),
        group=entry["group"], family=entry["family"], modality=rows["modality"].iloc[-1],
        variant=columns.chosen_variant(entry, board),
        params=format_params(entry["variant"]),
        params_json=json.dumps(json.loads(entry["params"]), indent=1, sort_keys=True),
        seeds=seeds, seeds_order=int(entry["seeds"]), tuned_by=entry["tuned_by"],
        tuning_trials=int(entry["tuning_trials"]),
        test_ccc=format_number(entry["test_mean_ccc_mean"]),
        test_ccc_value=float(entry["test_mean_ccc_mean"]), interval=interval,
        interval_text=(f"[{format_number(interval[0])}, {format_number(interval[1])}]"
                       if interval else ""),
        ccc_session=_mean_std(entry, "test_mean_ccc_session"),
        dev_ccc=format_number(entry["dev_mean_ccc_mean"]),
        dev_ccc_value=float(entry["dev_mean_ccc_mean"]),
        test_rmse=_mean_std(entry, "test_mean_rmse"),
        test_rmse_value=float(entry["test_mean_rmse_mean"]),
        ccc_valence=_mean_std(entry, "test_valence_ccc"),
        ccc_arousal=_mean_std(entry, "test_arousal_ccc"),
        fit=columns.fit_cell(entry), fit_value=float(entry["fit_core_seconds_mean"]),
        ranked=ranked, headline=headline, runs=runs)


def _mean_std(entry, column: str) -> str:
    mean, std = entry[f"{column}_mean"], entry[f"{column}_std"]
    return f"{format_number(mean)} ± {format_number(0.0 if np.isnan(std) else std)}"


def _cards(board: Board, entries: tuple[Entry, ...]) -> tuple[Card, ...]:
    """One card per model, its entries in the page's order."""
    cards = []
    for number, model in enumerate(sorted({entry.model for entry in entries})):
        own = tuple(entry for entry in entries if entry.model == model)
        facts = board.model_facts(model)
        family = own[0].family
        described = facts.description or DERIVED_NOTES.get(family, "").removeprefix("- ")
        cards.append(Card(
            key=f"card-{number}", model=model,
            description_html=markdown(described) if described else "",
            family=family, modality=own[0].modality,
            source=board.rows.loc[board.rows["model"] == model, "model_source"].iloc[-1],
            offline_when=", ".join(f"{name}={value}" for name, value in facts.offline_when),
            thesis_names=", ".join(facts.thesis_names), entries=own))
    return tuple(cards)
