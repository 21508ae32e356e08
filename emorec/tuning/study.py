"""A study's life cycle: its storage, the objective (dev CCC through the same
:func:`~emorec.evaluation.evaluate_cell` as ``emorec bench``), the worker processes that run
exactly ``trials`` finished trials however many take part, and its MLflow runs."""

from __future__ import annotations

import json
import logging
import multiprocessing
import multiprocessing.connection
import shlex
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

import optuna
import sqlalchemy
from mlflow.tracking import MlflowClient
from optuna.storages import JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState

from emorec import plugins
from emorec.cells import MAX_SEED, seed_value
from emorec.data.dataset import Dataset
from emorec.display import format_params
from emorec.errors import EmorecError
from emorec.evaluation import evaluate_cell
from emorec.models import MODELS
from emorec.models.describe import search_range
from emorec.store import result_rows
from emorec.system import extras
from emorec.system.files import writable_folder
from emorec.system.processes import die_with_parent, gone_from_this_host, worker_id
from emorec.tracking import database
from emorec.tracking import runs as tracking
from emorec.tracking.mlflow_store import (
    DEFAULT_TIMEOUT_SECONDS,
    DEFAULT_TRACKING_URI,
    connect,
    how_to_open,
    run_url,
)
from emorec.tuning import DEFAULT_STORAGE
from emorec.tuning.journal import check_journal
from emorec.tuning.liveness import fail_dead_trials, retry_callback
from emorec.tuning.space import require_search_space, suggest
from emorec.vocabulary import TARGETS

log = logging.getLogger(__name__)
# Heartbeats and their retry callback are stable in use since Optuna 2.8 but still flagged.
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

SAMPLER_SETTINGS = {"n_startup_trials": 10, "n_ei_candidates": 24, "multivariate": False}
PRUNER_SETTINGS = {"n_startup_trials": 5, "n_warmup_steps": 2}
HEARTBEAT = {"heartbeat_interval": 60, "grace_period": 300}   # RDB storages only
WAIT_SECONDS = 5.0       # a worker with nothing to start polls this often for stragglers
STUDY_RUN_WAIT_SECONDS = 60.0   # how long a machine waits for the study creator's MLflow run
SATURATED_LEVEL, SATURATED_SHARE = 0.99, 0.5   # a trial whose net predicts like this fails
CONSTANT_STD = 1e-4
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


class SurplusTrial(EmorecError):
    """The study already has its N trials finished, running or queued."""


# --------------------------------------------------------------------------- storage and study
def is_database_url(storage: str) -> bool:
    """A URL with ``://`` is an SQLAlchemy URL (RDB storage); anything else a journal file."""
    return "://" in storage


def open_storage(storage: str, timeout: float = DEFAULT_TIMEOUT_SECONDS):
    """The study storage ``storage`` names: a database server must answer within ``timeout``
    seconds (every later connection is bounded so too); a journal file is checked first
    (:mod:`emorec.tuning.journal`)."""
    if is_database_url(storage):
        extras.require_for_url(storage, f"--storage {storage}")
        database.check_answers(storage, timeout, "--storage")
        try:
            return RDBStorage(database.bounded_url(storage, timeout), **HEARTBEAT,
                              heartbeat_stale_trial_callback=retry_callback())
        except (ImportError, ValueError, sqlalchemy.exc.SQLAlchemyError) as error:
            first_line = str(error).strip().splitlines()[0]
            raise EmorecError(f"--storage {storage}: cannot open ({first_line})") from None
    path = Path(storage)
    if path.is_dir():
        raise EmorecError(f"--storage {storage}: is a folder; give a journal file's path")
    writable_folder(path.parent, "--storage folder")
    check_journal(path)
    return JournalStorage(JournalFileBackend(str(storage)))


