"""`emorec slurm` against a real single-node Slurm (munged, slurmctld and slurmd started by
``scripts/start_slurm.sh``; ``.ci/run`` does so) and the MLflow tracking server of
``scripts/start_servers.sh``: job arrays of the quick suite, a task cancelled or requeued mid-fit,
a task over its time limit, each finished by submitting again.

Without SLURM_CONF and EMOREC_TRACKING_URI these tests are skipped, except under CI (``CI``
set), where that is a failure: CI must show them run."""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import mlflow
import pytest
from scenarios import emorec

from emorec.store import results, schema

ROOT = Path(__file__).resolve().parent.parent
TRACKING = os.environ.get("EMOREC_TRACKING_URI", "")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def cluster():
    needs = "set SLURM_CONF (scripts/start_slurm.sh) and EMOREC_TRACKING_URI (make servers)"
    if not (os.environ.get("SLURM_CONF") and TRACKING.startswith("http")):
        if os.environ.get("CI"):
            pytest.fail(f"CI runs the Slurm tests: {needs}", pytrace=False)
        pytest.skip(needs)
    nodes = subprocess.run(["sinfo", "-h", "-o", "%T"], capture_output=True, text=True,
                           timeout=30)
    assert "idle" in nodes.stdout or "mix" in nodes.stdout, (nodes.stdout, nodes.stderr)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("data")


def quick_suite(folder: Path, seeds: str = "[0, 1, 2]") -> tuple[Path, str]:
    """The quick suite under a name of its own (its own MLflow experiment)."""
    name = f"quick-{uuid.uuid4().hex[:8]}"
    text = (ROOT / "benchmarks" / "quick.toml").read_text()
    text = re.sub(r'^name = "quick"$', f'name = "{name}"', text, flags=re.MULTILINE)
    text = re.sub(r"^seeds = \[0, 1, 2\]$", f"seeds = {seeds}", text, flags=re.MULTILINE)
    path = folder / f"{name}.toml"
    path.write_text(text)
    return path, name


def slurm(folder: Path, suite: Path, data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        emorec("-q", "slurm", str(suite), "--data-dir", str(data_dir), "--costs-from",
               str(ROOT / "leaderboard" / "results"), "--tracking-uri", TRACKING, *args),
        cwd=folder, capture_output=True, text=True, timeout=300)


def submit(folder: Path, suite: Path, data_dir: Path, *args: str) -> list[str]:
    done = slurm(folder, suite, data_dir, *args, "--submit")
    assert done.returncode == 0, done.stderr
    ids = re.findall(r"(?:array|merge) job (\d+)", done.stdout)
    assert len(ids) == 2, done.stdout
    return ids


def queued(ids: list[str]) -> list[str]:
    """The jobs (array tasks included) of ``ids`` Slurm still has pending or running."""
    done = subprocess.run(["squeue", "-h", "-j", ",".join(ids), "-o", "%i %T"],
                          capture_output=True, text=True, timeout=30)
    return [line for line in done.stdout.splitlines() if line.strip()]


def wait_for_end(ids: list[str], timeout: float = 600) -> float:
    start = time.monotonic()
    while queued(ids):
        assert time.monotonic() - start < timeout, queued(ids)
        time.sleep(1)
    return time.monotonic() - start


def rows(folder: Path, dataset: str = "sewa-synth-small"):
    return results.load(results.results_path(folder, dataset))


def wait_for_rows(folder: Path, count: int, timeout: float = 300) -> None:
    start = time.monotonic()
    while len(rows(folder)) < count:
        assert time.monotonic() - start < timeout, f"{folder}: fewer than {count} rows"
        time.sleep(0.5)


def each_cell_once(job: Path, shards: int, name: str) -> None:
    """Every cell of the plan once in the shards and once in the merged results, with one
    FINISHED MLflow run on the tracking server per cell."""
    tables = [rows(job / "shards" / str(i)) for i in range(1, shards + 1)]
    for table in tables:
        assert table["cell_key"].is_unique                   # no row twice
    # a 1-shard array's task is the whole sweep, and makes the late-fusion rows itself
    parts = [set(t.loc[t["model"] != "late_fusion", "cell_key"]) for t in tables]
    assert sum(len(p) for p in parts) == len(set().union(*parts))
    merged = rows(job / "results")
    assert merged["cell_key"].is_unique
    fitted = merged[merged["model"] != "late_fusion"]
    assert set(fitted["cell_key"]) == set().union(*parts)
    mlflow.set_tracking_uri(TRACKING)
    runs = mlflow.search_runs(experiment_names=[f"emorec/{name}"])
    cells = runs[runs["tags.cell_key"].notna()]
    finished = cells[cells["status"] == "FINISHED"]
    assert finished["tags.cell_key"].is_unique
    assert set(finished["tags.cell_key"]) == set(merged["cell_key"])
    assert not (cells["status"] == "RUNNING").any()


def status(folder: Path, suite: Path, data_dir: Path) -> subprocess.CompletedProcess:
    return slurm(folder, suite, data_dir, "--status")


