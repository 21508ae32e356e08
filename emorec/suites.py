"""Suite files (``benchmarks/*.toml``): which dataset, which seeds, which experiments.

    name = "quick"
    seeds = [0, 1]
    [dataset]
    real = "data/sewa"                                   # used when it holds a dataset
    stand_in = { kind = "sewa", size = "tiny", seed = 0 }  # generated otherwise
    [[experiments]]
    model = "audio_ffnn"
    params = { epochs = 5 }          # fixed parameters
    grid = { window = [1, 2] }       # every combination is a cell (per seed)
"""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import dataclass
from pathlib import Path

from emorec.errors import EmorecError
from emorec.models import MODELS
from emorec.vocabulary import STAND_IN_KINDS


@dataclass(frozen=True)
class Experiment:
    model: str
    params: dict          # complete: the model's defaults updated with params and one grid point


@dataclass(frozen=True)
class Suite:
    name: str
    seeds: tuple[int, ...]
    real_dataset: Path | None
    stand_in: dict
    experiments: tuple[Experiment, ...]
    source: Path


def load_suite(path: str | Path) -> Suite:
    path = Path(path)
    if not path.is_file():
        raise EmorecError(f"{path}: suite file not found")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise EmorecError(f"{path}: not valid TOML ({error})") from None

    def fail(where: str, problem: str):
        raise EmorecError(f"{path}: {where}: {problem}")

    unknown = sorted(set(raw) - {"name", "seeds", "dataset", "experiments"})
    if unknown:
        fail("top level", f"unknown keys {unknown} (expected name, seeds, dataset, experiments)")
    seeds = raw.get("seeds", [0])
    if not seeds or not all(isinstance(s, int) for s in seeds):
        fail("seeds", f"expected a non-empty list of whole numbers, found {seeds!r}")
    dataset = raw.get("dataset", {})
    stand_in = dataset.get("stand_in", {})
    if stand_in.get("kind") not in STAND_IN_KINDS:
        fail("dataset.stand_in.kind", f"expected one of {', '.join(STAND_IN_KINDS)}")
    experiments = []
    for number, entry in enumerate(raw.get("experiments", []), start=1):
        where = f"experiments #{number}"
        unknown = sorted(set(entry) - {"model", "params", "grid"})
        if unknown:
            fail(where, f"unknown keys {unknown} (expected model, params, grid)")
        if "model" not in entry:
            fail(where, "no model")
        try:
            spec = MODELS.get(entry["model"])
        except EmorecError as error:
            fail(where, str(error))
        fixed = entry.get("params", {})
        # The model's own grid, less what params fix; a suite's grid replaces it.
        grid = entry.get("grid", {k: v for k, v in spec.grid.items() if k not in fixed})
        for key, values in grid.items():
            if not isinstance(values, list) or not values:
                fail(f"{where} grid.{key}", f"expected a non-empty list, found {values!r}")
        names = list(grid)
        for point in itertools.product(*(grid[k] for k in names)):
            try:
                params = spec.params({**fixed, **dict(zip(names, point, strict=True))})
            except EmorecError as error:
                fail(where, str(error))
            experiments.append(Experiment(spec.name, params))
    if not experiments:
        fail("experiments", "none given")
    return Suite(name=str(raw.get("name", path.stem)), seeds=tuple(seeds),
                 real_dataset=Path(dataset["real"]) if "real" in dataset else None,
                 stand_in=stand_in, experiments=tuple(experiments), source=path)
