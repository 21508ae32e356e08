"""A suite's sweep, or an Optuna study's workers, as a Slurm job array.

A job folder holds everything of one sweep: ``job.json`` (what was asked), ``plans/`` (the
shard plans: every cell's expected fit time, fixed when the folder is made, so every task and
every resubmission takes the same cells), ``array.sbatch`` (task i runs ``emorec bench SUITE
--shard i+1/N`` into ``shards/<i+1>``), ``merge.sbatch`` (after the array, whatever its end:
``emorec slurm SUITE --merge``, which merges the shards, makes the suite's late fusion and
renders the leaderboard) and ``logs/``. State comes from the results rows alone, not from
Slurm's accounting: a task that is cancelled, times out or is requeued reruns only the cells its
folder lacks when it runs again."""

from __future__ import annotations

import json
import shlex
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from emorec.data.dataset import Dataset
from emorec.errors import EmorecError
from emorec.store import results
from emorec.sweep import sharding
from emorec.sweep.progress import estimated_seconds
from emorec.sweep.suites import Suite, load_suite
from emorec.system.files import folder_lock, read_json, replace_file

JOB_FILE = "job.json"
SBATCH_TIMEOUT_SECONDS = 60
SQLITE_REFUSED = (
    "a SQLite tracking store is one file that the tasks, on several nodes, would write at once, "
    "and SQLite on a network file system locks up or corrupts: start the shared stores (make "
    "servers) and pass --tracking-uri http://SERVER:5000, or --allow-sqlite when every task "
    "runs on this one machine")


@dataclass(frozen=True)
class Resources:
    """What each array task asks Slurm for (the merge job: one CPU, the same memory, time and
    partition)."""
    cpus_per_task: int = 2
    mem: str = "8G"
    time: str = "04:00:00"
    partition: str = ""
    gpus: int = 0
    parallel: int = 0            # at most this many tasks at once (%K); 0: no limit
    sbatch_lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tune:
    """With ``emorec slurm --tune``: each task is ``emorec tune`` workers on one shared study."""
    model: str
    trials: int
    study: str
    storage: str
    seed: int = 0
    params: tuple[str, ...] = ()   # NAME=VALUE as --param takes them


@dataclass(frozen=True)
class SlurmJob:
    folder: Path               # every path here absolute: the tasks run on other nodes
    suite_file: Path
    shards: int
    results_dir: Path          # the shards are merged into it
    board_dir: Path
    tracking_uri: str
    tracking_timeout: float
    data_dir: Path
    costs_from: Path           # the results folder whose fit times plan the shards
    plugins: tuple[str, ...] = ()
    tune: Tune | None = None
    resources: Resources = field(default_factory=Resources)

    def shard_folder(self, index: int) -> Path:
        return self.folder / "shards" / str(index)

    @property
    def plans(self) -> Path:
        return self.folder / "plans"

    def to_json(self) -> dict:
        data = asdict(self)
        return json.loads(json.dumps(data, default=str))


def emorec_command() -> list[str]:
    """This installation's emorec, by absolute path (the tasks run it on the nodes)."""
    return [sys.executable, "-m", "emorec.cli"]


def check_tracking(tracking_uri: str, allow_sqlite: bool) -> None:
    if tracking_uri.startswith("sqlite") and not allow_sqlite:
        raise EmorecError(f"emorec slurm: --tracking-uri {tracking_uri}: {SQLITE_REFUSED}")


def load_job(folder: Path) -> dict:
    path = Path(folder) / JOB_FILE
    if not path.is_file():
        raise EmorecError(f"{folder}: no Slurm job folder here (no {JOB_FILE}); write one with "
                          "emorec slurm SUITE --shards N")
    return read_json(path, "a Slurm job file written by emorec slurm")


