"""Wall time, CPU core-minutes and peak memory of whole suites, against their time targets.

Runs ``emorec bench SUITE --jobs N`` for each suite into one results folder and one MLflow store
(by default a fresh temporary folder: every cell runs), timing each run and sampling the peak
resident memory of its whole process tree (:mod:`measure_run`), and writes a report with the
machine, the commit, the load average before each run, the cells fitted (late-fusion rows,
made from kept predictions, are not cells), the sum of their ``fit_core_seconds`` and each
suite's target.

    python benchmarks/perf/suite_times.py quick sewa sewa_lag afew_va seq_recipe --jobs 2 \\
        --out benchmarks/perf/results/suites-cpu.md

A suite that shares cells with one run before it into the same folder (the lag study's lag 0 and
the SEWA suite) fits only its own: :func:`planned_cells` says how many each will fit, from the
suite files alone (``tests/test_kept_reports.py`` checks the kept reports against it).

With ``--results-dir leaderboard/results`` (emptied first) the same run is the full rerun whose
rows are committed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

from emorec.cells import canonical_params
from emorec.data.resolve import stand_in_folder
from emorec.models import MODELS
from emorec.sweep.planning import cell_seeds
from emorec.sweep.suites import load_suite
from emorec.system.provenance import code_version

sys.path.insert(0, str(Path(__file__).parent))
from machine import processor  # noqa: E402
from measure_run import run_measured  # noqa: E402

# Wall-time targets on an idle 2-core machine with 2 jobs, in minutes, with the suites' seeds.
TARGETS = {"quick": 0.5, "sewa": 15.0, "sewa_lag": 6.0, "afew_va": 3.0}
BENCHMARKS = Path(__file__).resolve().parents[1]
LATE_FUSION = "late fusion"   # the family of rows made from kept predictions, not fitted


def planned_cells(suites: list[str]) -> list[int]:
    """How many cells each suite fits when the suites run one after the other into one fresh
    results folder on their stand-ins (as this script runs them): a cell an earlier suite
    fitted (the same stand-in, frame rate, model, params and seed) is not fitted again."""
    seen: set[tuple] = set()
    counts = []
    for name in suites:
        cells = {cell for suite in load_suite(BENCHMARKS / f"{name}.toml").each_dataset()
                 for cell in _cells(suite)}
        counts.append(len(cells - seen))
        seen |= cells
    return counts


def _cells(suite) -> set[tuple]:
    dataset = (str(stand_in_folder(suite.stand_in, Path())), suite.fps)
    return {(dataset, experiment.model, canonical_params(experiment.params), seed)
            for experiment in suite.experiments
            for seed in cell_seeds(MODELS.get(experiment.model), suite.seeds)}


def run_suite(suite: str, jobs: int, results_dir: Path, tracking_uri: str,
              device: str | None = None) -> dict:
    before = _rows(results_dir)
    load = os.getloadavg()[0]
    command = [sys.executable, "-m", "emorec.cli", "bench", f"benchmarks/{suite}.toml", "--jobs",
               str(jobs), "--results-dir", str(results_dir), "--tracking-uri", tracking_uri,
               *(["--device", device] if device else [])]
    returncode, wall, peak = run_measured(command)
    if returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited with {returncode}")
    new = _rows(results_dir).loc[lambda rows: ~rows["cell_key"].isin(before["cell_key"])
                                 & (rows["family"] != LATE_FUSION)]
    seeds = len(load_suite(BENCHMARKS / f"{suite}.toml").seeds)
    return {"suite": suite, "seeds": seeds, "load": load, "wall": wall, "peak": peak,
            "cells": len(new),
            "core_seconds": float(new["fit_core_seconds"].sum()),
            "fit_seconds": float(new["fit_seconds"].sum())}


COLUMNS = ["cell_key", "family", "fit_core_seconds", "fit_seconds"]


def _rows(results_dir: Path) -> pd.DataFrame:
    files = sorted(Path(results_dir).glob("*.csv"))
    if not files:
        return pd.DataFrame({column: [] for column in COLUMNS})
    return pd.concat([pd.read_csv(f, usecols=COLUMNS) for f in files], ignore_index=True)


def report(runs: list[dict], jobs: int, code: str, device: str | None = None) -> str:
    """The report's markdown."""
    on = f" --device {device}" if device else ""
    lines = ["# Suite times", "",
             f"Made by `python benchmarks/perf/suite_times.py {' '.join(r['suite'] for r in runs)}"
             f" --jobs {jobs}{on}` at commit {code} on {processor()}, every cell run (a fresh "
             "results folder; cells: those a suite fitted, not those an earlier suite had "
             "fitted, nor late-fusion rows). Fit core-min: the cells' `fit_core_seconds` "
             "summed; the rest of the wall time is set-up, views, scoring and MLflow. Peak "
             "memory: resident memory of the bench and all its workers together.", "",
             "| suite | seeds | cells | load before | wall min | target min | fit core-min | "
             "peak memory GiB |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for run in runs:
        target = TARGETS.get(run["suite"])
        verdict = "" if target is None else (f"{target:g} (met)" if run["wall"] / 60 <= target
                                             else f"{target:g} (missed)")
        lines.append(f"| {run['suite']} | {run['seeds']} | {run['cells']} | {run['load']:.2f} | "
                     f"{run['wall'] / 60:.1f} | {verdict} | {run['core_seconds'] / 60:.1f} | "
                     f"{run['peak'] / 2**30:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suites", nargs="+", help="suite names under benchmarks/ (e.g. sewa)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--results-dir", type=Path,
                        help="results folder (default: a fresh temporary one)")
    parser.add_argument("--tracking-uri", help="MLflow store (default: SQLite in the results "
                                               "folder's parent)")
    parser.add_argument("--device", help="train the nets there (emorec bench --device): cuda")
    parser.add_argument("--out", type=Path, help="also write the report to this markdown file")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="emorec-suite-times-"))
    results_dir = args.results_dir or scratch / "results"
    tracking_uri = args.tracking_uri or f"sqlite:///{scratch / 'mlflow.db'}"
    code = code_version()   # before the runs: the results they write do not make the code dirty
    runs = [run_suite(suite, args.jobs, results_dir, tracking_uri, args.device)
            for suite in args.suites]
    text = report(runs, args.jobs, code, args.device)
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
