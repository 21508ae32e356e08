"""Suite files (``benchmarks/*.toml``): which dataset, which seeds, which experiments.

    name = "quick"
    seeds = [0, 1]
    [dataset]
    real = "data/sewa"                                   # used when it holds a dataset
    stand_in = { kind = "sewa", size = "tiny", seed = 0 }  # generated when data/sewa is absent
    # (a real path elsewhere that holds no dataset is refused: EMOREC_STAND_IN=1 runs the
    # stand-in anyway)
    # set = { lag = 2 } sets generator factors; vary = { lag = [0, 1, 2] } runs every cell on
    # one stand-in per value (stand-ins only: a study of what the generator decides)
    # delay = [0, 1, 2] (with real = an `emorec extract` dataset, stand_in optional) runs
    # every cell on the dataset's ratings aligned again at each rating delay (seconds)
    # real = ["data/mine", "data/mine-egemaps"] (extractions of the same recordings with other
    # features, each its own --name; no stand_in) runs every cell on each: feature sets side
    # by side (with delay: every feature set at every delay)
    # fps = 5 runs on the dataset (real or stand-in) sampled to 5 frames per second
    [[experiments]]
    model = "audio_ffnn"
    params = { epochs = 5 }          # fixed parameters
    grid = { window = [1, 2] }       # every combination is a cell (per seed; once if seed-free)

A suite may use models from outside emorec: ``plugins = ["my_models.py"]`` (files relative to
the suite file, or importable module names; :mod:`emorec.plugins`).
"""

from __future__ import annotations

import itertools
import re
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from emorec import plugins
from emorec.cells import MAX_SEED, canonical_params
from emorec.data import synth_factors, synth_spec
from emorec.data.frame_rate import frame_rate_folder, frame_step
from emorec.data.manifest import positive_number
from emorec.data.resolve import existing_dataset, resolve_dataset
from emorec.errors import EmorecError
from emorec.models import MODELS
from emorec.vocabulary import STAND_IN_KINDS, STAND_IN_SIZES


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
    vary: tuple[tuple[str, tuple[float, ...]], ...] = ()   # factor -> values, one stand-in each
    delays: tuple[float, ...] = ()   # rating delays, one dataset derived from the real one each
    fps: float | None = None   # the frame rate to sample the dataset to; None: its own
    # late fusions made once the cells are in: ((model, given params) per component, methods)
    fusions: tuple[tuple[tuple[tuple[str, str], ...], tuple[str, ...]], ...] = ()
    feature_sets: tuple[Path, ...] = ()   # real = [...]: extractions of the same recordings

    def each_dataset(self) -> list[Suite]:
        """One suite per feature set (then per rating delay), per stand-in the suite varies
        over, or per rating delay (the delayed datasets are derived beside the real one now,
        when missing or out of date, from the real one at the suite's frame rate:
        ``<name>-5fps-delay1``); itself when it varies nothing."""
        if self.feature_sets:
            from emorec.data.feature_sets import check_feature_sets

            check_feature_sets(self.feature_sets, f"{self.source}: dataset.real",
                               fps_given=self.fps is not None, delays_given=bool(self.delays))
            return [one for folder in self.feature_sets
                    for one in replace(self, feature_sets=(), real_dataset=folder).each_dataset()]
        if self.delays or not self.stand_in:
            from emorec.data.label_align import delayed_datasets

            base = frame_rate_folder(existing_dataset(self.real_dataset, f"{self.source}"),
                                     self.fps)
            return [replace(self, delays=(), real_dataset=path)
                    for path in delayed_datasets(base, self.delays)]
        if not self.vary:
            return [self]
        names = [name for name, _ in self.vary]
        return [replace(self, vary=(), stand_in={**self.stand_in, "set": {
                    **self.stand_in.get("set", {}), **dict(zip(names, point, strict=True))}})
                for point in itertools.product(*(values for _, values in self.vary))]

    def dataset_path(self, data_dir: Path) -> Path:
        """The folder this suite runs on: its real dataset when present, else its stand-in
        (generated once under ``data_dir``); at the suite's frame rate, derived beside it."""
        if self.feature_sets:
            raise EmorecError(f"{self.source}: dataset.real lists {len(self.feature_sets)} "
                              "feature sets; this runs on one dataset: expected a suite with "
                              "one real folder, or the folder itself")
        return frame_rate_folder(resolve_dataset(self.real_dataset, self.stand_in, data_dir,
                                                 f"suite {self.name}", self.source), self.fps)


