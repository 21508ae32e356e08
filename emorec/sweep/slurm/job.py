"""What a Slurm job is: what its tasks run and where (:class:`SlurmJob`), what each asks Slurm
for (:class:`Resources`), a tuning job's study (:class:`Tune`), and its ``job.json`` read back;
a SQLite tracking store, which tasks on several nodes would corrupt, is refused."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from emorec.errors import EmorecError
from emorec.sweep.suites import Suite, load_suite
from emorec.system.files import read_json

JOB_FILE = "job.json"
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
    device: str | None = None  # every net of the sweep trains there (emorec bench --device)

    def shard_folder(self, index: int) -> Path:
        return self.folder / "shards" / str(index)

    @property
    def plans(self) -> Path:
        return self.folder / "plans"

    def to_json(self) -> dict:
        data = asdict(self)
        return json.loads(json.dumps(data, default=str))


def job_suite(suite_file: Path | str, device: str | None) -> Suite:
    """The suite the tasks run: the file's, its nets on ``device`` when one is given (so the
    plans, the tasks and the merge agree on the cells)."""
    suite = load_suite(Path(suite_file))
    return suite.on_device(device) if device else suite


def check_tracking(tracking_uri: str, allow_sqlite: bool) -> None:
    if tracking_uri.startswith("sqlite") and not allow_sqlite:
        raise EmorecError(f"emorec slurm: --tracking-uri {tracking_uri}: {SQLITE_REFUSED}")


def load_job(folder: Path) -> dict:
    path = Path(folder) / JOB_FILE
    if not path.is_file():
        raise EmorecError(f"{folder}: no Slurm job folder here (no {JOB_FILE}); write one with "
                          "emorec slurm SUITE --shards N")
    return read_json(path, "a Slurm job file written by emorec slurm")
