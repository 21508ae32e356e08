"""A suite file's ``[dataset]`` table checked, step by step: its keys, frame rate, real folder
(or list of feature-set folders) and rating delays, then which dataset the suite runs on (its
feature sets, its real dataset alone, or a stand-in), and for a stand-in its kind, size and
seed, its frame rate, the generator factors it sets and those it varies."""

from __future__ import annotations

from pathlib import Path

from emorec.cells import MAX_SEED
from emorec.data import synth_factors, synth_spec
from emorec.data.frame_rate import frame_step
from emorec.data.manifest import positive_number
from emorec.errors import EmorecError
from emorec.sweep.suite_keys import whole_number
from emorec.vocabulary import STAND_IN_KINDS, STAND_IN_SIZES


def check_dataset(dataset, fail) -> tuple[Path | tuple[Path, ...] | None, dict, tuple, tuple,
                                          float | None]:
    """real (a folder, or a tuple of them: feature sets), stand_in, vary, delays, fps."""
    _check_keys(dataset, fail)
    fps = _frame_rate(dataset, fail)
    real = _real(dataset, fail)
    delays = tuple(float(d) for d in _delays(dataset, fail))
    if isinstance(real, list):
        return _feature_sets(real, dataset, fail), {}, (), delays, fps
    if delays or "stand_in" not in dataset:
        return _real_alone(real, dataset, fail), {}, (), delays, fps
    stand_in = _stand_in(dataset, fail)
    _stand_in_frame_rate(stand_in, fps, fail)
    factors = _factors(stand_in, fail)
    vary = _vary(stand_in, factors, real, fail)
    return (Path(real) if real else None), stand_in, vary, (), fps


def _check_keys(dataset, fail) -> None:
    if not isinstance(dataset, dict):
        fail("dataset", f"expected a table with real and stand_in, found {dataset!r}")
    unknown = sorted(set(dataset) - {"real", "stand_in", "delay", "fps"})
    if unknown:
        fail("dataset", f"unknown keys {unknown} (expected real, stand_in, delay, fps)")


def _frame_rate(dataset: dict, fail) -> float | None:
    fps = dataset.get("fps")
    if fps is not None and not positive_number(fps):
        fail("dataset.fps", f"expected a frame rate in frames per second (a number > 0), found "
                            f"{fps!r}")
    return float(fps) if fps is not None else None


def _real(dataset: dict, fail):
    """``real`` as given: None, a folder path or a list of them (checked as feature sets)."""
    real = dataset.get("real")
    if real is not None and not isinstance(real, list) and (not isinstance(real, str)
                                                            or not real):
        fail("dataset.real", f"expected a folder path as text, or a list of them, found "
                             f"{real!r}")
    return real


def _delays(dataset: dict, fail) -> list:
    delays = dataset.get("delay", [])
    if (not isinstance(delays, list) or not all(isinstance(d, int | float)
                                                and not isinstance(d, bool) and 0 <= d <= 30
                                                for d in delays)
            or len(set(delays)) < len(delays)):
        fail("dataset.delay", f"expected a list of distinct delays in seconds (0-30), found "
                              f"{delays!r}")
    return delays


def _feature_sets(real: list, dataset: dict, fail) -> tuple[Path, ...]:
    """``real = [...]``: extractions of the same recordings, run on alone (no stand-in)."""
    if (len(real) < 2 or not all(isinstance(r, str) and r for r in real)
            or len(set(real)) < len(real)):
        fail("dataset.real", f"expected a folder path, or a list of two or more distinct "
                             f"folders (feature sets of the same recordings), found {real!r}")
    if "stand_in" in dataset:
        fail("dataset.stand_in", "a suite with a list of real folders runs on them only: "
                                 "there is no stand-in of their feature sets")
    return tuple(Path(r) for r in real)


def _real_alone(real, dataset: dict, fail) -> Path:
    """A suite with delays, or without a stand-in, runs on its real dataset alone."""
    if not real:
        fail("dataset", "delay, or no stand_in, needs real = the folder of an extracted dataset")
    if "stand_in" in dataset:
        fail("dataset.stand_in", "a suite with delay runs on its real dataset only")
    return Path(real)


def _stand_in(dataset: dict, fail) -> dict:
    """The ``stand_in`` table: its keys, kind, size and seed."""
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
    if not whole_number(seed) or not 0 <= seed <= MAX_SEED:
        fail("dataset.stand_in.seed", f"expected a whole number from 0 to {MAX_SEED}, found "
                                      f"{seed!r}")
    return stand_in


def _stand_in_frame_rate(stand_in: dict, fps: float | None, fail) -> None:
    """The stand-in's own frame rate must be a whole multiple of ``fps``."""
    if fps is not None:
        try:
            frame_step(synth_spec.SPECS[stand_in["kind"]].fps, fps)
        except EmorecError as error:
            fail("dataset.fps", f"the {stand_in['kind']} stand-in: {error}")


def _factors(stand_in: dict, fail) -> dict:
    """``set``: the generator factors the stand-in sets, each checked by the generator."""
    factors = stand_in.get("set", {})
    if not isinstance(factors, dict):
        fail("dataset.stand_in.set", f"expected a table of generator factors, found {factors!r}")
    try:
        synth_factors.with_factors(synth_spec.SPECS[stand_in["kind"]], factors)
    except EmorecError as error:
        fail("dataset.stand_in.set", str(error))
    return factors


def _vary(stand_in: dict, factors: dict, real, fail) -> tuple[tuple[str, tuple], ...]:
    """``vary`` (taken out of the stand-in's table): factor -> values, one stand-in each; not
    with real features, nor a factor that ``set`` sets."""
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
    return tuple((name, tuple(values)) for name, values in sorted(vary.items()))
