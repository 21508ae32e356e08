"""Opening an MLflow store: a clear error within seconds when it cannot be reached, SQLite stores
created safely when several processes start on a fresh file, experiments that keep their
artifacts beside a SQLite database, and the UI link to an experiment's runs."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

from emorec.errors import EmorecError
from emorec.system import extras, program
from emorec.system.files import file_lock, writable_folder
from emorec.tracking import database

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
DEFAULT_TIMEOUT_SECONDS = 10.0
EXPERIMENT_TAGS = {"mlflow.experimentKind": "custom_model_development"}
UI_PORT = 5000                           # where `make ui` serves a local store by default
UI_ADDRESS = f"http://127.0.0.1:{UI_PORT}"
SCHEMES = ("sqlite", "http", "https", "postgresql", "postgresql+psycopg", "mysql", "file")
SQLITE_HEADER = b"SQLite format 3\x00"
_BOUNDED: dict[str, str] = {}   # tracking URI -> the URI MLflow is given (timeouts added)


def connect(tracking_uri: str, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
    """Point MLflow at ``tracking_uri`` and make sure it answers, or raise EmorecError: a
    tracking server must answer its health check within ``timeout`` seconds (later requests
    are bounded by the same time, with one retry), a SQLite file is created (its schema under
    a lock beside it, so two processes starting on a fresh file cannot race); a database server
    must accept a connection within ``timeout`` (and every later connection is bounded so)."""
    scheme = tracking_uri.partition("://")[0] if "://" in tracking_uri else ""
    if scheme not in SCHEMES:
        raise EmorecError(f"--tracking-uri {tracking_uri}: not an MLflow store (expected "
                          "sqlite:///FILE, http(s)://HOST:PORT or a database URL)")
    extras.require_for_url(tracking_uri, f"--tracking-uri {tracking_uri}")
    if scheme in ("http", "https"):
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(int(max(1, timeout))))
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
        _health(tracking_uri, timeout)
    database.check_answers(tracking_uri, timeout, "--tracking-uri")
    _BOUNDED[tracking_uri] = database.bounded_url(tracking_uri, timeout)
    check_sqlite_file(tracking_uri)
    mlflow.set_tracking_uri(_BOUNDED[tracking_uri])
    try:
        db_file = sqlite_path(tracking_uri)
        if db_file is not None:
            writable_folder(db_file.parent, "MLflow database folder")
            with file_lock(db_file.with_name(db_file.name + ".lock")):
                MlflowClient().search_experiments(max_results=1)   # creates the schema
        else:
            MlflowClient().search_experiments(max_results=1)
    except mlflow.exceptions.MlflowException as error:
        first_line = str(error).strip().splitlines()[0]
        raise EmorecError(f"--tracking-uri {tracking_uri}: {first_line}; if the store is "
                          "damaged, move it away (a new one is made) or repair it, and run "
                          "again") from None


def use_experiment(tracking_uri: str, name: str) -> str:
    """Make experiment ``name`` of the connected store active; returns its id.

    A new experiment is tagged with MLflow's experiment kind "custom model development" (MLflow
    3.17's UI still opens it on the GenAI overview: :func:`runs_url` links to its runs). With a
    SQLite store its artifacts go to ``mlruns/`` beside the database file, not under the
    working folder. Safe when several processes create it at once (shards on a tracking
    server): ``mlflow.set_experiment`` returns without making the experiment active when it
    loses that race, so it is activated by id."""
    mlflow.set_tracking_uri(_BOUNDED.get(tracking_uri, tracking_uri))
    client = MlflowClient()
    if client.get_experiment_by_name(name) is None:
        try:
            client.create_experiment(name, artifact_location=_artifact_location(tracking_uri),
                                     tags=EXPERIMENT_TAGS)
        except mlflow.exceptions.MlflowException:
            if client.get_experiment_by_name(name) is None:   # not the race: a real error
                raise
    experiment = mlflow.set_experiment(name)
    return mlflow.set_experiment(experiment_id=experiment.experiment_id).experiment_id


def runs_url(tracking_uri: str, experiment_id: str) -> str:
    """The UI page of an experiment's runs, sorted by test CCC (which also lists nested runs
    flat)."""
    base = tracking_uri.rstrip("/") if tracking_uri.startswith("http") else UI_ADDRESS
    return (f"{base}/#/experiments/{experiment_id}/runs"
            "?orderByKey=metrics.%60test_mean_ccc%60&orderByAsc=false")


def run_url(tracking_uri: str, experiment_id: str, run_id: str) -> str:
    """The UI page of one run."""
    base = tracking_uri.rstrip("/") if tracking_uri.startswith("http") else UI_ADDRESS
    return f"{base}/#/experiments/{experiment_id}/runs/{run_id}"


def how_to_open(tracking_uri: str) -> str:
    """What to do before opening a UI link of this store: ``make ui`` for the default store,
    nothing for a tracking server, else the ``mlflow ui`` command that serves it."""
    if tracking_uri == DEFAULT_TRACKING_URI:
        return f"make ui PORT={UI_PORT}, then open "   # make ui serves exactly this store
    if tracking_uri.startswith(("http://", "https://")):
        return ""
    return (f"serve it with: {program.beside('mlflow')} ui --backend-store-uri {tracking_uri}, "
            "then open ")


def _health(tracking_uri: str, timeout: float) -> None:
    url = f"{tracking_uri.rstrip('/')}/health"
    try:
        urllib.request.urlopen(url, timeout=timeout).close()
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise EmorecError(f"--tracking-uri {tracking_uri}: the tracking server does not answer "
                          f"within {timeout:g} s ({reason}); start it (make servers) or point "
                          "--tracking-uri elsewhere") from None


def check_sqlite_file(tracking_uri: str) -> None:
    """A SQLite store's file, when it exists, must be a SQLite database: a file that is not
    (or a folder) is named in one line, not left to SQLAlchemy's traceback."""
    path = sqlite_path(tracking_uri)
    if path is None or not path.exists():
        return
    if path.is_dir():
        raise EmorecError(f"--tracking-uri {tracking_uri}: {path} is a folder, not an MLflow "
                          "SQLite database")
    with path.open("rb") as handle:
        head = handle.read(len(SQLITE_HEADER))
    if head and head != SQLITE_HEADER:
        raise EmorecError(f"--tracking-uri {tracking_uri}: {path} is not a SQLite database "
                          "(overwritten or damaged); move it away and run again (a new store "
                          "is made), or give another --tracking-uri")


def sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of a ``sqlite:///FILE`` store, else None."""
    if not tracking_uri.startswith("sqlite:///"):
        return None
    return Path(tracking_uri.removeprefix("sqlite:///"))


def _artifact_location(tracking_uri: str) -> str | None:
    """``<folder of the .db>/mlruns`` for a SQLite store; the server's default otherwise."""
    database = sqlite_path(tracking_uri)
    return None if database is None else (database.resolve().parent / "mlruns").as_uri()
