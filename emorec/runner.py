"""A suite's sweep: suite -> cells -> evaluated in worker processes -> MLflow runs and result rows
(written by the main process alone); cells already in the results file are skipped."""

from __future__ import annotations

import logging
import os
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import torch
from tabulate import tabulate
from tqdm import tqdm

from emorec import __version__, results, traces
from emorec.data import synth
from emorec.data.dataset import MANIFEST_FILE, Dataset
from emorec.display import format_params
from emorec.errors import EmorecError
from emorec.evaluation import evaluate_cell
from emorec.models import MODELS
from emorec.suites import Suite
from emorec.tracking import DEFAULT_TRACKING_URI, Tracker
from emorec.tuning.tuned import Tuned

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cell:
    model: str
    params: dict
    seed: int
    key: str
    tuned_by: str = ""    # the Optuna study whose best params these are


def resolve_dataset(suite: Suite, data_dir: Path) -> Path:
    """The suite's real dataset when present, else its stand-in (generated once, cached)."""
    if suite.real_dataset is not None and (suite.real_dataset / MANIFEST_FILE).is_file():
        log.info("using real features at %s", suite.real_dataset)
        return suite.real_dataset
    kind, size = suite.stand_in["kind"], suite.stand_in.get("size", "full")
    seed = int(suite.stand_in.get("seed", 0))
    folder = Path(data_dir) / f"{kind}-synth-{size}-seed{seed}"
    log.warning("STAND-IN: no real features at %s; running on the generated %s-synth "
                "(%s, seed %d) in %s. Results are labelled stand-in.",
                suite.real_dataset or "(none configured)", kind, size, seed, folder)
    if not (folder / MANIFEST_FILE).is_file():
        synth.generate(kind, size, seed).save(folder)
    return folder


def plan(suite: Suite, dataset: Dataset) -> list[Cell]:
    split_hash = dataset.split().hash
    cells = []
    for experiment in suite.experiments:
        spec = MODELS.get(experiment.model)
        if spec.stand_in_only and not dataset.manifest.is_stand_in:
            log.info("skipping %s: it needs a stand-in dataset", spec.name)
            continue
        for seed in suite.seeds:
            key = results.cell_key(dataset.manifest.fingerprint, split_hash, spec.name,
                                   experiment.params, seed)
            cells.append(Cell(spec.name, experiment.params, seed, key))
    return cells


