from __future__ import annotations

import os
import shutil
import socket
from pathlib import Path

import pytest

from emorec.data import synth
from emorec.data.dataset import Dataset


@pytest.fixture(scope="session", autouse=True)
def own_working_folder(tmp_path_factory):
    """Every test runs in a temporary working folder of its session: what a command writes by
    default (mlflow.db, mlruns/, optuna.journal, runs/) lands there, never beside a user's own
    experiments in the checkout, and a user's bench running meanwhile cannot disturb the
    tests. Tests name the checkout's files through helpers.ROOT."""
    before = Path.cwd()
    os.chdir(tmp_path_factory.mktemp("cwd"))
    yield
    os.chdir(before)


@pytest.fixture(scope="session")
def tiny_sewa() -> Dataset:
    return synth.generate("sewa", "tiny", seed=0)


@pytest.fixture(scope="session")
def tiny_afew() -> Dataset:
    return synth.generate("afew-va", "tiny", seed=0)


@pytest.fixture
def tiny_sewa_dir(tmp_path, tiny_sewa):
    return tiny_sewa.save(tmp_path / "tiny")


@pytest.fixture(scope="session")
def empty_mlflow_store(tmp_path_factory) -> Path:
    """An MLflow SQLite store with MLflow's tables and nothing else, made once per test process:
    MLflow makes a new store by running its schema migrations (about 3 s), so a test's own
    store starts as a copy of this one, as a user's second run finds the store of the first."""
    import mlflow

    path = tmp_path_factory.mktemp("store") / "mlflow.db"
    mlflow.MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def places(tmp_path, empty_mlflow_store, request) -> dict:
    """Where a bench or tuning run keeps things, all in the test's temporary folder: results,
    generated stand-ins and the MLflow database (keyword arguments of run_suite). The database
    is a copy of an empty store, unless the test is marked ``new_store`` (it checks what
    happens where no store exists yet)."""
    store = tmp_path / "mlflow.db"
    if request.node.get_closest_marker("new_store") is None:
        shutil.copyfile(empty_mlflow_store, store)
    return {"results_dir": tmp_path / "results", "data_dir": tmp_path / "data",
            "tracking_uri": f"sqlite:///{store}"}


@pytest.fixture
def place(tmp_path, places):
    """The shared result places and a cheap suite file (4 cells of about a second)."""
    from scenarios import SUITE

    suite = tmp_path / "f.toml"
    suite.write_text(SUITE.format(name="f", epochs=2))
    return {"suite": suite, **places}


@pytest.fixture
def taken_port():
    """A port something listens on (loopback); the next one free or not, as it happens."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield holder.getsockname()[1]
