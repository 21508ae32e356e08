"""A sweep split into shards for several machines or a Slurm job array: every cell in exactly
one shard, shards of near-equal expected cost.

Cells are dealt longest-expected-first, each to the shard with the least expected cost so far
(LPT scheduling: the largest shard exceeds the mean by less than the largest cell). Every shard
must compute the same plan, also when it resumes after a kill, while the rows it writes would
change the expected costs; so the costs are fixed once, in a *plan file* ({cell key: expected
seconds}) that every shard of a sweep reads: written on a shard's first start from its results
folder's history (machines that start from the same folder compute the same file), or once for
the whole job array by ``emorec slurm``; one file per suite and dataset."""

from __future__ import annotations

import heapq
import json
from pathlib import Path

from emorec.cells import Cell
from emorec.errors import EmorecError
from emorec.system.files import read_json, replace_file

PLAN_FOLDER = "shard-plans"


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> (i, n) with 1 <= i <= n."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        index = count = 0
    if not 1 <= index <= count:
        raise EmorecError(f"--shard must be i/n with 1 <= i <= n (for example 2/3), found {text!r}")
    return index, count


def assign(cells: list[Cell], count: int, costs: dict[str, float]) -> list[list[Cell]]:
    """The ``count`` shards of a plan: cells in descending expected cost (ties in plan order)
    each go to the shard with the least expected cost so far (ties to the lowest number). Each
    shard keeps its cells in plan order."""
    order = sorted(range(len(cells)), key=lambda i: (-costs[cells[i].key], i))
    lightest = [(0.0, shard) for shard in range(count)]   # a heap of (expected cost, shard)
    members = [[] for _ in range(count)]
    for i in order:
        load, shard = heapq.heappop(lightest)
        members[shard].append(i)
        heapq.heappush(lightest, (load + costs[cells[i].key], shard))
    return [[cells[i] for i in sorted(chosen)] for chosen in members]


def shard_cells(cells: list[Cell], shard: tuple[int, int], costs: dict[str, float]) -> list[Cell]:
    """Shard i of n (1-based) of the plan ``cells``."""
    index, count = shard
    return cells if count == 1 else assign(cells, count, costs)[index - 1]


def plan_file(folder: Path, suite: str, dataset: str) -> Path:
    """Where the shard plan of ``suite`` on ``dataset`` is kept in a folder of plans (by
    default ``<results folder>/shard-plans``; a Slurm job's own ``plans`` folder)."""
    return Path(folder) / f"{suite}-{dataset}.json"


def write_plan_file(path: Path, suite: str, costs: dict[str, float]) -> None:
    text = json.dumps({"suite": suite, "expected_seconds": costs}, indent=1, sort_keys=True)
    replace_file(Path(path), lambda tmp: tmp.write_text(text + "\n", encoding="utf-8"))


def read_plan_file(path: Path, suite: str) -> dict[str, float]:
    """The expected costs of a plan file written for ``suite``."""
    data = read_json(path, "shard plan file")
    if not isinstance(data, dict) or not isinstance(data.get("expected_seconds"), dict):
        raise EmorecError(f"{path}: not a shard plan file (expected a JSON object with "
                          "'expected_seconds')")
    if data.get("suite") != suite:
        raise EmorecError(f"{path}: a shard plan of suite {data.get('suite')!r}, not {suite!r}")
    return {str(key): float(value) for key, value in data["expected_seconds"].items()}


def fixed_costs(path: Path, suite: str, cells: list[Cell], history_costs) -> dict[str, float]:
    """The expected costs every shard of this sweep shares: read from the plan file ``path``,
    or, when it does not exist yet, computed by ``history_costs(cells)`` and written there.
    A plan file that lacks one of the cells was made for another suite or other code: the
    shards of one sweep cannot share it."""
    path = Path(path)
    if not path.exists():
        write_plan_file(path, suite, history_costs(cells))
    costs = read_plan_file(path, suite)
    missing = [cell for cell in cells if cell.key not in costs]
    if missing:
        raise EmorecError(
            f"{path}: the shard plan has no cell {missing[0].key} ({missing[0].model}, "
            f"{len(missing)} cells missing): the suite, its data or the code changed since the "
            "plan was made; finish the sweep with the code it started with, or start a new "
            "sweep (delete the plan file from every shard's results folder, or a new job folder)")
    return costs
