"""Sampling a model's declared search space (each :class:`~emorec.models.params.Param`'s
``tune`` range) in a trial."""

from __future__ import annotations

import optuna

from emorec.errors import EmorecError
from emorec.models import ModelSpec


def require_search_space(spec: ModelSpec) -> None:
    if not spec.tunable:
        raise EmorecError(f"model {spec.name!r} has no search space to tune")


def suggest(trial: optuna.Trial, spec: ModelSpec, fixed: dict) -> dict:
    """Sample every tunable parameter of the model that ``fixed`` does not hold, in name
    order."""
    params = {}
    for name, param in sorted(spec.tunable.items()):
        if name in fixed:
            continue
        if param.kind == "choice":
            choices = param.choices if param.tune is True else param.tune
            params[name] = trial.suggest_categorical(name, list(choices))
        elif param.kind == "int":
            params[name] = trial.suggest_int(name, *param.tune, log=param.log)
        else:
            params[name] = trial.suggest_float(name, *param.tune, log=param.log)
    return params
