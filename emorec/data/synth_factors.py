"""The named generator factors (``lag``, ``rater_noise``, ``face_baseline``, ``audio_emotion``,
``missing_face``) that experiments vary: each with its meaning, unit, range and how it reads and
sets a ``StandInSpec``; a spec with factors set and checked, and the naming they give a stand-in
(``sewa-synth-small-lag2``) with its inverse, which a factor study reads its levels from.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from emorec.data.frame_rate import RATE_SUFFIX
from emorec.data.synth_spec import LAG_SPREAD, MAX_LAG_S, SIZES, SPECS, StandInSpec
from emorec.errors import EmorecError


@dataclass(frozen=True)
class Factor:
    """A generator setting that decides what a stand-in can show, named so that experiments
    (a suite's ``stand_in.set``, ``emorec data synth --set``) can vary it."""

    meaning: str
    unit: str      # of the value, for axes and tables ("" for a pure number)
    low: float
    high: float
    get: Callable[[StandInSpec], float]
    set: Callable[[StandInSpec, float], StandInSpec]


FACTORS = {
    "lag": Factor(
        "seconds the raters lag the face (mean over sessions; its spread across sessions is "
        f"{LAG_SPREAD:g} of the mean)", "s", 0.0, MAX_LAG_S,
        lambda spec: spec.rater_lag_s[0],
        lambda spec, v: replace(spec, rater_lag_s=(v, v * LAG_SPREAD))),
    "rater_noise": Factor(
        "std of the raters' slow noise on the label scale (their fast noise keeps its share of "
        "it)", "", 0.0, 0.5,
        lambda spec: spec.rater_noise_slow,
        lambda spec, v: replace(spec, rater_noise_slow=v, rater_noise_fast=v * _share(
            spec.rater_noise_slow, spec.rater_noise_fast))),
    "face_baseline": Factor(
        "share of a subject's emotional baseline that the face shows (pooled CCC credits "
        "predicting it)", "", 0.0, 1.0,
        lambda spec: spec.baseline_in_face,
        lambda spec, v: replace(spec, baseline_in_face=v)),
    "audio_emotion": Factor(
        "gain of the subject's emotion in the voice (1: as specified; 0: audio carries none)",
        "", 0.0, 5.0,
        lambda spec: spec.audio_emotion,
        lambda spec, v: replace(spec, audio_emotion=v)),
    "missing_face": Factor(
        "bursts of frames without a detected face, per minute", "per minute", 0.0, 20.0,
        lambda spec: spec.face_loss_rate_per_min,
        lambda spec, v: replace(spec, face_loss_rate_per_min=v)),
}


def _share(whole: float, part: float) -> float:
    return part / whole if whole else 0.0


def with_factors(spec: StandInSpec, factors: dict | None) -> tuple[StandInSpec, dict]:
    """``spec`` with the named factors set, and those of them that differ from its own values
    (they name the dataset). EmorecError for an unknown name or a value out of range."""
    changed = {}
    for name, value in sorted((factors or {}).items()):
        if name not in FACTORS:
            raise EmorecError(f"unknown stand-in factor {name!r} (known: "
                              f"{', '.join(FACTORS)})")
        factor = FACTORS[name]
        if (isinstance(value, bool) or not isinstance(value, int | float)
                or not factor.low <= value <= factor.high):
            raise EmorecError(f"stand-in factor {name} must be a number in "
                              f"[{factor.low:g}, {factor.high:g}], found {value!r}")
        if float(value) != factor.get(spec):
            spec = factor.set(spec, float(value))
            changed[name] = float(value)
    return spec, changed


def factor_suffix(changed: dict) -> str:
    """``-lag0-rater_noise0.07``: the changed factors, as they extend a stand-in's name."""
    return "".join(f"-{name}{value:g}" for name, value in sorted(changed.items()))


_FACTOR_PART = re.compile(rf"-({'|'.join(FACTORS)})(\d+(?:\.\d+)?(?:e[-+]?\d+)?)$")


def split_name(name: str) -> tuple[str, dict[str, float]] | None:
    """``sewa-synth-small-lag2`` -> (``sewa-synth-small``, {"lag": 2.0}); None for a name that
    is not a stand-in's. The inverse of the naming :func:`emorec.data.synth.generate` does. A
    stand-in sampled to another frame rate keeps its rate with its base: ``sewa-synth-lag2-1fps``
    -> (``sewa-synth-1fps``, {"lag": 2.0})."""
    rate = RATE_SUFFIX.search(name)
    if rate:
        name = name[:rate.start()]
    factors = {}
    while match := _FACTOR_PART.search(name):
        factors[match.group(1)] = float(match.group(2))
        name = name[:match.start()]
    spec = next((spec for spec in SPECS.values()
                 if name == spec.name or name.removeprefix(spec.name + "-") in SIZES), None)
    return None if spec is None else (name + (rate.group(0) if rate else ""), factors)


def own_value(base_name: str, factor: str) -> float:
    """The value a stand-in named ``base_name`` (no factors changed) has for ``factor``."""
    spec = next(spec for spec in SPECS.values()
                if base_name == spec.name or base_name.startswith(spec.name + "-"))
    return FACTORS[factor].get(spec)