def tuned_plan(suite: Suite, dataset: Dataset, tuned: Tuned) -> list[Cell]:
    """The study's model with its best params, on the suite's seeds. Refused on data other
    than the data the study tuned on: the params were chosen on that dataset's dev sessions."""
    split_hash = dataset.split().hash
    if (tuned.fingerprint, tuned.split_hash) != (dataset.manifest.fingerprint, split_hash):
        raise EmorecError(
            f"--params-from {tuned.study}: the study tuned on dataset fingerprint "
            f"{tuned.fingerprint} split {tuned.split_hash}, but suite {suite.name} runs on "
            f"{dataset.name} (fingerprint {dataset.manifest.fingerprint}, split {split_hash})")
    params = MODELS.get(tuned.model).params(tuned.params)
    return [Cell(tuned.model, params, seed,
                 results.cell_key(dataset.manifest.fingerprint, split_hash, tuned.model, params,
                                  seed, tuned.study), tuned.study)
            for seed in suite.seeds]


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> (i, n) with 1 <= i <= n."""
    try:
        index, count = (int(part) for part in text.split("/"))
    except ValueError:
        index = count = 0
    if not 1 <= index <= count:
        raise EmorecError(f"--shard must be i/n with 1 <= i <= n (for example 2/3), found {text!r}")
    return index, count


def shard_cells(cells: list[Cell], shard: tuple[int, int]) -> list[Cell]:
    """Shard i of n: every n-th cell of the plan from the i-th on. The shards of one plan are
    disjoint and together hold every cell; slow and fast cells spread evenly."""
    index, count = shard
    return cells[index - 1::count]


def run_suite(suite: Suite, *, jobs: int = 1, force: bool = False,
              tracking_uri: str = DEFAULT_TRACKING_URI, results_dir: Path = results.RESULTS_DIR,
              data_dir: Path = Path("data"), shard: tuple[int, int] = (1, 1),
              tuned: Tuned | None = None) -> pd.DataFrame:
    """Run the suite's cells, or with ``tuned`` only the tuned model on the suite's seeds."""
    dataset_path = resolve_dataset(suite, data_dir)
    dataset = Dataset.load(dataset_path)
    path = results.results_path(results_dir, dataset.name)
    trace = traces.trace_path(results_dir, dataset.name)
    cells = tuned_plan(suite, dataset, tuned) if tuned else plan(suite, dataset)
    cells = shard_cells(cells, shard)
    if shard != (1, 1):
        log.info("shard %d/%d: %d cells of the suite", *shard, len(cells))
    done = set(results.load(path)["cell_key"])
    todo = cells if force else [cell for cell in cells if cell.key not in done]
    log.info("%s on %s [%s]: %d cells, %d already done, %d to run with %d job(s)", suite.name,
             dataset.name, dataset.manifest.origin, len(cells), len(cells) - len(todo),
             len(todo), jobs)
    split = dataset.split()
    tags = {"dataset": dataset.name, "fingerprint": dataset.manifest.fingerprint,
            "origin": dataset.manifest.origin, "split_hash": split.hash,
            "code_version": __version__, "suite": suite.name}
    if tuned is not None:
        tags.update(tuned.tags())
    tracker = Tracker(tracking_uri, suite.name, tags) if todo else None
    params_by_key = {cell.key: cell.params for cell in todo}
    status = "FAILED"
    try:
        for record, predictions, epochs, cell_tags in _execute(todo, dataset_path, jobs):
            record.update(suite=suite.name, code_version=__version__)
            record["mlflow_run_id"] = tracker.log_cell(
                record, params_by_key[record["cell_key"]],
                {**tags, **cell_tags, "cell_key": record["cell_key"], "model": record["model"]},
                predictions, epochs)
            traces.append(trace, record["cell_key"], predictions)
            results.append(path, record)
        status = "FINISHED"
    finally:
        if tracker is not None:
            tracker.close(status)
    finished = results.load(path)
    finished = finished[finished["cell_key"].isin({cell.key for cell in cells})]
    finished = finished.drop_duplicates("cell_key", keep="last")
    print(summary(finished))
    return finished


def _execute(cells: list[Cell], dataset_path: Path, jobs: int):
    bar = tqdm(total=len(cells), desc="cells", unit="cell", smoothing=0.1)
    try:
        if jobs <= 1:
            dataset = Dataset.load(dataset_path)
            for cell in cells:
                yield run_cell(dataset, cell)
                bar.update()
            return
        threads = max(1, len(os.sched_getaffinity(0)) // jobs)
        log.info("%d worker processes, %d torch thread(s) each", jobs, threads)
        with ProcessPoolExecutor(max_workers=jobs, initializer=_worker_init,
                                 initargs=(str(dataset_path), threads)) as pool:
            futures = [pool.submit(_worker_run, cell) for cell in cells]
            for future in as_completed(futures):
                yield future.result()
                bar.update()
    finally:
        bar.close()


_WORKER_DATASET: Dataset | None = None


def _worker_init(dataset_path: str, threads: int) -> None:
    global _WORKER_DATASET
    torch.set_num_threads(threads)
    _WORKER_DATASET = Dataset.load(dataset_path)


def _worker_run(cell: Cell):
    return run_cell(_WORKER_DATASET, cell)


def run_cell(dataset: Dataset, cell: Cell) -> tuple[dict, pd.DataFrame, list[dict], dict]:
    """Evaluate one cell. Returns the result record, the test predictions, a net's per-epoch
    dev metrics (else empty) and extra MLflow tags (the device a net trained on)."""
    spec = MODELS.get(cell.model)
    result = evaluate_cell(dataset, spec, cell.params, cell.seed)
    record = {"schema_version": results.SCHEMA_VERSION, "dataset": dataset.name,
              "origin": dataset.manifest.origin, "fingerprint": dataset.manifest.fingerprint,
              "split_hash": dataset.split().hash, "model": spec.name, "family": spec.family,
              "modality": spec.modality, "params": results.canonical_params(cell.params),
              "variant": results.canonical_params(spec.changed(cell.params)),
              "tuned_by": cell.tuned_by, "window": cell.params.get("window"), "seed": cell.seed,
              "cell_key": cell.key, **result.metrics, "fit_seconds": result.fit_seconds}
    tags = {} if result.device is None else {"device": result.device}
    return record, result.predictions, result.epochs, tags


def summary(finished: pd.DataFrame) -> str:
    if finished.empty:
        return "no results"
    grouped = finished.groupby(["model", "variant", "tuned_by"], sort=False).agg(
        seeds=("seed", "count"), test_ccc=("test_mean_ccc", "mean"),
        test_ccc_std=("test_mean_ccc", "std"), test_rmse=("test_mean_rmse", "mean"),
        fit_seconds=("fit_seconds", "mean")).reset_index()
    grouped["variant"] = grouped["variant"].map(format_params)
    grouped = grouped.sort_values("test_ccc", ascending=False)
    return tabulate(grouped, headers="keys", showindex=False, floatfmt=".3f")
