"""Writing a job folder: the shard plans (kept when there, so that a resubmission takes the same
cells), the shard folders, the scripts and ``job.json``; written again (to resubmit), it may
change what the tasks ask Slurm for, never what they compute or where they keep it."""

from __future__ import annotations

import json
from pathlib import Path

from emorec.data.dataset import Dataset
from emorec.errors import EmorecError
from emorec.store import results
from emorec.sweep import sharding
from emorec.sweep.progress import estimated_seconds
from emorec.sweep.slurm.job import JOB_FILE, SlurmJob, job_suite, load_job
from emorec.sweep.slurm.scripts import array_script, merge_script
from emorec.sweep.suites import Suite
from emorec.system.files import replace_file


def prepare(job: SlurmJob) -> list[Path]:
    """Write the job folder: plans (kept if there: a resubmission takes the same cells), the
    shard folders, the scripts and ``job.json``. Returns the scripts to submit, array first."""
    suite = job_suite(job.suite_file, job.device)
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
FIXED = ("suite_file", "shards", "tune", "results_dir", "tracking_uri", "data_dir", "device")


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
    from emorec.sweep.planning import plan

    path = sharding.plan_file(job.plans, suite.name, dataset.name)
    cells = plan(suite, dataset)
    history = results.load_all(job.costs_from) if job.costs_from.is_dir() else None
    costs = (estimated_seconds(cells, history, dataset.name) if history is not None
             else {cell.key: 10.0 for cell in cells})
    sharding.fixed_costs(path, suite.name, cells, lambda _: costs)
    return len(cells)


def _write_text(path: Path, text: str) -> None:
    replace_file(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
