"""How evenly a suite's cells split into shards: the largest shard's expected fit time over
the mean shard's, dealt every n-th cell (the plan before) and longest-expected-first (the plan
``emorec bench --shard`` and ``emorec slurm`` use now), for several shard counts.

Expected costs are what a shard plan reads: each cell's earlier fit time in the results folder
(``emorec.sweep.progress.estimated_seconds``). Nothing is fitted.

    python benchmarks/perf/shard_balance.py sewa --out benchmarks/perf/results/shard-balance.md
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emorec.data.dataset import Dataset
from emorec.store import results
from emorec.sweep import sharding
from emorec.sweep.planning import plan
from emorec.sweep.progress import estimated_seconds
from emorec.sweep.suites import load_suite
from emorec.system.provenance import code_version

sys.path.insert(0, str(Path(__file__).parent))
from machine import publish  # noqa: E402

COUNTS = (2, 3, 4, 8, 16)


def every_nth(cells, count):
    return [cells[i::count] for i in range(count)]


def balance(suite_name: str, results_dir: Path, data_dir: Path) -> list[dict]:
    rows = []
    history = results.load_all(results_dir)
    for suite in load_suite(f"benchmarks/{suite_name}.toml").each_dataset():
        dataset = Dataset.load(suite.dataset_path(data_dir))
        cells = plan(suite, dataset)
        costs = estimated_seconds(cells, history, dataset.name)
        total = sum(costs[c.key] for c in cells)
        for count in COUNTS:
            mean = total / count
            before = max(sum(costs[c.key] for c in s) for s in every_nth(cells, count))
            after = max(sum(costs[c.key] for c in s)
                        for s in sharding.assign(cells, count, costs))
            rows.append({"dataset": dataset.name, "cells": len(cells), "shards": count,
                         "mean": mean, "before": before, "after": after,
                         "largest_cell": max(costs.values())})
    return rows


def report(suite: str, rows: list[dict], results_dir: Path) -> str:
    lines = [f"# Shard balance: suite {suite}", "",
             f"Made by `python benchmarks/perf/shard_balance.py {suite}` at commit "
             f"{code_version()}, expected costs from `{results_dir}` (each cell's recorded fit "
             "seconds, one thread: core-s). Max/mean: the largest shard's expected core-s over "
             "the mean shard's; a sweep's wall time follows its largest shard.", "",
             "| dataset | cells | shards | mean core-s | every n-th: max | max/mean | "
             "longest first: max | max/mean |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['dataset']} | {r['cells']} | {r['shards']} | {r['mean']:.0f} | "
                     f"{r['before']:.0f} | {r['before'] / r['mean']:.3f} | {r['after']:.0f} | "
                     f"{r['after'] / r['mean']:.3f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", help="suite name, benchmarks/<suite>.toml")
    parser.add_argument("--results-dir", type=Path, default=Path("leaderboard/results"))
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    text = report(args.suite, balance(args.suite, args.results_dir, args.data_dir),
                  args.results_dir)
    publish(text, args.out)


if __name__ == "__main__":
    main()
