"""One dataset's leaderboard data: its current rows grouped into entries (model x params x
study, over seeds; one row for a seed-free model), each entry's bootstrap draws, the groups
entries are ranked in (online and offline apart; reference rows never ranked) and their ranks."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from emorec import uncertainty
from emorec.display import FLOOR_NAMES
from emorec.store import result_rows, schema, session_sums
from emorec.store.facts import ModelFacts

# The results columns aggregated over seeds (mean and std) for every entry: every metric, so a
# table column can show any of them.
AGGREGATED = (*schema.METRIC_COLUMNS, "fit_core_seconds")
GROUPS = ("online", "offline")   # ranked apart, online first
RANKED_BY = "ccc"                # pooled test CCC, mean of the targets


@dataclass(frozen=True)
class Rank:
    """An entry's place among the entries of one table."""
    position: int                  # by mean test CCC
    interval: tuple[int, int] | None   # 95% bootstrap rank interval
    p_best: float | None           # share of resamples in which it ranks first
    versus_best: str               # "best", "not separable" (Holm), "below" or "" (no draws)


class Board:
    """One dataset's current rows grouped into leaderboard entries (model x variant x study),
    with bootstrap draws for the entries whose every seed has session statistics (and only
    when there are at least :data:`uncertainty.MIN_SESSIONS` test sessions)."""

    def __init__(self, rows: pd.DataFrame, facts: dict[str, ModelFacts]):
        self.all_rows = rows
        self.facts = facts
        self.rows = result_rows.current(rows)
        self.entries = _aggregate(self.rows)
        self.stats = {key: session_sums.parse_session_stats(text) for key, text in
                      zip(self.rows["cell_key"], self.rows["test_session_stats"], strict=True)}
        self.sessions = sorted({s for value in self.stats.values() if value for s in value})
        self.enough_sessions = len(self.sessions) >= uncertainty.MIN_SESSIONS
        self.draws = (_bootstrap(self.rows, self.entries, self.stats, self.sessions)
                      if self.enough_sessions else {})
        self.entries["group"] = [
            "reference" if entry["model"] in FLOOR_NAMES
            else "offline" if self.offline(entry) else "online"
            for _, entry in self.entries.iterrows()]
        order = ["test_mean_ccc_mean", "label"]
        ranked = self.entries.sort_values(order, ascending=[False, True], kind="stable")
        learned = ranked[ranked["group"] != "reference"]
        self.default = learned[learned["tuned_by"] == ""]
        self.tuned = learned[learned["tuned_by"] != ""]
        self.floors = self.entries[self.entries["group"] == "reference"].sort_values("model")

    def model_facts(self, model: str) -> ModelFacts:
        return self.facts.get(model, ModelFacts())

    def offline(self, entry) -> bool:
        """Whether the entry's model reads future frames with these params."""
        return self.model_facts(entry["model"]).offline(json.loads(entry["params"]))

    def group(self, name: str) -> pd.DataFrame:
        """The untuned entries of ``name`` (online or offline), best test CCC first."""
        return self.default[self.default["group"] == name]

    def headline(self, name: str) -> pd.DataFrame:
        """One entry per model of group ``name`` (a late fusion of each set of models counts as
        a model of its own): its untuned variant with the highest mean dev CCC (a row without
        dev scores, e.g. an external one, only if it is the model's only one), best test CCC
        first."""
        entries = self.group(name)
        chosen = (entries.assign(named=[_headline_name(entry) for _, entry in
                                        entries.iterrows()])
                  .sort_values(["dev_mean_ccc_mean", "label"], ascending=[False, True],
                               kind="stable", na_position="last")
                  .drop_duplicates("named").drop(columns="named"))
        return chosen.sort_values(["test_mean_ccc_mean", "label"], ascending=[False, True],
                                  kind="stable")

    def best_on_dev(self) -> pd.DataFrame:
        """Each model's variant chosen on dev, online models first."""
        return pd.concat([self.headline(name) for name in GROUPS])

    def ranks(self, entries: pd.DataFrame) -> dict[str, Rank]:
        """Label -> rank among ``entries`` (sorted best first). Rank intervals, P(best) and
        separability need draws for every entry; without them, positions only."""
        labels = list(entries["label"])
        drawn = self.enough_sessions and labels and all(label in self.draws for label in labels)
        if not drawn:
            return {label: Rank(position, None, None, "")
                    for position, label in enumerate(labels, start=1)}
        values = np.stack([self.draws[label][RANKED_BY] for label in labels])
        ranks = uncertainty.rank_draws(values)
        best = labels[0]
        tied = uncertainty.not_separable(values[0], dict(zip(labels[1:], values[1:],
                                                             strict=True)))
        return {label: Rank(position, uncertainty.rank_interval(ranks[position - 1]),
                            uncertainty.p_best(ranks[position - 1]),
                            "best" if label == best else
                            "not separable" if label in tied else "below")
                for position, label in enumerate(labels, start=1)}

    def guard(self) -> str:
        """The rows' extractor-leakage guard, or ``mixed``."""
        states = set(self.rows["extractor_guard"])
        return states.pop() if len(states) == 1 else "mixed"


def _headline_name(entry) -> str:
    """What the headline has one row of: the model, or a late fusion of one set of models."""
    if entry["family"] != "late fusion":
        return entry["model"]
    return entry["model"] + " " + "+".join(model for model, _ in json.loads(entry["params"])["of"])


def _aggregate(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows.assign(label=rows["model"] + " " + rows["params"] + " " + rows["tuned_by"])
    grouped = rows.groupby(["label", "model", "family", "params", "variant", "tuned_by",
                            "model_source"], sort=True)
    out = grouped[list(AGGREGATED)].agg(["mean", "std"])
    out.columns = [f"{metric}_{stat}" for metric, stat in out.columns]
    out["seeds"] = grouped.size()
    out["seed_free"] = grouped["seed"].count() == 0   # its one row has no seed
    out["tuning_trials"] = grouped["tuning_trials"].max()
    return out.reset_index()


def _bootstrap(rows: pd.DataFrame, entries: pd.DataFrame, stats: dict, sessions: list[str]
               ) -> dict[str, dict[str, np.ndarray]]:
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
