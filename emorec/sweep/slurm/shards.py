"""A job's shards read from their results rows alone (not Slurm's accounting): how many cells of
its plan each shard has done and how many the merged folder has (``--status``), and every
shard's rows merged into the job's results folder (the merge job's first step)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from emorec.data.dataset import Dataset
from emorec.errors import EmorecError
from emorec.store import results
from emorec.sweep import sharding
from emorec.sweep.slurm.job import job_suite, load_job
from emorec.system.files import folder_lock


def merge_shards(folder: Path) -> dict[str, tuple[int, int]]:
    """The merge job's first step: every shard's rows and kept predictions into the job's
    results folder, each cell once. Returns dataset -> (rows read, cells kept)."""
    job = load_job(folder)
    shards = [Path(folder) / "shards" / str(i) for i in range(1, job["shards"] + 1)]
    out = Path(job["results_dir"])
    with folder_lock(out, "emorec slurm --merge"):
        return results.merge(shards, out)


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
    from emorec.sweep.planning import plan

    job = load_job(folder)
    folder = Path(folder)
    suite = job_suite(job["suite_file"], job.get("device"))
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