def load_existing_study(study_name: str, storage: str, option: str) -> optuna.Study:
    """A study that must exist already; ``option`` names the CLI option in errors."""
    if not is_database_url(storage) and not Path(storage).is_file():
        raise EmorecError(f"{option} {study_name}: no Optuna storage {storage} (give --storage)")
    try:
        return optuna.load_study(study_name=study_name, storage=open_storage(storage))
    except KeyError:
        raise EmorecError(f"{option}: no study {study_name!r} in {storage}") from None


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
        # which study this is, beyond its name: one made again under an old name (a deleted
        # storage) must not take the old one's MLflow runs for its own
        study.set_user_attr("uid", uuid.uuid4().hex)
    except optuna.exceptions.DuplicatedStudyError:
        study, created = optuna.load_study(**settings), False
    known = study.user_attrs.get("model")
    if known is not None and known != plan.model:
        raise EmorecError(f"study {plan.study!r} in {plan.storage} tunes {known!r}, "
                          f"not {plan.model!r}")
    if study.metric_names != [OBJECTIVE]:   # the dashboard's name for it, not "Objective 0"
        study.set_metric_names([OBJECTIVE])
    return study, created


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


def count(study: optuna.Study, states) -> int:
    return len(study.get_trials(deepcopy=False, states=states))


# --------------------------------------------------------------------------- objective
def trial_seed(plan: StudyPlan) -> int | None:
    """The seed a trial fits with: the study's, or None for a seed-free model (as its bench
    cell fits)."""
    return plan.seed if MODELS.get(plan.model).seeded else None


class Objective:
    """Dev CCC of one model with sampled params."""

    def __init__(self, plan: StudyPlan):
        self.plan = plan
        self.spec = MODELS.get(plan.model)
        self.dataset = Dataset.load(plan.dataset)

    def __call__(self, trial: optuna.Trial) -> float:
        trial.set_user_attr("worker", worker_id())
        ahead = [t for t in trial.study.get_trials(deepcopy=False, states=LIVE)
                 if t.number < trial.number]
        if len(ahead) >= self.plan.trials:
            trial.set_user_attr("surplus", True)
            raise SurplusTrial(f"trial {trial.number}: the study already has "
                               f"{self.plan.trials} trials")
        params = self.spec.params({**suggest(trial, self.spec, self.plan.fixed),
                                   **self.plan.fixed})
        trial.set_user_attr("params", params)

        def report(epoch: int, scores: dict) -> None:
            trial.report(scores["dev_mean_ccc"], epoch)
            if trial.should_prune():
                raise optuna.TrialPruned(f"dev CCC {scores['dev_mean_ccc']:.3f} at epoch {epoch}")

        try:
            result = evaluate_cell(self.dataset, self.spec, params, trial_seed(self.plan),
                                   partitions=("dev",), on_epoch=report)
        except (EmorecError, ValueError, FloatingPointError) as error:
            # diverged (non-finite predictions) or refused: a failed trial, said in its line
            trial.set_user_attr("fail_reason", f": {error}")
            raise EmorecError(f"trial {trial.number}: {error}") from None
        problem = saturated(result.predictions["dev"])
        if problem:
            trial.set_user_attr("fail_reason", f": {problem}")
            raise EmorecError(f"trial {trial.number}: {problem}")
        scores = result_rows.scores(result.predictions)
        trial.set_user_attr("dev_metrics", scores)
        return float(scores["dev_mean_ccc"])


class TrialLine:
    """Prints ``trial 7 COMPLETE dev CCC 0.812 in 41 s (gru: hidden=96, ...) [5/40 finished]``
    as each trial ends, so a long study is never silent."""

    def __init__(self, plan: StudyPlan, worker: int):
        self.plan, self.worker = plan, worker

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if trial.user_attrs.get("surplus"):
            return
        seconds = (trial.duration.total_seconds() if trial.duration is not None else 0.0)
        score = f"dev CCC {trial.value:.3f}" if trial.value is not None else ""
        if trial.state == TrialState.PRUNED and trial.intermediate_values:
            last = max(trial.intermediate_values)
            score = f"dev CCC {trial.intermediate_values[last]:.3f} at epoch {last}"
        reason = trial.user_attrs.get("fail_reason", "")
        print(f"study {study.study_name}: trial {trial.number} {trial.state.name} {score}"
              f"{reason} in {seconds:.0f} s (worker {self.worker}; "
              f"{format_params(trial.params)}) [{count(study, FINISHED)}/{self.plan.trials} "
              "finished]", flush=True)


