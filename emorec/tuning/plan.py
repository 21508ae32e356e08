"""What a study is asked to do and what every part of it reads alike: the :class:`StudyPlan`,
the sampler and pruner settings recorded with it, the name of its one objective, and which trial
states count as finished or live."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import optuna
from optuna.trial import TrialState

SAMPLER_SETTINGS = {"n_startup_trials": 10, "n_ei_candidates": 24, "multivariate": False}
PRUNER_SETTINGS = {"n_startup_trials": 5, "n_warmup_steps": 2}
OBJECTIVE = "dev_mean_ccc"   # the study's one objective, as named in Optuna and MLflow
FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
LIVE = (*FINISHED, TrialState.RUNNING, TrialState.WAITING)


@dataclass(frozen=True)
class StudyPlan:
    model: str
    dataset: Path
    fixed: dict          # parameters held fixed (overrides of the defaults)
    trials: int          # finished trials the study ends with
    seed: int
    study: str
    storage: str
    timeout: float | None = None   # seconds per worker, after which it starts no new trial
    first_worker: int = 0          # this machine's first worker number (sampler seed offset)
    plugins: tuple[str, ...] = ()  # plugins whose models the workers need (emorec.plugins)


def count(study: optuna.Study, states) -> int:
    return len(study.get_trials(deepcopy=False, states=states))
