"""How planning a sweep scales with its cells: plan, expected costs and the shard plan of a
grid of N cells (decision_tree over N/3 depths, 3 seeds, on the tiny stand-in), timed in one
process for several N, as seconds per 1,000 cells. Near-linear planning keeps that figure flat.

    python benchmarks/perf/plan_scaling.py --out benchmarks/perf/results/plan-scaling.md
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from emorec.data.dataset import Dataset
from emorec.store import results
from emorec.sweep import sharding
from emorec.sweep.planning import check_needs, plan
from emorec.sweep.progress import estimated_seconds
from emorec.sweep.suites import load_suite
from emorec.system.provenance import code_version

sys.path.insert(0, str(Path(__file__).parent))
from machine import processor, publish  # noqa: E402

SIZES = (300, 3000, 9000, 30000)


def timed(cells: int, work: Path) -> float:
    depths = list(range(1, cells // 3 + 1))
    path = work / f"grid{cells}.toml"
    path.write_text(f'name = "grid{cells}"\nseeds = [0, 1, 2]\n[dataset]\n'
                    'stand_in = { kind = "sewa", size = "tiny", seed = 0 }\n'
                    '[[experiments]]\nmodel = "decision_tree"\n'
                    f'grid = {{ max_depth = {depths} }}\n')
    start = time.perf_counter()
    suite = load_suite(path)
    dataset = Dataset.load(suite.dataset_path(work / "data"))
    planned = plan(suite, dataset)
    check_needs(planned, dataset)
    costs = estimated_seconds(planned, results.load_all(Path("leaderboard/results")),
                              dataset.name)
    sharding.shard_cells(planned, (1, max(1, cells // 3)), costs)
    assert len(planned) == cells
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="emorec-plan-"))
    timed(30, work)   # the stand-in generated and every import done before timing
    rows = [(cells, timed(cells, work)) for cells in SIZES]
    lines = ["# Planning time against the number of cells", "",
             f"Made by `python benchmarks/perf/plan_scaling.py` at commit {code_version()} on "
             f"{processor()}: load the suite, plan its cells, check their needs, expected costs "
             "from leaderboard/results and the shard plan for N/3 shards, in one process.", "",
             "| cells | seconds | seconds per 1,000 cells |", "|---:|---:|---:|"]
    lines += [f"| {cells} | {seconds:.2f} | {seconds / cells * 1000:.3f} |"
              for cells, seconds in rows]
    text = "\n".join(lines) + "\n"
    publish(text, args.out)


if __name__ == "__main__":
    main()