def prepare(job: SlurmJob) -> list[Path]:
    """Write the job folder: plans (kept if there: a resubmission takes the same cells), the
    shard folders, the scripts and ``job.json``. Returns the scripts to submit, array first."""
    suite = load_suite(job.suite_file)
    old = job.folder / JOB_FILE
    if old.is_file():
        _check_same_job(load_job(job.folder), job)
    if job.tune is None:
        for one in suite.each_dataset():
            dataset = Dataset.load(one.dataset_path(job.data_dir))
            cells = _write_plan(job, one, dataset)
            if job.shards > cells:
                raise EmorecError(f"--shards {job.shards}: {one.name} on {dataset.name} has "
                                  f"only {cells} cells; give at most {cells} shards")
        for index in range(1, job.shards + 1):
            job.shard_folder(index).mkdir(parents=True, exist_ok=True)
    else:
        suite.dataset_path(job.data_dir)   # the stand-in, made once before the tasks
    (job.folder / "logs").mkdir(parents=True, exist_ok=True)
    scripts = [job.folder / "array.sbatch"]
    _write_text(scripts[0], array_script(job, suite))
    if job.tune is None:
        scripts.append(job.folder / "merge.sbatch")
        _write_text(scripts[1], merge_script(job, suite))
    _write_text(old, json.dumps(job.to_json(), indent=1) + "\n")
    return scripts


# What a job folder keeps for good: its plans, shard folders and stores belong to them.
FIXED = ("suite_file", "shards", "tune", "results_dir", "tracking_uri", "data_dir")


def _check_same_job(before: dict, job: SlurmJob) -> None:
    """Writing a job folder again (to resubmit) may change what the tasks ask Slurm for, not
    what they compute or where they keep it."""
    now = job.to_json()
    changed = [key for key in FIXED if before.get(key) != now[key]]
    if changed:
        what = "a tuning job" if before.get("tune") else "a sweep"
        raise EmorecError(
            f"{job.folder}: {what} of {before.get('suite_file')} in {before.get('shards')} "
            f"shards, whose {', '.join(changed)} differ from this command's; resubmitting may "
            "change only the resources asked (--time, --mem, ...): give another --job-dir")


def _write_plan(job: SlurmJob, suite: Suite, dataset: Dataset) -> int:
    """The shard plan of ``suite`` on ``dataset`` (kept if written before); its cell count."""
    from emorec.sweep.runner import plan

    path = sharding.plan_file(job.plans, suite.name, dataset.name)
    cells = plan(suite, dataset)
    history = results.load_all(job.costs_from) if job.costs_from.is_dir() else None
    costs = (estimated_seconds(cells, history, dataset.name) if history is not None
             else {cell.key: 10.0 for cell in cells})
    sharding.fixed_costs(path, suite.name, cells, lambda _: costs)
    return len(cells)


