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
import json
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

from emorec.cells import canonical_params
from emorec.data.frame_rate import frame_rate_folder
from emorec.data.resolve import existing_dataset, resolve_dataset
from emorec.errors import EmorecError
from emorec.models import MODELS
from emorec.sweep.suite_dataset import check_dataset
from emorec.sweep.suite_experiments import Experiment, check_experiments, check_fusion
from emorec.sweep.suite_keys import (
    Bad,
    check_name,
    check_plugins,
    check_seeds,
    check_tables,
    check_top_level,
)


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

    def on_device(self, device: str) -> Suite:
        """This suite with every net's ``device`` param set to ``device`` ("cpu", "cuda",
        "cuda:1"), in its experiments and in the components of its late fusions: the device is
        one of a cell's params, so rows trained there are rows of their own (a GPU's arithmetic
        is not a CPU's)."""
        def placed(model: str, params: dict) -> dict:
            return ({**params, "device": device} if "device" in MODELS.get(model).declared
                    else params)

        experiments = tuple(replace(e, params=MODELS.get(e.model).params(
            placed(e.model, e.params))) for e in self.experiments)
        fusions = tuple((tuple((model, canonical_params(placed(model, json.loads(given))))
                               for model, given in components), methods)
                        for components, methods in self.fusions)
        return replace(self, experiments=experiments, fusions=fusions)

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
        raise Bad

    def checked(default, check, *args):
        """``check(*args, fail)``, or ``default`` when it failed: its problem is kept, the next
        key is checked, and every problem of the file is reported at once."""
        try:
            return check(*args, fail)
        except Bad:
            return default

    checked(None, check_top_level, raw)
    checked(None, check_plugins, raw, path)
    name = checked(path.stem, check_name, raw, path)
    seeds = checked([0], check_seeds, raw)
    real, stand_in, vary, delays, fps = checked((None, {}, (), (), None), check_dataset,
                                                raw.get("dataset", {}))
    feature_sets = real if isinstance(real, tuple) else ()
    experiments = []
    for number, entry in enumerate(checked([], check_tables, raw.get("experiments", []),
                                           "experiments"), start=1):
        experiments += checked([], check_experiments, entry, f"experiments #{number}")
    if not experiments and not problems:
        note("experiments", "none given")
    seen = {}
    for experiment, where in experiments:
        cell = (experiment.model, tuple(sorted(experiment.params.items())))
        if cell in seen:
            note(where, f"the same cell as {seen[cell]} ({experiment.model} with the same "
                        "params): it would run twice")
        seen.setdefault(cell, where)
    fusions = tuple(checked((), check_fusion, entry, f"fuse #{number}", seen)
                    for number, entry in enumerate(
                        checked([], check_tables, raw.get("fuse", []), "fuse"), start=1))
    if problems:
        raise EmorecError("\n".join(problems))
    return Suite(name=name, seeds=tuple(seeds),
                 real_dataset=None if feature_sets else real, stand_in=stand_in,
                 experiments=tuple(e for e, _ in experiments), source=path, vary=vary,
                 delays=delays, fps=fps, fusions=fusions, feature_sets=feature_sets)
