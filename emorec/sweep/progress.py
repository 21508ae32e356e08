"""A sweep's progress bar: cells weighted by their expected fit time (earlier rows of the same
model and window), so the time left follows the expensive cells, with the cells being fitted
named."""

from __future__ import annotations

import json

import pandas as pd
from tqdm import tqdm

from emorec.models import MODELS


def estimated_seconds(cells: list, history: pd.DataFrame, dataset: str) -> dict:
    """Each cell's expected fit time from earlier results: the cell's own row, else the same
    model and window on this dataset, else that model anywhere, else its family's mean."""
    history = history.assign(window=[float(json.loads(p).get("window") or -1.0)
                                     for p in history["params"]])
    own = history.drop_duplicates("cell_key", keep="last").set_index("cell_key")["fit_seconds"]
    same = (history[history["dataset"] == dataset]
            .groupby(["model", "window"])["fit_seconds"].mean())
    by_model = history.groupby("model")["fit_seconds"].mean()
    by_family = history.groupby("family")["fit_seconds"].mean()
    costs = {}
    for cell in cells:
        window = cell.params.get("window")
        window = -1.0 if window is None else float(window)
        family = MODELS.get(cell.model).family
        for table, key in ((own, cell.key), (same, (cell.model, window)),
                           (by_model, cell.model), (by_family, family)):
            if key in table.index:
                costs[cell.key] = max(float(table[key]), 0.1)
                break
        else:
            costs[cell.key] = 10.0
    return costs


class Progress:
    """A bar over the cells' estimated seconds (so the ETA follows the expensive cells), with
    the count done and the cells being fitted now."""

    def __init__(self, cells: list, costs: dict, name):
        self.costs, self.name = costs, name   # name(cell) -> how a person reads the cell
        self.total, self.done, self.running = len(cells), 0, {}
        self.bar = tqdm(total=round(sum(costs[c.key] for c in cells), 1), unit="s",
                        desc=f"cells 0/{self.total}", dynamic_ncols=True,
                        bar_format="{desc} {percentage:3.0f}%|{bar:20}| {elapsed}<{remaining}"
                                   "{postfix}")
        self._show()

    def started(self, cell) -> None:
        self.running[cell.key] = self.name(cell)
        self._show()

    def finished(self, cell) -> None:
        self.running.pop(cell.key, None)
        self.done += 1
        self.bar.update(self.costs[cell.key])
        self._show()

    def close(self) -> None:
        self.bar.close()

    def _show(self) -> None:
        self.bar.set_description_str(f"cells {self.done}/{self.total}", refresh=False)
        now = "; ".join(self.running.values())
        self.bar.set_postfix_str(f"fitting {now}" if now else "", refresh=True)
