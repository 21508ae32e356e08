"""A study's life cycle, start to end: the request checked before any work, the study opened
(or created) and described once (what it tunes on, and its search space), its MLflow run, its
workers run, and their trials logged. ``emorec tune`` runs it (:func:`run_study`)."""

from __future__ import annotations

import optuna

from emorec.cells import MAX_SEED
from emorec.data.dataset import Dataset
from emorec.errors import EmorecError
from emorec.models import MODELS
from emorec.models.describe import search_range
from emorec.tracking.mlflow_store import DEFAULT_TIMEOUT_SECONDS, DEFAULT_TRACKING_URI, connect
from emorec.tuning.liveness import fail_dead_trials
from emorec.tuning.plan import StudyPlan
from emorec.tuning.space import require_search_space
from emorec.tuning.storage import create_study, open_study
from emorec.tuning.study_runs import log_study, study_run
from emorec.tuning.workers import run_workers


def describe(study: optuna.Study, plan: StudyPlan, dataset: Dataset) -> None:
    """Record what the study tunes on (once): model, dataset, fixed params, seed, the search
    space it samples, and the dataset's fingerprint and split so that tuned params are only
    applied to that data."""
    attrs = study.user_attrs
    if "model" not in attrs:
        for key, value in {"model": plan.model, "dataset": str(plan.dataset),
                           "fixed": plan.fixed, "seed": plan.seed}.items():
            study.set_user_attr(key, value)
    if "fingerprint" not in attrs:
        study.set_user_attr("fingerprint", dataset.manifest.fingerprint)
        study.set_user_attr("split_hash", dataset.split().hash)
    if "space" not in attrs:
        fixed = attrs.get("fixed", plan.fixed)
        study.set_user_attr("space", {
            name: search_range(param) for name, param in sorted(
                MODELS.get(plan.model).tunable.items()) if name not in fixed})


def check_request(model: str, fixed: dict) -> None:
    """The model must be registered (else a did-you-mean), have a search space, and take the
    fixed params: checked before any dataset is made or study created."""
    spec = MODELS.get(model)
    require_search_space(spec)
    spec.params(fixed)


def run_study(plan: StudyPlan, workers: int = 1,
              tracking_uri: str = DEFAULT_TRACKING_URI,
              tracking_timeout: float = DEFAULT_TIMEOUT_SECONDS) -> optuna.Study:
    if plan.trials < 1 or workers < 1 or plan.first_worker < 0:
        raise EmorecError("--trials and --workers must be at least 1, --first-worker at least 0")
    if plan.seed + plan.first_worker + workers - 1 > MAX_SEED:
        raise EmorecError(f"--seed {plan.seed} + worker numbers up to "
                          f"{plan.first_worker + workers - 1}: a worker's sampler seed would "
                          f"pass {MAX_SEED}; give a smaller --seed or --first-worker")
    check_request(plan.model, plan.fixed)   # unknown model or parameters: before any work
    dataset = Dataset.load(plan.dataset)   # a missing dataset leaves no study behind,
    connect(tracking_uri, tracking_timeout)   # nor does a store that does not answer
    study, created = open_study(plan)   # (and checks the model) before workers start
    describe(study, plan, dataset)
    parent = study_run(study, plan, tracking_uri, created)
    fail_dead_trials(study)
    own, failed = run_workers(plan, workers)
    study = create_study(plan)
    log_study(study, plan, tracking_uri, parent, own, dataset)
    if failed:
        raise EmorecError(f"{len(failed)} tuning worker(s) failed (exit codes {failed}); the "
                          "trials they finished are kept and logged, rerun the same command "
                          "to finish the study")
    return study
