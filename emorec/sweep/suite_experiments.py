"""A suite file's ``[[experiments]]`` tables checked into cells (one :class:`Experiment` per
grid point, its params completed and checked by the model) and its ``[[fuse]]`` tables into late
fusions of those cells."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from emorec.cells import canonical_params
from emorec.errors import EmorecError
from emorec.models import MODELS


@dataclass(frozen=True)
class Experiment:
    model: str
    params: dict          # complete: the model's defaults updated with params and one grid point


def check_experiments(entry: dict, where: str, fail) -> list[tuple[Experiment, str]]:
    """The experiment's cells (one per grid point), each params checked by the model."""
    unknown = sorted(set(entry) - {"model", "params", "grid"})
    if unknown:
        fail(where, f"unknown keys {unknown} (expected model, params, grid)")
    if not isinstance(entry.get("model"), str):
        fail(where, f"expected model = \"NAME\", found {entry.get('model')!r}")
    try:
        spec = MODELS.get(entry["model"])
    except EmorecError as error:
        fail(where, str(error))
    fixed = entry.get("params", {})
    if not isinstance(fixed, dict):
        fail(f"{where} params", f"expected a table, found {fixed!r}")
    both = sorted(set(fixed) & set(entry.get("grid", {}) or {}))
    if both:
        fail(where, f"{', '.join(both)} in both params and grid: give each parameter in one")
    # The model's own grid, less what params fix; a suite's grid replaces it.
    grid = entry.get("grid", {k: v for k, v in spec.grid.items() if k not in fixed})
    if not isinstance(grid, dict):
        fail(f"{where} grid", f"expected a table of lists, found {grid!r}")
    for key, values in grid.items():
        if not isinstance(values, list) or not values:
            fail(f"{where} grid.{key}", f"expected a non-empty list, found {values!r}")
    names = list(grid)
    cells = []
    for point in itertools.product(*(grid[k] for k in names)):
        try:
            params = spec.params({**fixed, **dict(zip(names, point, strict=True))})
        except EmorecError as error:
            fail(where, str(error))
        cells.append((Experiment(spec.name, params), where))
    return cells


def check_fusion(entry: dict, where: str, cells: dict, fail) -> tuple:
    """A ``[[fuse]]`` table: ``of`` (two or more {model, params} of the suite's cells) and
    ``method`` (mean and/or blend; both when absent)."""
    unknown = sorted(set(entry) - {"of", "method"})
    if unknown:
        fail(where, f"unknown keys {unknown} (expected of, method)")
    parts = entry.get("of")
    if not isinstance(parts, list) or len(parts) < 2 or not all(
            isinstance(p, dict) and set(p) <= {"model", "params"} and "model" in p
            for p in parts):
        fail(where, "of: expected two or more {model = ..., params = {...}} tables")
    components = []
    for part in parts:
        model, given = part["model"], part.get("params", {})
        if model not in MODELS or not isinstance(given, dict):
            fail(where, f"of: {model!r} with params {given!r} is not a registered model with "
                        "a params table")
        try:
            params = MODELS.get(model).params(given)
        except EmorecError as error:
            fail(where, str(error))
        if (model, tuple(sorted(params.items()))) not in cells:
            fail(where, f"of: {model} {canonical_params(given)} is not one of the suite's "
                        "experiments")
        components.append((model, canonical_params(given)))
    methods = entry.get("method", ["mean", "blend"])
    if (not isinstance(methods, list) or not methods
            or not set(methods) <= {"mean", "blend"} or len(set(methods)) < len(methods)):
        fail(where, f"method: expected a list of mean and/or blend, found {methods!r}")
    return tuple(components), tuple(methods)
