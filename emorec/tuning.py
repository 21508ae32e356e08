"""Optuna studies over any registered model's search space (DESIGN.md "Tuning and scale").

- The search space is the model's registry metadata: ``name -> ("int", lo, hi) | ("float", lo,
  hi) | ("log", lo, hi) | ("categorical", *choices)``; everything else is the model's defaults
  (or ``--param`` overrides, e.g. the window).
- Objective: dev CCC (mean of valence and arousal), maximised; test is never touched.
- TPE sampler with an explicit seed and settings (``SAMPLER_SETTINGS``); worker ``w`` seeds its
  sampler with ``seed + w`` so parallel workers do not propose the same first trials. A
  machine's workers are numbered from ``first_worker`` (``--first-worker``), so that machines
  sharing a study get distinct sampler seeds too.
  A MedianPruner stops nets whose per-epoch dev CCC falls below the median of earlier trials.
- ``--trials N`` is the size of the study: it ends with exactly N finished (complete or pruned)
  trials, however many workers on however many machines take part, and a rerun after a crash
  only tops it up. A worker starts a trial only while fewer than N trials are finished, running
  or queued; a trial that loses that race (its number ranks N or later among them) is closed
  as FAIL with the user attr ``surplus`` before any work. A trial that fails (a diverged net)
  frees its place for another.
- Dead workers: every trial records ``host:pid`` of its worker. A RUNNING trial whose worker
  process no longer exists on this host is failed and its params queued again
  (``RetryHeartbeatStaleTrialCallback``), by every ``emorec tune`` and worker on that host. On
  an RDB storage workers also send heartbeats, so a trial of a machine that died is failed and
  retried by the others after ``HEARTBEAT["grace_period"]`` seconds.
- Storage: a journal file (default ``optuna.journal`` next to ``mlflow.db``; several worker
  processes on one machine) or any SQLAlchemy URL (``postgresql://...`` for several machines).
- Workers run trials and write only to the Optuna storage; the main process then logs the
  study as one MLflow run with a nested run per finished trial (params, dev metrics, state,
  per-epoch dev CCC), so the SQLite MLflow store keeps a single writer. The process that
  created the study creates its MLflow run and records the run id in the study; each
  ``emorec tune`` logs the trials its own workers ran (and those of dead workers on its host
  not logged yet), so machines sharing a study log every trial once.
- ``emorec bench SUITE --params-from STUDY`` runs the study's model with its best trial's
  params on the suite's seeds (``tuned_params``): the "tuned" rows of the leaderboard.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import socket
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import mlflow
import optuna
import torch
from mlflow.tracking import MlflowClient
from optuna.storages import JournalStorage, RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from emorec.data.dataset import Dataset
from emorec.errors import EmorecError
from emorec.metrics import regression_metrics
from emorec.models import MODELS, ModelSpec, build_view
from emorec.tracking import use_experiment

log = logging.getLogger(__name__)
# Heartbeats and their retry callback are stable in use since Optuna 2.8 but still flagged.
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning,
                        module=r"emorec\.tuning")

DEFAULT_STORAGE = "optuna.journal"
SAMPLER_SETTINGS = {"n_startup_trials": 10, "n_ei_candidates": 24, "multivariate": False}
PRUNER_SETTINGS = {"n_startup_trials": 5, "n_warmup_steps": 2}
HEARTBEAT = {"heartbeat_interval": 60, "grace_period": 300}   # RDB storages only
MAX_RETRY = 2            # a dead worker's trial is run again at most this often
WAIT_SECONDS = 5.0       # a worker with nothing to start polls this often for stragglers
STUDY_RUN_WAIT_SECONDS = 60.0   # how long a machine waits for the study creator's MLflow run
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


@dataclass(frozen=True)
class Tuned:
    """The best trial of a study, for ``emorec bench --params-from``."""
    study: str
    storage: str
    model: str
    params: dict
    trial: int
    dev_mean_ccc: float
    finished: int
    fingerprint: str | None
    split_hash: str | None


class SurplusTrial(EmorecError):
    """The study already has its N trials finished, running or queued."""


def open_storage(storage: str):
    """A URL with ``://`` is an SQLAlchemy URL (RDB storage, with heartbeats); anything else a
    journal file."""
    if "://" in storage:
        return RDBStorage(storage, **HEARTBEAT, heartbeat_stale_trial_callback=_retry())
    Path(storage).parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(storage)))


def _retry() -> RetryHeartbeatStaleTrialCallback:
    return RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)


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
    return open_study(plan, worker)[0]


def open_study(plan: StudyPlan, worker: int = 0) -> tuple[optuna.Study, bool]:
    """The study, and whether this call created it: of several processes (machines) starting
    one study together exactly one creates it, as the storage keeps study names unique."""
    settings = {"storage": open_storage(plan.storage), "study_name": plan.study,
                "sampler": sampler(plan.seed + worker),
                "pruner": optuna.pruners.MedianPruner(**PRUNER_SETTINGS)}
    try:
        study, created = optuna.create_study(direction="maximize", **settings), True
    except optuna.exceptions.DuplicatedStudyError:
        study, created = optuna.load_study(**settings), False
    known = study.user_attrs.get("model")
    if known is not None and known != plan.model:
        raise EmorecError(f"study {plan.study!r} in {plan.storage} tunes {known!r}, "
                          f"not {plan.model!r}")
    return study, created


def describe(study: optuna.Study, plan: StudyPlan) -> None:
    """Record what the study tunes on (once): model, dataset, fixed params, seed, and the
    dataset's fingerprint and split so that tuned params are only applied to that data."""
    attrs = study.user_attrs
    if "model" not in attrs:
        for key, value in {"model": plan.model, "dataset": str(plan.dataset),
                           "fixed": plan.fixed, "seed": plan.seed}.items():
            study.set_user_attr(key, value)
    if "fingerprint" not in attrs:
        dataset = Dataset.load(plan.dataset)
        study.set_user_attr("fingerprint", dataset.manifest.fingerprint)
        study.set_user_attr("split_hash", dataset.split().hash)