def load_suite(path: str | Path) -> Suite:
    """Read and check a whole suite file before anything runs: every key's type, the stand-in's
    kind, size and seed, every grid value against the model's declared parameters, and no
    seed or cell twice. EmorecError names the file and the place."""
    path = Path(path)
    if path.is_dir():
        suites = sorted(p.name for p in path.glob("*.toml"))
        raise EmorecError(f"{path}: a folder; expected a suite file"
                          + (f", e.g. one of {', '.join(suites)}" if suites else " (.toml)"))
    if not path.is_file():
        raise EmorecError(f"{path}: suite file not found")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as error:
        raise EmorecError(f"{path}: not UTF-8 text (byte {error.start})") from None
    except tomllib.TOMLDecodeError as error:
        raise EmorecError(f"{path}: not valid TOML ({error})") from None

    problems: list[str] = []

    def note(where: str, problem: str) -> None:
        problems.append(f"{path}: {where}: {problem}")

    def fail(where: str, problem: str):
        note(where, problem)
        raise _Bad

    def checked(default, check, *args):
        """``check(*args, fail)``, or ``default`` when it failed: its problem is kept, the next
        key is checked, and every problem of the file is reported at once."""
        try:
            return check(*args, fail)
        except _Bad:
            return default

    checked(None, _top_level, raw)
    checked(None, _plugins, raw, path)
    name = checked(path.stem, _name, raw, path)
    seeds = checked([0], _seeds, raw)
    real, stand_in, vary, delays, fps = checked((None, {}, (), (), None), _dataset,
                                                raw.get("dataset", {}))
    feature_sets = real if isinstance(real, tuple) else ()
    experiments = []
    for number, entry in enumerate(checked([], _tables, raw.get("experiments", []),
                                           "experiments"), start=1):
        experiments += checked([], _experiments, entry, f"experiments #{number}")
    if not experiments and not problems:
        note("experiments", "none given")
    seen = {}
    for experiment, where in experiments:
        cell = (experiment.model, tuple(sorted(experiment.params.items())))
        if cell in seen:
            note(where, f"the same cell as {seen[cell]} ({experiment.model} with the same "
                        "params): it would run twice")
        seen.setdefault(cell, where)
    fusions = tuple(checked((), _fusion, entry, f"fuse #{number}", seen)
                    for number, entry in enumerate(
                        checked([], _tables, raw.get("fuse", []), "fuse"), start=1))
    if problems:
        raise EmorecError("\n".join(problems))
    return Suite(name=name, seeds=tuple(seeds),
                 real_dataset=None if feature_sets else real, stand_in=stand_in,
                 experiments=tuple(e for e, _ in experiments), source=path, vary=vary,
                 delays=delays, fps=fps, fusions=fusions, feature_sets=feature_sets)


class _Bad(Exception):
    """A problem of a suite file, recorded; its check stops there."""


def _top_level(raw: dict, fail) -> None:
    unknown = sorted(set(raw) - {"name", "seeds", "dataset", "experiments", "plugins", "fuse"})
    if unknown:
        fail("top level", f"unknown keys {unknown} (expected name, seeds, dataset, experiments, "
                          "plugins, fuse)")


def _plugins(raw: dict, path: Path, fail) -> None:
    named = raw.get("plugins", [])
    if not isinstance(named, list) or not all(isinstance(p, str) and p for p in named):
        fail("plugins", f"expected a list of .py files or module names, found {named!r}")
    for plugin in named:
        try:
            plugins.load(plugin, relative_to=path.parent if plugin.endswith(".py") else None)
        except EmorecError as error:
            fail("plugins", str(error))


def _name(raw: dict, path: Path, fail) -> str:
    name = raw.get("name", path.stem)
    if (not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name)):
        fail("name", "expected letters, digits and . _ - (it names files and MLflow "
                     f"experiments), found {name!r}")
    return name


def _seeds(raw: dict, fail) -> list[int]:
    seeds = raw.get("seeds", [0])
    if (not isinstance(seeds, list) or not seeds
            or not all(_whole_number(seed) and 0 <= seed <= MAX_SEED for seed in seeds)):
        fail("seeds", f"expected a non-empty list of whole numbers from 0 to {MAX_SEED}, found "
                      f"{seeds!r}")
    if len(set(seeds)) < len(seeds):
        fail("seeds", f"a seed is listed twice: {seeds!r}")
    return seeds


def _tables(entries, where: str, fail) -> list[dict]:
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        fail(where, f"expected [[{where}]] tables")
    return entries


def _fusion(entry: dict, where: str, cells: dict, fail) -> tuple:
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


