"""Where a study lives and opening it there: an RDB storage (a database URL, with heartbeats) or
a journal file, each checked before use; a study that must exist already; and a study opened or
created with its sampler and pruner, exactly one of several processes starting it together
creating it."""

from __future__ import annotations

import uuid
import warnings
from pathlib import Path

import optuna
import sqlalchemy
from optuna.storages import JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend

from emorec.errors import EmorecError
from emorec.system import extras
from emorec.system.files import writable_folder
from emorec.tracking import database
from emorec.tracking.mlflow_store import DEFAULT_TIMEOUT_SECONDS
from emorec.tuning.journal import check_journal
from emorec.tuning.liveness import retry_callback
from emorec.tuning.plan import OBJECTIVE, PRUNER_SETTINGS, SAMPLER_SETTINGS, StudyPlan

# Heartbeats and their retry callback are stable in use since Optuna 2.8 but still flagged.
warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)

HEARTBEAT = {"heartbeat_interval": 60, "grace_period": 300}   # RDB storages only


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