def worker_id(pid: int | None = None) -> str:
    """``host:pid`` of a worker process (default: this one), as trials record it."""
    return f"{socket.gethostname()}:{os.getpid() if pid is None else pid}"


def gone_from_this_host(worker: str) -> bool:
    """Whether a trial's ``host:pid`` names a process of this host that no longer runs."""
    host, _, pid = worker.rpartition(":")
    return host == socket.gethostname() and pid.isdigit() and not _alive(int(pid))


def fail_dead_trials(study: optuna.Study) -> list[int]:
    """Fail the RUNNING trials whose worker process on this host is gone, queue their params
    again, and return their numbers. Trials of other hosts are left to the RDB heartbeat."""
    storage = study._storage   # the storage object this process opened (open_storage)
    failed = []
    study_id = storage.get_study_id_from_name(study.study_name)
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if not gone_from_this_host(str(trial.user_attrs.get("worker", ""))):
            continue
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
        try:
            if not storage.set_trial_state_values(trial_id, state=TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue   # another process got there first
        _retry()(study, storage.get_trial(trial_id))
        log.warning("study %s: trial %d's worker %s is gone; failed it and queued its params "
                    "again", study.study_name, trial.number, trial.user_attrs["worker"])
        failed.append(trial.number)
    return failed


def _alive(pid: int) -> bool:
    """Whether a process runs: a zombie (killed, not yet reaped by its parent) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True   # no /proc: os.kill's answer stands


def count(study: optuna.Study, states) -> int:
    return len(study.get_trials(deepcopy=False, states=states))


class Objective:
    """Dev CCC of one model with sampled params; the views are built once per worker."""

    def __init__(self, plan: StudyPlan):
        self.plan = plan
        self.spec = MODELS.get(plan.model)
        dataset = Dataset.load(plan.dataset)
        params = self.spec.params(plan.fixed)
        self.views = {p: build_view(dataset, self.spec, params, p) for p in ("train", "dev")}

    def __call__(self, trial: optuna.Trial) -> float:
        trial.set_user_attr("worker", worker_id())
        ahead = [t for t in trial.study.get_trials(deepcopy=False, states=LIVE)
                 if t.number < trial.number]
        if len(ahead) >= self.plan.trials:
            trial.set_user_attr("surplus", True)
            raise SurplusTrial(f"trial {trial.number}: the study already has "
                               f"{self.plan.trials} trials")
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


def work(plan: StudyPlan, worker: int, threads: int | None = None) -> None:
    """One worker: run trials until the study has ``plan.trials`` finished ones. While the
    remaining places are all taken by other workers' trials it waits, so that it can take the
    place of one that fails."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if threads is not None:
        torch.set_num_threads(threads)
    study = create_study(plan, worker)
    objective = None
    deadline = None if plan.timeout is None else time.monotonic() + plan.timeout
    while count(study, FINISHED) < plan.trials:
        if deadline is not None and time.monotonic() > deadline:
            return
        fail_dead_trials(study)
        optuna.storages.fail_stale_trials(study)   # other hosts' trials (RDB heartbeat)
        if count(study, LIVE) >= plan.trials:
            time.sleep(WAIT_SECONDS)
            continue
        objective = objective or Objective(plan)
        study.optimize(objective, n_trials=1, catch=(EmorecError,))


def run_study(plan: StudyPlan, workers: int = 1,
              tracking_uri: str = "sqlite:///mlflow.db") -> optuna.Study:
    if plan.trials < 1 or workers < 1 or plan.first_worker < 0:
        raise EmorecError("--trials and --workers must be at least 1, --first-worker at least 0")
    spec = MODELS.get(plan.model)
    if not spec.search_space:
        raise EmorecError(f"model {spec.name!r} has no search space to tune")
    spec.params(plan.fixed)   # unknown parameters fail before any work
    study, created = open_study(plan)   # (and checks the model) before workers start
    describe(study, plan)
    parent = study_run(study, plan, tracking_uri, created)
    fail_dead_trials(study)
    failed = []
    if workers == 1:
        own = {worker_id()}
        work(plan, plan.first_worker)
    else:
        context = multiprocessing.get_context("spawn")
        threads = max(1, len(os.sched_getaffinity(0)) // workers)
        processes = [context.Process(target=work, args=(plan, plan.first_worker + w, threads))
                     for w in range(workers)]
        for process in processes:
            process.start()
        own = {worker_id(process.pid) for process in processes}
        running = {process.sentinel: process for process in processes}
        while running:   # reap each worker as it ends, so a killed one is seen dead at once
            for sentinel in multiprocessing.connection.wait(list(running)):
                running.pop(sentinel).join()
        failed = [p.exitcode for p in processes if p.exitcode != 0]
    study = create_study(plan)
    log_study(study, plan, tracking_uri, parent, own)
    if failed:
        raise EmorecError(f"{len(failed)} tuning worker(s) failed (exit codes {failed}); the "
                          "trials they finished are kept and logged, rerun the same command "
                          "to finish the study")
    return study


def study_run(study: optuna.Study, plan: StudyPlan, tracking_uri: str, created: bool) -> str:
    """The study's MLflow run id in this tracking store. The process that created the study
    creates the run and records its id in the study; the others (machines started together)
    wait for it. A study first logged elsewhere gets its run from whoever logs it first here."""
    mlflow.set_tracking_uri(tracking_uri)
    experiment = use_experiment(f"emorec/tune/{plan.model}")
    key = f"mlflow_run_id {tracking_uri}"
    fresh = not created and not study.trials   # its creator is starting up now
    waited = 0.0
    while fresh and key not in study.user_attrs and waited < STUDY_RUN_WAIT_SECONDS:
        time.sleep(0.5)
        waited += 0.5
        study = optuna.load_study(study_name=plan.study, storage=open_storage(plan.storage))
    if key in study.user_attrs:
        return study.user_attrs[key]
    earlier = mlflow.search_runs([experiment], output_format="list",
                                 filter_string=f"tags.study = '{plan.study}' and "
                                               "tags.kind = 'study'")
    if earlier:    # logged before the run id was kept in the study
        study.set_user_attr(key, earlier[0].info.run_id)
        return earlier[0].info.run_id
    run = MlflowClient().create_run(experiment, run_name=f"study {plan.study}", tags={
        **_tags(plan), "kind": "study", "mlflow.runName": f"study {plan.study}"})
    study.set_user_attr(key, run.info.run_id)
    return run.info.run_id


def _tags(plan: StudyPlan) -> dict:
    return {"study": plan.study, "storage": plan.storage, "model": plan.model,
            "dataset": str(plan.dataset)}


def log_study(study: optuna.Study, plan: StudyPlan, tracking_uri: str, parent: str,
              own: set[str]) -> None:
    """A nested run under the study run for each finished trial that this invocation's workers
    ran, or whose worker on this host is gone (a crashed earlier run), unless already logged:
    so that machines sharing a study never log a trial twice."""
    mlflow.set_tracking_uri(tracking_uri)
    experiment = use_experiment(f"emorec/tune/{plan.model}")
    existing = mlflow.search_runs([experiment], output_format="list",
                                  filter_string=f"tags.study = '{plan.study}' and "
                                                "tags.kind = 'trial'")
    logged = {r.data.tags.get("trial") for r in existing}

    def ours(trial) -> bool:
        worker = str(trial.user_attrs.get("worker", ""))
        return worker in own or gone_from_this_host(worker)

    with mlflow.start_run(run_id=parent):
        for trial in study.get_trials(deepcopy=False, states=FINISHED):
            if str(trial.number) in logged or not ours(trial):
                continue
            with mlflow.start_run(run_name=f"trial {trial.number}", nested=True,
                                  tags={**_tags(plan), "kind": "trial",
                                        "trial": str(trial.number), "state": trial.state.name,
                                        "worker": str(trial.user_attrs.get("worker"))}):
                mlflow.log_params({**trial.user_attrs.get("params", trial.params),
                                   "seed": plan.seed})
                mlflow.log_metrics(trial.user_attrs.get("dev_metrics", {}))
                for step, value in sorted(trial.intermediate_values.items()):
                    mlflow.log_metric("epoch/dev_mean_ccc", value, step=step)
        failed = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
        mlflow.log_metrics({
            "trials_complete": count(study, (TrialState.COMPLETE,)),
            "trials_pruned": count(study, (TrialState.PRUNED,)),
            "trials_failed": sum(not t.user_attrs.get("surplus") for t in failed)})
        if count(study, (TrialState.COMPLETE,)):
            mlflow.log_metric("best_dev_mean_ccc", study.best_value)
            mlflow.log_dict({"trial": study.best_trial.number,
                             "params": study.best_trial.user_attrs.get("params")},
                            "best_params.json")


def tuned_params(study_name: str, storage: str) -> Tuned:
    """The best finished trial of a study, with the full params it ran with."""
    if "://" not in storage and not Path(storage).is_file():
        raise EmorecError(f"--params-from {study_name}: no Optuna storage {storage} "
                          "(give --storage)")
    try:
        study = optuna.load_study(study_name=study_name, storage=open_storage(storage))
    except KeyError:
        raise EmorecError(f"--params-from: no study {study_name!r} in {storage}") from None
    if not count(study, (TrialState.COMPLETE,)):
        raise EmorecError(f"--params-from: study {study_name!r} has no complete trial yet")
    best = study.best_trial
    attrs = study.user_attrs
    return Tuned(study=study_name, storage=storage, model=attrs["model"],
                 params=best.user_attrs["params"], trial=best.number,
                 dev_mean_ccc=float(best.value), finished=count(study, FINISHED),
                 fingerprint=attrs.get("fingerprint"), split_hash=attrs.get("split_hash"))
