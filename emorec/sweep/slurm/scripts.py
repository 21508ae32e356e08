"""The job's sbatch scripts: the array (each task ``emorec bench`` on its shard, or ``emorec
tune`` workers on the shared study) and the merge job, every word the shell does not expand
quoted, this installation's emorec called by absolute path (the tasks run it on the nodes)."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from emorec.sweep.slurm.job import SlurmJob
from emorec.sweep.suites import Suite


def emorec_command() -> list[str]:
    """This installation's emorec, by absolute path (the tasks run it on the nodes)."""
    return [sys.executable, "-m", "emorec.cli"]


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
                        "--shard-plans", job.plans,
                        *(["--device", job.device] if job.device else []), *_common(job))]
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