def test_the_quick_suite_as_a_3_task_array_gives_what_one_machine_gives(tmp_path, data_dir):
    suite, name = quick_suite(tmp_path)
    single = subprocess.run(
        emorec("-q", "bench", str(suite), "--jobs", "2", "--results-dir", str(tmp_path / "one"),
               "--data-dir", str(data_dir), "--tracking-uri", f"sqlite:///{tmp_path}/one.db"),
        cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert single.returncode == 0, single.stderr
    ids = submit(tmp_path, suite, data_dir, "--shards", "3", "--parallel", "2",
                 "--cpus-per-task", "1", "--mem", "3G", "--time", "10")
    wait_for_end(ids)
    job = tmp_path / "runs" / "slurm" / name
    assert status(tmp_path, suite, data_dir).returncode == 0
    each_cell_once(job, 3, name)
    merged, alone = rows(job / "results"), rows(tmp_path / "one")
    assert sorted(merged["cell_key"]) == sorted(alone["cell_key"])
    merged, alone = (t.set_index("cell_key").sort_index() for t in (merged, alone))
    for column in [*schema.STATS_COLUMNS, *schema.METRIC_COLUMNS]:
        assert merged[column].equals(alone[column]), column   # bit for bit
    assert (job / "board" / "sewa-synth-small.md").is_file()


def test_a_cancelled_and_a_requeued_task_finish_on_resubmission_each_cell_once(
        tmp_path, data_dir):
    suite, name = quick_suite(tmp_path)
    args = ("--shards", "3", "--parallel", "2", "--cpus-per-task", "1", "--mem", "3G",
            "--time", "10")
    array, merge = submit(tmp_path, suite, data_dir, *args)
    job = tmp_path / "runs" / "slurm" / name
    wait_for_rows(job / "shards" / "1", 2)
    subprocess.run(["scancel", f"{array}_0"], check=True, timeout=30)   # mid-sweep, mid-fit
    wait_for_rows(job / "shards" / "2", 2)
    subprocess.run(["scontrol", "requeue", f"{array}_1"], check=True, timeout=30)
    # a requeued job waits two minutes before it may start again; the test need not
    start = time.monotonic()
    while not any(line.endswith("PENDING") for line in queued([f"{array}_1"])):
        assert time.monotonic() - start < 60, queued([f"{array}_1"])
        time.sleep(0.2)
    subprocess.run(["scontrol", "update", f"JobId={array}_1", "StartTime=now"], check=True,
                   timeout=30)
    wait_for_end([array, merge])
    assert "CANCELLED" in (job / "logs" / "task-0.out").read_text()
    before = status(tmp_path, suite, data_dir)
    assert before.returncode == 1 and "shard 1/3" in before.stdout
    assert before.stdout.count("cells done") == 3
    wait_for_end(submit(tmp_path, suite, data_dir, *args))
    after = status(tmp_path, suite, data_dir)
    assert after.returncode == 0, after.stdout
    each_cell_once(job, 3, name)


def test_a_task_over_its_time_limit_finishes_from_its_rows_when_submitted_again(
        tmp_path, data_dir):
    suite, name = quick_suite(tmp_path, seeds="[0, 1, 2, 3, 4]")
    args = ("--shards", "1", "--cpus-per-task", "1", "--mem", "3G")
    wait_for_end(submit(tmp_path, suite, data_dir, *args, "--time", "1"), timeout=300)
    job = tmp_path / "runs" / "slurm" / name
    assert "DUE TO TIME LIMIT" in (job / "logs" / "task-0.out").read_text()
    written = len(rows(job / "shards" / "1"))
    stopped = status(tmp_path, suite, data_dir)
    assert stopped.returncode == 1 and 0 < written, stopped.stdout
    wait_for_end(submit(tmp_path, suite, data_dir, *args, "--time", "10"))
    assert status(tmp_path, suite, data_dir).returncode == 0
    each_cell_once(job, 1, name)


def test_the_written_scripts_pass_sbatch_test_only(tmp_path, data_dir):
    suite, name = quick_suite(tmp_path)
    done = slurm(tmp_path, suite, data_dir, "--shards", "4", "--parallel", "2",
                 "--cpus-per-task", "1", "--mem", "1G", "--time", "00:30:00",
                 "--sbatch=--comment=emorec")
    assert done.returncode == 0, done.stderr
    job = tmp_path / "runs" / "slurm" / name
    for script in ("array.sbatch", "merge.sbatch"):
        check = subprocess.run(["sbatch", "--test-only", str(job / script)],
                               capture_output=True, text=True, timeout=30)
        assert check.returncode == 0 and "to start at" in check.stderr, check.stderr


@pytest.mark.skipif(Path("/etc/slurm/slurm.conf").exists(),
                    reason="this machine's own Slurm answers without SLURM_CONF")
def test_submitting_without_slurm_conf_says_to_source_slurm_env(tmp_path, data_dir):
    suite, _ = quick_suite(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "SLURM_CONF"}
    done = subprocess.run(
        emorec("-q", "slurm", str(suite), "--data-dir", str(data_dir), "--tracking-uri", TRACKING,
               "--shards", "2", "--submit"),
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    error = done.stderr.strip().splitlines()[-1]     # after the stand-in's warning
    assert done.returncode == 2 and error.startswith("emorec: error: sbatch"), done.stderr
    assert "DNS SRV" in error and "run `source .slurm.env` in this shell first" in error
