"""Optuna studies over any registered model's search space (DESIGN.md "Tuning and scale").

- The search space is the model's registry metadata: ``name -> ("int", lo, hi) | ("float", lo,
  hi) | ("log", lo, hi) | ("categorical", *choices)``; everything else is the model's defaults
  (or ``--param`` overrides, e.g. the window).
- Objective: dev CCC (mean of valence and arousal), maximised; test is never touched.
- TPE sampler with an explicit seed and settings (``SAMPLER_SETTINGS``); worker ``w`` of ``K``
  seeds its sampler with ``seed + w`` so parallel workers do not propose the same first trials.
  A MedianPruner stops nets whose per-epoch dev CCC falls below the median of earlier trials.
- Storage: a journal file (default ``optuna.journal`` next to ``mlflow.db``; several worker
  processes on one machine) or any SQLAlchemy URL (``postgresql://...`` for several machines).
- Workers run trials and write only to the Optuna storage; the main process then logs the
  study as one MLflow run with a nested run per trial (params, dev metrics, state, per-epoch
  dev CCC), so the SQLite MLflow store keeps a single writer. Reruns log only new trials.
"""

from __future__ import annotations

import logging
import multiprocessing
from dataclasses import dataclass
from pathlib import Path

import mlflow
import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from emorec.data.dataset import Dataset
from emorec.errors import EmorecError
from emorec.metrics import regression_metrics
from emorec.models import MODELS, ModelSpec, build_view

log = logging.getLogger(__name__)

DEFAULT_STORAGE = "optuna.journal"
SAMPLER_SETTINGS = {"n_startup_trials": 10, "n_ei_candidates": 24, "multivariate": False}
PRUNER_SETTINGS = {"n_startup_trials": 5, "n_warmup_steps": 2}


@dataclass(frozen=True)
class StudyPlan:
    model: str
    dataset: Path
    fixed: dict          # parameters held fixed (overrides of the defaults)
    trials: int
    seed: int
    study: str
    storage: str
    timeout: float | None = None


def open_storage(storage: str):
    """A URL with ``://`` is an SQLAlchemy URL (RDB storage); anything else a journal file."""
    if "://" in storage:
        return storage
    Path(storage).parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(storage)))


def suggest(trial: optuna.Trial, spec: ModelSpec) -> dict:
    """Sample every parameter of the model's search space."""
    if not spec.search_space:
        raise EmorecError(f"model {spec.name!r} has no search space to tune")
    params = {}
    for name, (kind, *args) in sorted(spec.search_space.items()):
        if kind == "int":
            params[name] = trial.suggest_int(name, *args)
        elif kind == "float":
            params[name] = trial.suggest_float(name, *args)
        elif kind == "log":
            params[name] = trial.suggest_float(name, *args, log=True)
        elif kind == "categorical":
            params[name] = trial.suggest_categorical(name, list(args))
        else:
            raise EmorecError(f"model {spec.name!r}: unknown search space kind {kind!r} "
                              f"for {name}")
    return params


def sampler(seed: int) -> optuna.samplers.TPESampler:
    return optuna.samplers.TPESampler(seed=seed, **SAMPLER_SETTINGS)


def create_study(plan: StudyPlan, worker: int = 0) -> optuna.Study:
    study = optuna.create_study(storage=open_storage(plan.storage), study_name=plan.study,
                                direction="maximize", load_if_exists=True,
                                sampler=sampler(plan.seed + worker),
                                pruner=optuna.pruners.MedianPruner(**PRUNER_SETTINGS))
    known = study.user_attrs.get("model")
    if known is not None and known != plan.model:
        raise EmorecError(f"study {plan.study!r} in {plan.storage} tunes {known!r}, "
                          f"not {plan.model!r}")
    if known is None:
        for key, value in {"model": plan.model, "dataset": str(plan.dataset),
                           "fixed": plan.fixed, "seed": plan.seed}.items():
            study.set_user_attr(key, value)
    return study


