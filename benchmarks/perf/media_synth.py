"""Run `make bench-media` afresh (runs/media is replaced) and keep its board and results.

The results folder of the run (rows, kept predictions, models.json) is kept in
``benchmarks/perf/results/media-synth/``, and the board and its figures are rendered from it into
``benchmarks/perf/results/``, under a line saying which run made them:

    python benchmarks/perf/media_synth.py

After a change of the board's layout (not of what the run computes), ``--render-only`` renders
the kept results again, without a run; ``tests/test_kept_reports.py`` fails until one of the two
has been done. The corpus is a stand-in whose extracted features depend on the machine's library
builds: these rows are not committed results, and CI cannot verify them.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from machine import processor  # noqa: E402

from emorec.report.pages import render_all  # noqa: E402
from emorec.system.provenance import code_version  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "runs" / "media"                     # where make bench-media writes (MEDIA)
REPORTS = ROOT / "benchmarks" / "perf" / "results"
DATASET = "media-synth"
KEPT = REPORTS / DATASET                          # the run's results folder, kept
PAGE = REPORTS / f"{DATASET}.md"
COMMAND = "python benchmarks/perf/media_synth.py"
HEADER = re.compile(r"^<!-- (.*?) -->\n\n", re.S)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--render-only", action="store_true",
                        help="render the kept results again (after a change of the board's "
                             "layout), without running anything")
    parser.add_argument("--keep-venv", action="store_true",
                        help="run make with -o install: the .venv as it is, never reinstalled")
    args = parser.parse_args()
    if args.render_only:
        run = HEADER.match(PAGE.read_text(encoding="utf-8")).group(1).split(". Not ")[0]
        run = re.sub(r"; rendered again at commit \S+", "", run)
        keep(f"{run}; rendered again at commit {code_version()[:12]}")
        return 0
    shutil.rmtree(RUN, ignore_errors=True)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    skip_install = ["-o", "install", "-o", ".venv/bin/emorec"] if args.keep_venv else []
    subprocess.run(["make", "-s", *skip_install, "bench-media"], cwd=ROOT, check=True)
    wall = time.perf_counter() - started
    shutil.rmtree(KEPT, ignore_errors=True)
    shutil.copytree(RUN / "results", KEPT, ignore=shutil.ignore_patterns("*.lock", "shard-plans"))
    minutes, seconds = divmod(round(wall), 60)
    keep(f"Made by `{COMMAND}`: a fresh run of `make bench-media` ({minutes} min {seconds} s "
         f"on {processor()}, load average {load:.2f} at the start, CPU) at commit "
         f"{code_version()[:12]}, its results kept in [media-synth/](media-synth/) and the "
         f"board below rendered from them (`{COMMAND} --render-only` renders them again)")
    return 0


def keep(run: str) -> None:
    """Render the kept results into the report and its figures, under a line naming ``run``."""
    with tempfile.TemporaryDirectory() as scratch:
        board = Path(scratch) / "board"
        render_all(KEPT, board)
        for figure in sorted((board / "figures").glob(f"{DATASET}-*.png")):
            shutil.copyfile(figure, REPORTS / "figures" / figure.name)
        text = (board / f"{DATASET}.md").read_text(encoding="utf-8")
    PAGE.write_text(f"<!-- {run}. Not a committed leaderboard: extracted features depend on the "
                    "machine's library builds in their last digits, so CI cannot verify these "
                    "rows; the media chain itself runs in CI as tests/test_extract_slow.py. -->"
                    f"\n\n{text}", encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)} and its figures")


def rendered_board() -> tuple[str, str]:
    """The kept page's board, and the board today's code renders from the kept results (figures
    are not drawn again): what tests/test_kept_reports.py compares."""
    from emorec.report.board import Board
    from emorec.report.pages import render
    from emorec.store import facts, results

    kept = HEADER.sub("", PAGE.read_text(encoding="utf-8"), count=1)
    table = results.load_all(KEPT)
    board = Board(table[table["dataset"] == DATASET], facts.load_models(KEPT))
    links = re.findall(r"^!\[(.*)\]\((figures/[^)]*)\)$", kept, re.M)
    return kept, render(board, links)


if __name__ == "__main__":
    sys.exit(main())