def saturated(predictions) -> str:
    """Why a net's dev predictions are useless although finite, or "": a tanh output stuck at
    the label range's edge (|p| > 0.99 for most frames) or a constant output."""
    for target in TARGETS:
        values = predictions[f"{target}_pred"].to_numpy()
        if (abs(values) > SATURATED_LEVEL).mean() > SATURATED_SHARE:
            return (f"saturated: {target} predictions beyond ±{SATURATED_LEVEL} on "
                    f"{(abs(values) > SATURATED_LEVEL).mean():.0%} of dev frames")
        if values.std() < CONSTANT_STD:
            return f"constant: {target} predictions vary by less than {CONSTANT_STD}"
    return ""


# --------------------------------------------------------------------------- workers
def work(plan: StudyPlan, worker: int) -> None:
    """One worker: run trials until the study has ``plan.trials`` finished ones. While the
    remaining places are all taken by other workers' trials it waits, so that it can take the
    place of one that fails. Each trial it ends prints one line (a failed one with its
    reason: Optuna's own warning, with its traceback, is silenced, failures being expected)."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = create_study(plan, worker)
    objective = None
    deadline = None if plan.timeout is None else time.monotonic() + plan.timeout
    while count(study, FINISHED) < plan.trials:
        if deadline is not None and time.monotonic() > deadline:
            return
        failed = [t for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
                  if not t.user_attrs.get("surplus")]
        if len(failed) >= failure_limit(plan):
            raise EmorecError(
                f"study {plan.study}: {len(failed)} trials failed (the last"
                f"{failed[-1].user_attrs.get('fail_reason', ': see its line above')}), so it "
                "stops rather than try forever: narrow the search space (--param) or fix the "
                "model; the trials that finished are kept")
        fail_dead_trials(study)
        optuna.storages.fail_stale_trials(study)   # other hosts' trials (RDB heartbeat)
        if count(study, LIVE) >= plan.trials:
            time.sleep(WAIT_SECONDS)
            continue
        objective = objective or Objective(plan)
        study.optimize(objective, n_trials=1, catch=(EmorecError,),
                       callbacks=[TrialLine(plan, worker)])


def failure_limit(plan: StudyPlan) -> int:
    """Failed trials after which a study stops: twice the trials asked for, at least 10 (an
    assumption: enough for a space where some corners diverge, few enough to notice one
    where every trial does)."""
    return max(10, 2 * plan.trials)


def _worker_process(plan: StudyPlan, worker: int) -> None:
    die_with_parent()
    for name in plan.plugins:   # a spawned process starts with emorec's own models only
        plugins.load(name)
    work(plan, worker)


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
    failed = []
    if workers == 1:
        own = {worker_id()}
        work(plan, plan.first_worker)
    else:
        context = multiprocessing.get_context("spawn")
        processes = [context.Process(target=_worker_process, args=(plan, plan.first_worker + w))
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
    log_study(study, plan, tracking_uri, parent, own, dataset)
    if failed:
        raise EmorecError(f"{len(failed)} tuning worker(s) failed (exit codes {failed}); the "
                          "trials they finished are kept and logged, rerun the same command "
                          "to finish the study")
    return study


# --------------------------------------------------------------------------- MLflow
def study_run(study: optuna.Study, plan: StudyPlan, tracking_uri: str, created: bool) -> str:
    """The study's MLflow run id in this tracking store. The process that created the study
    creates the run and records its id in the study; the others (machines started together)
    wait for it. A study first logged elsewhere gets its run from whoever logs it first here."""
    key = f"mlflow_run_id {tracking_uri}"
    fresh = not created and not study.trials   # its creator is starting up now
    waited = 0.0
    while fresh and key not in study.user_attrs and waited < STUDY_RUN_WAIT_SECONDS:
        time.sleep(0.5)
        waited += 0.5
        study = optuna.load_study(study_name=plan.study, storage=open_storage(plan.storage))
    if key not in study.user_attrs:
        study.set_user_attr(key, tracking.study_run(
            tracking_uri, plan.model, plan.study, study.user_attrs.get("uid", ""),
            _tags(plan)))
    return study.user_attrs[key]


def study_links(study: optuna.Study, plan: StudyPlan, tracking_uri: str) -> list[str]:
    """Where to look at the study: its MLflow run (store, experiment, run and how to open it)
    and the optuna-dashboard command for its storage."""
    run_id = study.user_attrs[f"mlflow_run_id {tracking_uri}"]
    experiment = MlflowClient().get_run(run_id).info.experiment_id
    dashboard = ("make dashboard" if plan.storage == DEFAULT_STORAGE
                 else f"optuna-dashboard {shlex.quote(plan.storage)}")
    return [f"MLflow: study run {run_id} in experiment {tracking.tune_experiment(plan.model)} "
            f"(id {experiment}) of {tracking_uri}; {how_to_open(tracking_uri)}"
            f"{run_url(tracking_uri, experiment, run_id)}",
            f"Optuna: {dashboard}  (the study's trials, params and dev CCC by trial)"]


def _tags(plan: StudyPlan) -> dict:
    return {"study": plan.study, "storage": plan.storage, "model": plan.model,
            "dataset": str(plan.dataset)}


def study_params(study: optuna.Study) -> dict:
    """What the study's MLflow run records as params: what it tunes, on which data, and how it
    samples, as recorded in the study when it was made (the same on every machine)."""
    attrs = study.user_attrs
    return {"model": attrs["model"], "dataset": attrs["dataset"],
            "dataset_fingerprint": attrs["fingerprint"], "split_hash": attrs["split_hash"],
            "seed": attrs["seed"], "fixed": json.dumps(attrs["fixed"], sort_keys=True),
            "objective": f"maximize {OBJECTIVE}",
            "sampler": f"TPESampler {json.dumps(SAMPLER_SETTINGS, sort_keys=True)}",
            "pruner": f"MedianPruner {json.dumps(PRUNER_SETTINGS, sort_keys=True)}",
            **{f"space.{name}": json.dumps(search) for name, search in
               attrs.get("space", {}).items()}}


def log_study(study: optuna.Study, plan: StudyPlan, tracking_uri: str, parent: str,
              own: set[str], dataset: Dataset) -> None:
    """Log each finished trial that this invocation's workers ran, or whose worker on this host
    is gone (a crashed earlier run), unless already logged: so that machines sharing a study
    never log a trial twice. Then the study's params, counts and best trial."""
    logged = tracking.logged_trials(tracking_uri, plan.model, parent)
    seed = seed_value(trial_seed(plan))

    def ours(trial) -> bool:
        worker = str(trial.user_attrs.get("worker", ""))
        return worker in own or gone_from_this_host(worker)

    trials = [{"number": t.number, "state": t.state.name,
               "worker": str(t.user_attrs.get("worker")),
               "params": {**t.user_attrs.get("params", t.params), "seed": seed},
               "metrics": t.user_attrs.get("dev_metrics", {}),
               "epochs": dict(sorted(t.intermediate_values.items()))}
              for t in study.get_trials(deepcopy=False, states=FINISHED)
              if t.number not in logged and ours(t)]
    failed = study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
    summary = {"trials_complete": count(study, (TrialState.COMPLETE,)),
               "trials_pruned": count(study, (TrialState.PRUNED,)),
               "trials_failed": sum(not t.user_attrs.get("surplus") for t in failed)}
    best = None
    if count(study, (TrialState.COMPLETE,)):
        summary["best_dev_mean_ccc"] = study.best_value
        best = {"trial": study.best_trial.number,
                "params": study.best_trial.user_attrs.get("params")}
    spec = MODELS.get(plan.model)
    tags = {**_tags(plan), "family": spec.family, "modality": spec.modality,
            "origin": dataset.manifest.origin, "seed_free": str(not spec.seeded).lower()}
    ref = tracking.DatasetRef(dataset.name, dataset.manifest.fingerprint, plan.dataset,
                              {"origin": dataset.manifest.origin,
                               "split_hash": study.user_attrs["split_hash"]})
    tracking.log_study(tracking_uri, plan.model, parent, tags, trials, summary, best,
                       params=study_params(study), dataset=ref,
                       study_tags={"trials_requested": str(plan.trials)})
