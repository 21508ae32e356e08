from __future__ import annotations

from pathlib import Path

import pytest

from emorec.data import synth
from emorec.data.dataset import Dataset


@pytest.fixture(scope="session", autouse=True)
def tests_write_only_to_temporary_folders():
    """Fail the run if a test wrote MLflow or Optuna files into the working folder, where a
    user's own experiments live."""
    places = [Path(name) for name in ("mlruns", "mlartifacts", "mlflow.db", "optuna.journal")]
    before = {place for place in places if place.exists()}
    yield
    written = [str(place) for place in places if place.exists() and place not in before]
    assert not written, f"tests wrote {written} into the working folder"


@pytest.fixture(scope="session")
def tiny_sewa() -> Dataset:
    return synth.generate("sewa", "tiny", seed=0)


@pytest.fixture(scope="session")
def tiny_afew() -> Dataset:
    return synth.generate("afew-va", "tiny", seed=0)


@pytest.fixture
def tiny_sewa_dir(tmp_path, tiny_sewa):
    return tiny_sewa.save(tmp_path / "tiny")


@pytest.fixture
def places(tmp_path) -> dict:
    """Where a bench or tuning run keeps things, all in the test's temporary folder: results,
    generated stand-ins and the MLflow database (keyword arguments of run_suite)."""
    return {"results_dir": tmp_path / "results", "data_dir": tmp_path / "data",
            "tracking_uri": f"sqlite:///{tmp_path / 'mlflow.db'}"}
