"""The scale-out scenarios against real servers on loopback: an Optuna RDB storage on
PostgreSQL and an MLflow tracking server backed by PostgreSQL, both started by
``scripts/start_servers.sh`` (``.ci/run`` does so and sets the variables below).

Without the variables these tests are skipped, except under CI (``CI`` set), where a missing
server is a failure: CI must show them run."""

import os
import uuid

import pytest
from scenarios import (
    SUITE,
    kill_a_worker_and_rerun,
    study_with_two_workers,
    sweep_in_two_shards,
    two_machines_share_one_study,
)

STORAGE = os.environ.get("EMOREC_OPTUNA_STORAGE", "")
TRACKING = os.environ.get("EMOREC_TRACKING_URI", "")

pytestmark = pytest.mark.slow
NO_SERVERS = ("set EMOREC_OPTUNA_STORAGE=postgresql... and EMOREC_TRACKING_URI=http://... "
              "(scripts/start_servers.sh writes them to .servers.env)")


@pytest.fixture(scope="module", autouse=True)
def servers_answer():
    """Skip without servers (fail under CI, which must show these run); fail at once, not
    after MLflow's minutes of retries, when a server is down."""
    import urllib.request

    import sqlalchemy

    if not (STORAGE.startswith("postgresql") and TRACKING.startswith("http")):
        if os.environ.get("CI"):
            pytest.fail(f"CI runs the server tests: {NO_SERVERS}", pytrace=False)
        pytest.skip(NO_SERVERS)

    try:
        urllib.request.urlopen(f"{TRACKING}/health", timeout=5).close()
    except OSError as error:
        pytest.fail(f"MLflow tracking server {TRACKING} does not answer: {error}", pytrace=False)
    try:
        sqlalchemy.create_engine(STORAGE).connect().close()
    except sqlalchemy.exc.OperationalError as error:
        pytest.fail(f"PostgreSQL at {STORAGE} does not answer: {error}", pytrace=False)


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def test_two_worker_study_on_postgresql_and_the_tracking_server(tiny_sewa_dir):
    study_with_two_workers(STORAGE, TRACKING, tiny_sewa_dir, unique("two-workers"))


def test_two_machines_share_one_study_on_postgresql(tiny_sewa_dir, tmp_path):
    two_machines_share_one_study(STORAGE, TRACKING, tiny_sewa_dir, unique("machines"),
                                 cwd=tmp_path)


def test_killed_worker_rerun_on_postgresql_and_the_tracking_server(tiny_sewa_dir, tmp_path):
    kill_a_worker_and_rerun(STORAGE, TRACKING, tiny_sewa_dir, unique("killed"), cwd=tmp_path)


def test_sweep_in_two_shards_logs_every_cell_once_to_the_tracking_server(tmp_path):
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE.format(name=unique("shards"), epochs=3))
    sweep_in_two_shards(TRACKING, suite, (tmp_path / "part1", tmp_path / "part2"),
                        tmp_path / "merged", cwd=tmp_path, data_dir=tmp_path / "data")