def _dataset(dataset, fail) -> tuple[Path | tuple[Path, ...] | None, dict, tuple, tuple,
                                     float | None]:
    """real (a folder, or a tuple of them: feature sets), stand_in, vary, delays, fps."""
    if not isinstance(dataset, dict):
        fail("dataset", f"expected a table with real and stand_in, found {dataset!r}")
    unknown = sorted(set(dataset) - {"real", "stand_in", "delay", "fps"})
    if unknown:
        fail("dataset", f"unknown keys {unknown} (expected real, stand_in, delay, fps)")
    fps = dataset.get("fps")
    if fps is not None and not positive_number(fps):
        fail("dataset.fps", f"expected a frame rate in frames per second (a number > 0), found "
                            f"{fps!r}")
    fps = float(fps) if fps is not None else None
    real = dataset.get("real")
    if real is not None and not isinstance(real, list) and (not isinstance(real, str)
                                                            or not real):
        fail("dataset.real", f"expected a folder path as text, or a list of them, found "
                             f"{real!r}")
    delays = dataset.get("delay", [])
    if (not isinstance(delays, list) or not all(isinstance(d, int | float)
                                                and not isinstance(d, bool) and 0 <= d <= 30
                                                for d in delays)
            or len(set(delays)) < len(delays)):
        fail("dataset.delay", f"expected a list of distinct delays in seconds (0-30), found "
                              f"{delays!r}")
    if isinstance(real, list):
        if (len(real) < 2 or not all(isinstance(r, str) and r for r in real)
                or len(set(real)) < len(real)):
            fail("dataset.real", f"expected a folder path, or a list of two or more distinct "
                                 f"folders (feature sets of the same recordings), found {real!r}")
        if "stand_in" in dataset:
            fail("dataset.stand_in", "a suite with a list of real folders runs on them only: "
                                     "there is no stand-in of their feature sets")
        return (tuple(Path(r) for r in real), {}, (), tuple(float(d) for d in delays), fps)
    if (delays or "stand_in" not in dataset) and not real:
        fail("dataset", "delay, or no stand_in, needs real = the folder of an extracted dataset")
    if "stand_in" not in dataset or delays:
        if "stand_in" in dataset:
            fail("dataset.stand_in", "a suite with delay runs on its real dataset only")
        return Path(real), {}, (), tuple(float(d) for d in delays), fps
    stand_in = dataset.get("stand_in", {})
    if not isinstance(stand_in, dict):
        fail("dataset.stand_in", f"expected a table, found {stand_in!r}")
    unknown = sorted(set(stand_in) - {"kind", "size", "seed", "set", "vary"})
    if unknown:
        fail("dataset.stand_in", f"unknown keys {unknown} (expected kind, size, seed, set, "
                                 "vary)")
    if stand_in.get("kind") not in STAND_IN_KINDS:
        fail("dataset.stand_in.kind", f"expected one of {', '.join(STAND_IN_KINDS)}, found "
                                      f"{stand_in.get('kind')!r}")
    if stand_in.get("size", "full") not in STAND_IN_SIZES:
        fail("dataset.stand_in.size", f"expected one of {', '.join(STAND_IN_SIZES)}, found "
                                      f"{stand_in.get('size')!r}")
    seed = stand_in.get("seed", 0)
    if not _whole_number(seed) or not 0 <= seed <= MAX_SEED:
        fail("dataset.stand_in.seed", f"expected a whole number from 0 to {MAX_SEED}, found "
                                      f"{seed!r}")
    if fps is not None:
        try:
            frame_step(synth_spec.SPECS[stand_in["kind"]].fps, fps)
        except EmorecError as error:
            fail("dataset.fps", f"the {stand_in['kind']} stand-in: {error}")
    factors = stand_in.get("set", {})
    if not isinstance(factors, dict):
        fail("dataset.stand_in.set", f"expected a table of generator factors, found {factors!r}")
    try:
        synth_factors.with_factors(synth_spec.SPECS[stand_in["kind"]], factors)
    except EmorecError as error:
        fail("dataset.stand_in.set", str(error))
    vary = stand_in.pop("vary", {})
    if not isinstance(vary, dict) or not all(isinstance(v, list) and v for v in vary.values()):
        fail("dataset.stand_in.vary", f"expected a table of non-empty lists of factor values, "
                                      f"found {vary!r}")
    if vary and real:
        fail("dataset.stand_in.vary", "a suite that varies the stand-in's factors studies the "
                                      "generator: it cannot also name real features")
    for name, values in vary.items():
        if name in factors:
            fail("dataset.stand_in.vary", f"{name} is both set and varied")
        if len(set(values)) < len(values):
            fail(f"dataset.stand_in.vary.{name}", f"a value is listed twice: {values!r}")
        for value in values:
            try:
                synth_factors.with_factors(synth_spec.SPECS[stand_in["kind"]], {name: value})
            except EmorecError as error:
                fail(f"dataset.stand_in.vary.{name}", str(error))
    return ((Path(real) if real else None), stand_in,
            tuple((name, tuple(values)) for name, values in sorted(vary.items())), (), fps)


def _experiments(entry: dict, where: str, fail) -> list[tuple[Experiment, str]]:
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


def _whole_number(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
