"""Every speed benchmark on an accelerator in one command: suite times, extraction, profile, seeds.

The suites' wall times with the nets trained there, the extraction models' throughput, the
training loop's profile and the seed batching comparison, each report written to
``benchmarks/perf/results/<name>-<device>.md``.

    python benchmarks/perf/on_device.py --device cuda [--suites quick sewa] [--jobs 2]

Each benchmark runs as its own process, in this order, and the first that fails stops the run
(its command is printed): the reports already written are kept. Nothing is downloaded: the
extraction benchmark builds its models from configurations, and the suites run on their
generated stand-ins (generated first when ``data/`` lacks them).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

PERF = Path(__file__).resolve().parent
RESULTS = PERF / "results"


def commands(device: str, suites: list[str], jobs: int) -> list[list[str]]:
    python = sys.executable
    return [
        [python, str(PERF / "suite_times.py"), *suites, "--jobs", str(jobs), "--device", device,
         "--out", str(RESULTS / f"suites-{device}.md")],
        [python, str(PERF / "extraction_speed.py"), "--device", device,
         "--out", str(RESULTS / f"extraction-{device}.md")],
        [python, str(PERF / "training_profile.py"), "--device", device,
         "--out", str(RESULTS / f"training-profile-{device}.md")],
        [python, str(PERF / "seed_batching.py"), "--device", device,
         "--out", str(RESULTS / f"seed-batching-{device}.md")],
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="where the nets run (default: cuda)")
    parser.add_argument("--suites", nargs="+", default=["quick", "sewa"],
                        help="suites to time (default: quick sewa)")
    parser.add_argument("--jobs", type=int, default=2, help="emorec bench --jobs")
    args = parser.parse_args()
    if args.device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            print(f"--device {args.device}: torch {torch.__version__} sees no CUDA device "
                  "(a CPU build, or no GPU); nothing was run", file=sys.stderr)
            return 2
    for command in commands(args.device, args.suites, args.jobs):
        started = time.perf_counter()
        print("$", " ".join(command), flush=True)
        if subprocess.run(command).returncode != 0:
            print(f"stopped: {' '.join(command)} failed", file=sys.stderr)
            return 1
        print(f"({time.perf_counter() - started:.0f} s)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
