"""Run a command; report its wall time and the peak total resident memory of its whole process
tree (the command and every worker it starts), sampled from /proc every half second (Linux).

    python benchmarks/perf/measure_run.py -- make bench-sewa
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def tree_rss_bytes(root: int) -> int:
    tree, stack, total = _children(), [root], 0
    while stack:
        pid = stack.pop()
        stack.extend(tree.get(pid, []))
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def run_measured(command: list[str]) -> tuple[int, float, int]:
    """Run ``command``; its exit code, wall seconds and peak resident bytes of its tree."""
    start, peak = time.perf_counter(), 0
    process = subprocess.Popen(command)
    while process.poll() is None:
        peak = max(peak, tree_rss_bytes(process.pid))
        time.sleep(0.5)
    return process.returncode, time.perf_counter() - start, peak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    returncode, wall, peak = run_measured(command)
    print(f"measure_run: {' '.join(command)}: exit {returncode}, wall {wall:.1f} s "
          f"({wall / 60:.1f} min), peak RSS of the process tree {peak / 2**30:.2f} GiB "
          f"on {os.cpu_count()} cores", file=sys.stderr)
    return returncode


if __name__ == "__main__":
    sys.exit(main())