class Objective:
    """Dev CCC of one model with sampled params; the views are built once per worker."""

    def __init__(self, plan: StudyPlan):
        self.plan = plan
        self.spec = MODELS.get(plan.model)
        dataset = Dataset.load(plan.dataset)
        params = self.spec.params(plan.fixed)
        self.views = {p: build_view(dataset, self.spec, params, p) for p in ("train", "dev")}

    def __call__(self, trial: optuna.Trial) -> float:
        params = self.spec.params({**self.plan.fixed, **suggest(trial, self.spec)})
        trial.set_user_attr("params", params)
        estimator = self.spec.build(params, self.plan.seed)
        if hasattr(estimator, "on_epoch"):
            def report(epoch: int, scores: dict) -> None:
                trial.report(scores["dev_mean_ccc"], epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned(f"dev CCC {scores['dev_mean_ccc']:.3f} at "
                                             f"epoch {epoch}")
            estimator.on_epoch = report
        estimator.fit(self.views["train"], self.views["dev"])
        dev = self.views["dev"].frames
        scores = regression_metrics(dev.labels, estimator.predict(self.views["dev"]),
                                    dev.session)
        trial.set_user_attr("dev_metrics", {f"dev_{k}": float(v) for k, v in scores.items()})
        return float(scores["mean_ccc"])


def _work(plan: StudyPlan, worker: int, trials: int) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = create_study(plan, worker)
    study.optimize(Objective(plan), n_trials=trials, timeout=plan.timeout)


def shares(trials: int, workers: int) -> list[int]:
    """Trials per worker, adding up to ``trials``."""
    return [trials // workers + (w < trials % workers) for w in range(workers)]


def run_study(plan: StudyPlan, workers: int = 1,
              tracking_uri: str = "sqlite:///mlflow.db") -> optuna.Study:
    if plan.trials < 1 or workers < 1:
        raise EmorecError("--trials and --workers must be at least 1")
    spec = MODELS.get(plan.model)
    if not spec.search_space:
        raise EmorecError(f"model {spec.name!r} has no search space to tune")
    spec.params(plan.fixed)   # unknown parameters fail before any work
    create_study(plan)   # creates it (and checks the model) before workers start
    counts = [n for n in shares(plan.trials, workers) if n]
    failed = []
    if len(counts) == 1:
        _work(plan, 0, counts[0])
    else:
        context = multiprocessing.get_context("spawn")
        processes = [context.Process(target=_work, args=(plan, w, n))
                     for w, n in enumerate(counts)]
        for process in processes:
            process.start()
        for process in processes:
            process.join()
        failed = [p.exitcode for p in processes if p.exitcode != 0]
    study = create_study(plan)
    log_study(study, plan, tracking_uri)
    if failed:
        raise EmorecError(f"{len(failed)} tuning worker(s) failed (exit codes {failed}); the "
                          "trials they finished are kept and logged, rerun to add more")
    return study


def log_study(study: optuna.Study, plan: StudyPlan, tracking_uri: str) -> None:
    """One MLflow run for the study, a nested run per finished trial not logged before."""
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(f"emorec/tune/{plan.model}")
    existing = mlflow.search_runs(filter_string=f"tags.study = '{plan.study}'",
                                  output_format="list")
    parents = [r for r in existing if r.data.tags.get("kind") == "study"]
    logged = {r.data.tags.get("trial") for r in existing if r.data.tags.get("kind") == "trial"}
    tags = {"study": plan.study, "storage": plan.storage, "model": plan.model,
            "dataset": str(plan.dataset)}
    done = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED,
            optuna.trial.TrialState.FAIL)
    with mlflow.start_run(run_id=parents[0].info.run_id if parents else None,
                          run_name=None if parents else f"study {plan.study}",
                          tags={**tags, "kind": "study"}):
        for trial in study.get_trials(deepcopy=False, states=done):
            if str(trial.number) in logged:
                continue
            with mlflow.start_run(run_name=f"trial {trial.number}", nested=True,
                                  tags={**tags, "kind": "trial", "trial": str(trial.number),
                                        "state": trial.state.name}):
                mlflow.log_params({**trial.user_attrs.get("params", trial.params),
                                   "seed": plan.seed})
                mlflow.log_metrics(trial.user_attrs.get("dev_metrics", {}))
                for step, value in sorted(trial.intermediate_values.items()):
                    mlflow.log_metric("epoch/dev_mean_ccc", value, step=step)
        finished = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
        if finished:
            mlflow.log_metric("best_dev_mean_ccc", study.best_value)
            mlflow.log_dict({"trial": study.best_trial.number,
                             "params": study.best_trial.user_attrs.get("params")},
                            "best_params.json")
