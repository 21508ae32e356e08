"""A suite through a Slurm job array beside the same suite on one machine: wall times.

Runs ``emorec bench SUITE --jobs J`` into a fresh folder, then ``emorec slurm SUITE --shards N
--parallel K --cpus-per-task C --submit`` into a fresh job folder, and times the array (submit
until its last task ends) and the whole job (until the merge job, with late fusion and the
leaderboard, ends). Needs a running Slurm (``make slurm``; SLURM_CONF set) whose node has
J CPUs free, like the machine the local run uses. Both logs to their own SQLite store unless
--tracking-uri names a server.

    python benchmarks/perf/slurm_vs_local.py quick --shards 3 --parallel 2 \\
        --out benchmarks/perf/results/slurm-quick.md
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from emorec.system.provenance import code_version

sys.path.insert(0, str(Path(__file__).parent))
from machine import processor, publish  # noqa: E402

EMOREC = [sys.executable, "-m", "emorec.cli"]


def wait_for(ids: list[str]) -> None:
    while subprocess.run(["squeue", "-h", "-j", ",".join(ids)], capture_output=True,
                         text=True, timeout=30).stdout.strip():
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", help="suite name, benchmarks/<suite>.toml")
    parser.add_argument("--shards", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--cpus-per-task", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=2, help="the local run's --jobs")
    parser.add_argument("--tracking-uri", default=None)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    suite = Path(f"benchmarks/{args.suite}.toml").resolve()
    work = Path(tempfile.mkdtemp(prefix="emorec-slurm-bench-"))
    stores = ([] if args.tracking_uri is None else ["--tracking-uri", args.tracking_uri])
    load_local = os.getloadavg()[0]
    start = time.monotonic()
    subprocess.run([*EMOREC, "-q", "bench", str(suite), "--jobs", str(args.jobs),
                    "--results-dir", str(work / "local"),
                    *(stores or ["--tracking-uri", f"sqlite:///{work}/local.db"])],
                   check=True, stdout=subprocess.DEVNULL)
    local = time.monotonic() - start
    load_slurm = os.getloadavg()[0]
    start = time.monotonic()
    done = subprocess.run(
        [*EMOREC, "-q", "slurm", str(suite), "--shards", str(args.shards), "--parallel",
         str(args.parallel), "--cpus-per-task", str(args.cpus_per_task), "--mem", "3G",
         "--time", "60", "--job-dir", str(work / "job"), "--submit",
         *(stores or ["--tracking-uri", f"sqlite:///{work}/slurm.db", "--allow-sqlite"])],
        check=True, capture_output=True, text=True)
    array, merge = re.findall(r"(?:array|merge) job (\d+)", done.stdout)
    wait_for([array])
    array_wall = time.monotonic() - start
    wait_for([merge])
    whole = time.monotonic() - start
    status = subprocess.run([*EMOREC, "-q", "slurm", str(suite), "--status", "--job-dir",
                             str(work / "job")], capture_output=True, text=True)
    lines = [
        f"# Suite {args.suite} through Slurm and on one machine", "",
        f"Made by `python benchmarks/perf/slurm_vs_local.py {args.suite} --shards {args.shards} "
        f"--parallel {args.parallel}` at commit {code_version()} on {processor()}, a "
        "single-node Slurm on the same machine (`make slurm`), every cell fitted afresh in "
        "both. Load average before: "
        f"{load_local:.2f} (local), {load_slurm:.2f} (Slurm).", "",
        "| run | wall s |", "|---|---:|",
        f"| `emorec bench --jobs {args.jobs}` (one machine; includes late fusion) | "
        f"{local:.0f} |",
        f"| `emorec slurm --shards {args.shards} --parallel {args.parallel} --cpus-per-task "
        f"{args.cpus_per_task}`: submit to the array's end | {array_wall:.0f} |",
        f"| the same, to the merge job's end (merge, late fusion, leaderboard) | {whole:.0f} |",
        "", "Status after the merge job:", "", "```", status.stdout.strip(), "```"]
    text = "\n".join(lines) + "\n"
    publish(text, args.out)


if __name__ == "__main__":
    main()
