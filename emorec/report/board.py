"""One dataset's leaderboard data: its current rows grouped into entries (model x params x
study, over seeds; one row for a seed-free model), each entry's bootstrap draws, and the orders
the tables use."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from emorec import results, uncertainty
from emorec.facts import ModelFacts
from emorec.report.display import FLOOR_NAMES

# The results columns aggregated over seeds (mean and std) for every entry: every metric, so a
# table column can show any of them.
AGGREGATED = (*results.METRIC_COLUMNS, "fit_core_seconds")


class Board:
    """One dataset's current rows grouped into leaderboard entries (model x variant x study),
    with bootstrap draws for the entries whose every seed has session statistics."""

    def __init__(self, rows: pd.DataFrame, facts: dict[str, ModelFacts]):
        self.all_rows = rows
        self.facts = facts
        self.rows = results.current(rows)
        self.entries = _aggregate(self.rows)
        self.stats = {key: results.parse_session_stats(text) for key, text in
                      zip(self.rows["cell_key"], self.rows["test_session_stats"], strict=True)}
        self.sessions = sorted({s for value in self.stats.values() if value for s in value})
        self.draws = _bootstrap(self.rows, self.entries, self.stats, self.sessions)
        learned = self.entries[~self.entries["model"].isin(FLOOR_NAMES)]
        order = ["test_mean_ccc_mean", "label"]
        self.default = learned[learned["tuned_by"] == ""].sort_values(
            order, ascending=[False, True], kind="stable")
        self.tuned = learned[learned["tuned_by"] != ""].sort_values(
            order, ascending=[False, True], kind="stable")
        self.floors = self.entries[self.entries["model"].isin(FLOOR_NAMES)].sort_values("model")
        self.top = self.default["label"].iloc[0] if len(self.default) else None

    def model_facts(self, model: str) -> ModelFacts:
        return self.facts.get(model, ModelFacts())

    def offline(self, entry) -> bool:
        """Whether the entry's model reads future frames with these params."""
        return self.model_facts(entry["model"]).offline(json.loads(entry["params"]))

    def versus_top(self, label: str) -> str:
        """``tied`` with rank 1, ``below``/``above`` it, or ``""`` without draws."""
        if self.top is None or label not in self.draws or self.top not in self.draws:
            return ""
        mine, top = self.draws[label].ccc, self.draws[self.top].ccc
        if uncertainty.indistinguishable(mine, top):
            return "tied"
        return "above" if np.median(mine - top) > 0 else "below"

    def best_on_dev(self) -> pd.DataFrame:
        """Each model's untuned variant with the highest mean dev CCC."""
        return (self.default.sort_values(["dev_mean_ccc_mean", "label"],
                                         ascending=[False, True], kind="stable")
                .drop_duplicates("model").sort_values(["test_mean_ccc_mean", "label"],
                                                      ascending=[False, True], kind="stable"))

    def guard(self) -> str:
        """The rows' extractor-leakage guard, or ``mixed``."""
        states = set(self.rows["extractor_guard"])
        return states.pop() if len(states) == 1 else "mixed"


def _aggregate(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows.assign(label=rows["model"] + " " + rows["params"] + " " + rows["tuned_by"])
    grouped = rows.groupby(["label", "model", "params", "variant", "tuned_by", "model_source"],
                           sort=True)
    out = grouped[list(AGGREGATED)].agg(["mean", "std"])
    out.columns = [f"{metric}_{stat}" for metric, stat in out.columns]
    out["seeds"] = grouped.size()
    out["seed_free"] = grouped["seed"].count() == 0   # its one row has no seed
    out["tuning_trials"] = grouped["tuning_trials"].max()
    return out.reset_index()


def _bootstrap(rows: pd.DataFrame, entries: pd.DataFrame, stats: dict, sessions: list[str]
               ) -> dict[str, uncertainty.Draws]:
    """Draws for every entry whose every seed has session statistics on all ``sessions``."""
    if not sessions:
        return {}
    weights = uncertainty.session_weights(sessions)
    labels = rows["model"] + " " + rows["params"] + " " + rows["tuned_by"]
    out = {}
    for label in entries["label"]:
        cells = [stats[key] for key in rows.loc[labels == label, "cell_key"]]
        if all(cell is not None and sorted(cell) == sessions for cell in cells):
            array = np.stack([np.stack([cell[s] for s in sessions]) for cell in cells])
            out[label] = uncertainty.draws(array, weights, label)
    return out