def _write_text(path: Path, text: str) -> None:
    replace_file(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def _header(job: SlurmJob, name: str, output: str, array: bool) -> list[str]:
    res = job.resources
    lines = ["#!/bin/bash", f"#SBATCH --job-name={name}"]
    if array:
        throttle = f"%{res.parallel}" if res.parallel else ""
        lines.append(f"#SBATCH --array=0-{job.shards - 1}{throttle}")
    lines += [f"#SBATCH --cpus-per-task={res.cpus_per_task if array else 1}",
              f"#SBATCH --mem={res.mem}", f"#SBATCH --time={res.time}",
              f"#SBATCH --output={job.folder / 'logs' / output}",
              "#SBATCH --open-mode=append", "#SBATCH --requeue"]
    if res.partition:
        lines.append(f"#SBATCH --partition={res.partition}")
    if res.gpus and array:
        lines.append(f"#SBATCH --gres=gpu:{res.gpus}")
    lines += [line if line.startswith("#SBATCH") else f"#SBATCH {line}"
              for line in res.sbatch_lines]
    return lines + ["set -euo pipefail", f"cd {shlex.quote(str(Path.cwd()))}",
                    "export PYTHONUNBUFFERED=1", ""]


def _common(job: SlurmJob) -> list[str]:
    args = ["--tracking-uri", job.tracking_uri, "--tracking-timeout", str(job.tracking_timeout),
            "--data-dir", str(job.data_dir)]
    for plugin in job.plugins:
        args += ["--plugin", plugin]
    return args


class Shell(str):
    """A word the shell expands when the task runs (``"$shard/3"``): written unquoted."""


def _line(*words: str) -> str:
    return " ".join(w if isinstance(w, Shell) else shlex.quote(str(w)) for w in words)


def array_script(job: SlurmJob, suite: Suite) -> str:
    emorec = emorec_command()
    if job.tune is None:
        lines = _header(job, f"emorec-{suite.name}", "task-%a.out", array=True)
        lines += ["shard=$((SLURM_ARRAY_TASK_ID + 1))",
                  _line(*emorec, "bench", job.suite_file,
                        "--shard", Shell(f'"$shard/{job.shards}"'),
                        "--jobs", Shell('"$SLURM_CPUS_PER_TASK"'),
                        "--results-dir",
                        Shell(shlex.quote(f"{job.folder}/shards/") + '"$shard"'),
                        "--shard-plans", job.plans, *_common(job))]
        return "\n".join(lines) + "\n"
    tune = job.tune
    lines = _header(job, f"emorec-tune-{tune.study}", "tune-%a.out", array=True)
    params = [word for param in tune.params for word in ("--param", param)]
    lines += [_line(*emorec, "tune", tune.model, "--dataset", job.suite_file,
                    "--trials", tune.trials, "--study", tune.study, "--storage", tune.storage,
                    "--seed", tune.seed, "--workers", Shell('"$SLURM_CPUS_PER_TASK"'),
                    "--first-worker", Shell('"$((SLURM_ARRAY_TASK_ID * SLURM_CPUS_PER_TASK))"'),
                    *params, *_common(job))]
    return "\n".join(lines) + "\n"


def merge_script(job: SlurmJob, suite: Suite) -> str:
    lines = _header(job, f"emorec-{suite.name}-merge", "merge-%j.out", array=False)
    lines += ["# every shard's rows into the results folder (each cell once), stop if a cell is "
              "missing, then the suite's late fusion and the leaderboard",
              _line(*emorec_command(), "slurm", job.suite_file, "--merge", "--job-dir",
                    job.folder)]
    return "\n".join(lines) + "\n"


def merge_shards(folder: Path) -> dict[str, tuple[int, int]]:
    """The merge job's first step: every shard's rows and kept predictions into the job's
    results folder, each cell once. Returns dataset -> (rows read, cells kept)."""
    job = load_job(folder)
    shards = [Path(folder) / "shards" / str(i) for i in range(1, job["shards"] + 1)]
    out = Path(job["results_dir"])
    with folder_lock(out, "emorec slurm --merge"):
        return results.merge(shards, out)


def fuse_and_render(folder: Path) -> list[Path]:
    """The merge job's last step, once every cell has its row: the suite's late-fusion rows
    from the kept predictions (no cell is fitted), then the leaderboard. Returns its pages."""
    from emorec.report.pages import render_all
    from emorec.sweep.runner import fuse_suite

    job = load_job(folder)
    suite = load_suite(job["suite_file"])
    out = Path(job["results_dir"])
    with folder_lock(out, "emorec slurm --merge"):
        for one in suite.each_dataset():
            if one.fusions:
                dataset = Dataset.load(one.dataset_path(Path(job["data_dir"])))
                fuse_suite(one, dataset.name, out, job["tracking_uri"], job["tracking_timeout"])
    return render_all(out, Path(job["board_dir"]))


# sbatch without SLURM_CONF reads /etc/slurm/slurm.conf, and without that file asks DNS SRV
# records for a cluster: what it says then does not name the cause.
NO_CLUSTER = (" (sbatch found no Slurm cluster: without SLURM_CONF it reads "
              "/etc/slurm/slurm.conf, and without that file looks for one in DNS SRV records; "
              "for make slurm's single-node Slurm, run `source .slurm.env` in this shell first)")
SUBMITTED_FILE = "submitted"   # the job ids of each submission, a line each


def submit(folder: Path, scripts: list[Path]) -> list[str]:
    """Submit the array, then the merge job after it (``afterany``: it runs whatever the
    tasks' end and says what is missing). Refused while a job this folder submitted before is
    still pending or running: two arrays of one folder would race for its shards. Returns the
    job ids, also appended to the folder's ``submitted`` file."""
    sbatch = shutil.which("sbatch")
    if sbatch is None:
        raise EmorecError("emorec slurm --submit: sbatch not found on PATH (Slurm's client "
                          "commands); without --submit the scripts are written only")
    queued = _still_queued(folder)
    if queued:
        raise EmorecError(f"{folder}: its job(s) {', '.join(queued)} submitted before are "
                          "still pending or running; submit again once they have ended (or "
                          "scancel them)")
    ids = []
    for script in scripts:
        command = [sbatch, "--parsable"]
        if ids:
            command.append(f"--dependency=afterany:{ids[0]}")
        done = _slurm_command([*command, str(script)], f"sbatch {script}")
        if done.returncode != 0:
            said = "; ".join(line.strip() for line in done.stderr.splitlines() if line.strip())
            raise EmorecError(f"sbatch {script} refused it: {said}"
                              + (NO_CLUSTER if "DNS SRV" in said else ""))
        ids.append(done.stdout.strip().split(";")[0])
    with (folder / SUBMITTED_FILE).open("a") as handle:
        handle.write(" ".join(ids) + "\n")
    return ids


def _still_queued(folder: Path) -> list[str]:
    """The jobs of earlier submissions of ``folder`` that squeue still lists."""
    path = folder / SUBMITTED_FILE
    ids = path.read_text().split() if path.is_file() else []
    if not ids or shutil.which("squeue") is None:
        return []
    done = _slurm_command(["squeue", "-h", "-o", "%F"], "squeue")   # every job's (array) id
    return sorted(set(done.stdout.split()) & set(ids)) if done.returncode == 0 else []


def _slurm_command(command: list[str], what: str) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(command, capture_output=True, text=True,
                              timeout=SBATCH_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        raise EmorecError(f"{what}: no answer from slurmctld within {SBATCH_TIMEOUT_SECONDS} "
                          "s") from None


@dataclass(frozen=True)
class ShardState:
    dataset: str
    index: int
    done: int
    total: int
    expected_seconds: float


def status(folder: Path) -> tuple[list[ShardState], dict[str, tuple[int, int]]]:
    """Per shard (and dataset): cells with a row in its folder / cells of its plan; and per
    dataset, cells of the suite in the merged folder / all."""
    from emorec.sweep.runner import plan

    job = load_job(folder)
    folder = Path(folder)
    suite = load_suite(job["suite_file"])
    data_dir = Path(job["data_dir"])
    shards, merged = [], {}
    for one in suite.each_dataset():
        dataset = Dataset.load(one.dataset_path(data_dir))
        cells = plan(one, dataset)
        path = sharding.plan_file(folder / "plans", one.name, dataset.name)
        costs = sharding.fixed_costs(path, one.name, cells, None) if path.is_file() else None
        if costs is None:
            raise EmorecError(f"{path}: missing; write the job again with emorec slurm")
        for index, members in enumerate(sharding.assign(cells, job["shards"], costs), start=1):
            rows = results.load(results.results_path(folder / "shards" / str(index),
                                                     dataset.name))
            keys = set(rows["cell_key"])
            shards.append(ShardState(dataset.name, index, sum(c.key in keys for c in members),
                                     len(members), sum(costs[c.key] for c in members)))
        kept = set(results.load(results.results_path(Path(job["results_dir"]),
                                                      dataset.name))["cell_key"])
        merged[dataset.name] = (sum(c.key in kept for c in cells), len(cells))
    return shards, merged
