"""A suite's sweep: suite -> cells -> evaluated in worker processes -> MLflow runs and result rows
(written by the main process alone); cells already in the results file are skipped."""

from __future__ import annotations

import logging
import signal
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from emorec import plugins, results, traces
from emorec.data import synth
from emorec.data.dataset import MANIFEST_FILE, Dataset
from emorec.data.splits import check_extractor_overlap, guard_state
from emorec.display import describe_variant
from emorec.errors import EmorecError
from emorec.evaluation import evaluate_cell
from emorec.faults import checkpoint
from emorec.files import folder_lock
from emorec.links import missing_store
from emorec.mlflow_store import DEFAULT_TIMEOUT_SECONDS, DEFAULT_TRACKING_URI, connect, runs_url
from emorec.models import MODELS
from emorec.processes import die_with_parent, exit_on_sigterm
from emorec.progress import Progress, estimated_seconds
from emorec.provenance import code_version
from emorec.suites import Suite
from emorec.sweep_report import reuse_note, summary
from emorec.tracking import Tracker, suite_experiment
from emorec.tuning.tuned import Tuned
from emorec.vocabulary import TARGETS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cell:
    model: str
    params: dict
    seed: int
    key: str
    tuned_by: str = ""    # the Optuna study whose best params these are
    tuning_trials: int = 0   # that study's finished trials


def resolve_dataset(suite: Suite, data_dir: Path) -> Path:
    """The suite's real dataset when present, else its stand-in (generated once, cached)."""
    if suite.real_dataset is not None and (suite.real_dataset / MANIFEST_FILE).is_file():
        log.info("using real features at %s", suite.real_dataset)
        return suite.real_dataset
    kind, size = suite.stand_in["kind"], suite.stand_in.get("size", "full")
    seed = int(suite.stand_in.get("seed", 0))
    factors = suite.stand_in.get("set", {})
    _, changed = synth.with_factors(synth.SPECS[kind], factors)
    folder = Path(data_dir) / f"{kind}-synth-{size}-seed{seed}{synth.factor_suffix(changed)}"
    reason = (f"no real features at {suite.real_dataset}" if suite.real_dataset is not None
              else f"suite {suite.name} names no real dataset")
    log.warning("STAND-IN: %s; running on the generated %s-synth (%s, seed %d) in %s. Results "
                "are labelled stand-in.", reason, kind, size, seed, folder)
    if not (folder / MANIFEST_FILE).is_file():
        synth.generate(kind, size, seed, factors).save(folder)
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
                                   experiment.params, seed, spec.code_fingerprint)
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
    spec = MODELS.get(tuned.model)
    params = spec.params(tuned.params)
    return [Cell(tuned.model, params, seed,
                 results.cell_key(dataset.manifest.fingerprint, split_hash, tuned.model, params,
                                  seed, spec.code_fingerprint, tuned.study),
                 tuned.study, tuned.finished)
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
              tuned: Tuned | None = None,
              tracking_timeout: float = DEFAULT_TIMEOUT_SECONDS,
              allow_extractor_overlap: bool = False) -> pd.DataFrame:
    """Run the suite's cells, or with ``tuned`` only the tuned model on the suite's seeds.
    Holds the results folder's lock throughout: one writer per folder. A split testing on
    sessions the feature extractor was trained on is refused before any cell runs, unless
    ``allow_extractor_overlap``."""
    dataset_path = resolve_dataset(suite, data_dir)
    dataset = Dataset.load(dataset_path)
    check_extractor_overlap(dataset.split(), dataset.manifest.extractor_train, str(dataset_path),
                            allow=allow_extractor_overlap)
    guard = guard_state(dataset.manifest.origin, dataset.split(),
                        dataset.manifest.extractor_train, allow_extractor_overlap)
    with folder_lock(results_dir, f"emorec bench {suite.source}"):
        return _run_locked(suite, dataset, dataset_path, jobs=jobs, force=force,
                           tracking_uri=tracking_uri, results_dir=Path(results_dir),
                           shard=shard, tuned=tuned, tracking_timeout=tracking_timeout,
                           guard=guard)


def _run_locked(suite: Suite, dataset: Dataset, dataset_path: Path, *, jobs: int, force: bool,
                tracking_uri: str, results_dir: Path, shard: tuple[int, int],
                tuned: Tuned | None, tracking_timeout: float, guard: str) -> pd.DataFrame:
    path = results.results_path(results_dir, dataset.name)
    trace = traces.trace_path(results_dir, dataset.name)
    results.check_writable(path)          # before any fit: a row that cannot be written
    traces.check_writable(trace)          # would be a fit lost
    cells = tuned_plan(suite, dataset, tuned) if tuned else plan(suite, dataset)
    cells = shard_cells(cells, shard)
    if shard != (1, 1):
        log.info("shard %d/%d: %d cells of the suite", *shard, len(cells))
    recorded = results.load(path)
    done = set(recorded["cell_key"])
    older = ((recorded["fingerprint"] != dataset.manifest.fingerprint)
             | (recorded["split_hash"] != dataset.split().hash)).sum()
    if older:
        log.info("%d rows of %s are of other data or another split (fingerprint or split "
                 "differs: an older stand-in generator, other features): kept as history, "
                 "never reused, not shown on the leaderboard", older, path)
    if missing_store(tracking_uri) and (recorded["mlflow_run_id"] != "").any():
        log.info("%d rows of %s link to MLflow runs in a store this machine does not have "
                 "(%s): normal in a fresh clone, whose committed rows were logged where they "
                 "ran; if you deleted that store, emorec results check lists the rows",
                 (recorded["mlflow_run_id"] != "").sum(), path, tracking_uri)
    todo = cells if force else [cell for cell in cells if cell.key not in done]
    costs = estimated_seconds(cells, results.load_all(results_dir), dataset.name)
    log.info("%s on %s [%s]: %d cells, %d already in %s, %d to run with %d job(s) "
             "(one thread each)", suite.name, dataset.name, dataset.manifest.origin, len(cells),
             len(cells) - len(todo), path, len(todo), jobs)
    split = dataset.split()
    version = code_version()
    tags = {"dataset": dataset.name, "fingerprint": dataset.manifest.fingerprint,
            "origin": dataset.manifest.origin, "split_hash": split.hash,
            "code_version": version, "suite": suite.name}
    if tuned is not None:
        tags.update(tuned.tags())
    tracker = None
    if todo:
        connect(tracking_uri, tracking_timeout)   # a store that does not answer stops us now
        tracker = Tracker(tracking_uri, suite.name, tags, recorded=done)
    by_key = {cell.key: cell for cell in todo}
    status = "FAILED"
    exit_on_sigterm()
    try:
        for record, predictions, epochs, cell_tags, fit_started in _execute(
                todo, dataset_path, jobs, costs):
            checkpoint("fitted")
            record.update(suite=suite.name, code_version=version, extractor_guard=guard)
            cell = by_key[record["cell_key"]]
            run_id = tracker.log_cell(
                key=cell.key, name=run_name(cell), params={**cell.params, "seed": cell.seed},
                metrics={k: record[k] for k in (*results.METRIC_COLUMNS, "fit_seconds",
                                                "fit_core_seconds")},
                fit_started=fit_started, fit_seconds=record["fit_seconds"], epochs=epochs,
                tags={**tags, **cell_tags, "model": cell.model,
                      "code_fingerprint": record["code_fingerprint"]},
                predictions=predictions, reuse=cell.key not in done)
            checkpoint("mlflow-logged")
            record["mlflow_run_id"] = run_id
            traces.append(trace, record["cell_key"], predictions)
            checkpoint("trace-written")
            results.append(path, record)
            checkpoint("row-written")
            tracker.finish(cell.key, run_id)
            checkpoint("run-finished")
        status = "FINISHED"
    except (KeyboardInterrupt, SystemExit):
        status = "KILLED"
        raise
    finally:
        if tracker is not None:
            tracker.close(status)
    finished = results.load(path)
    finished = finished[finished["cell_key"].isin({cell.key for cell in cells})]
    finished = finished.drop_duplicates("cell_key", keep="last")
    print(summary(finished, {cell.key for cell in todo}))
    if len(todo) < len(cells):
        print(reuse_note(suite, len(cells) - len(todo), len(cells), path, jobs,
                         sum(costs[cell.key] for cell in cells)))
    if todo:
        where = "make ui, then open " if tracking_uri.startswith("sqlite") else ""
        print(f"MLflow: {len(todo)} runs in experiment {suite_experiment(suite.name)} of "
              f"{tracking_uri}; {where}{runs_url(tracking_uri, tracker.experiment)}")
    return finished


def run_name(cell: Cell) -> str:
    """``gru 2 s avg epochs=5 seed 0``: what a person reads first in MLflow's run list."""
    label = describe_variant(cell.model, MODELS.get(cell.model).changed(cell.params),
                             cell.params.get("window"), cell.params.get("pooling"))
    return f"{label}{' tuned' if cell.tuned_by else ''} seed {cell.seed}"


def _execute(cells: list[Cell], dataset_path: Path, jobs: int, costs: dict):
    """Evaluate the cells, at most ``jobs`` at a time; yields each cell's outcome as it ends."""
    if not cells:
        return
    progress = Progress(cells, costs, run_name)
    try:
        if jobs <= 1:
            dataset = Dataset.load(dataset_path)
            for cell in cells:
                progress.started(cell)
                yield run_cell(dataset, cell)
                progress.finished(cell)
            return
        pool = ProcessPoolExecutor(max_workers=jobs, initializer=_worker_init,
                                   initargs=(str(dataset_path), plugins.loaded()))
        try:
            waiting, running = list(reversed(cells)), {}
            while waiting or running:
                while waiting and len(running) < jobs:
                    cell = waiting.pop()
                    running[pool.submit(_worker_run, cell)] = cell
                    progress.started(cell)
                ended, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in ended:
                    cell = running.pop(future)
                    yield future.result()
                    progress.finished(cell)
        finally:
            _stop(pool)
    finally:
        progress.close()


def _stop(pool: ProcessPoolExecutor) -> None:
    """Shut the pool down without waiting for cells still being fitted (their workers are
    killed: on an error or a signal nothing of theirs would be kept)."""
    workers = list((pool._processes or {}).values())   # the executor offers no terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    for worker in workers:
        if worker.is_alive():
            worker.kill()
    for worker in workers:
        worker.join(timeout=5)


_WORKER_DATASET: Dataset | None = None


def _worker_init(dataset_path: str, plugin_names: tuple[str, ...]) -> None:
    global _WORKER_DATASET
    die_with_parent()
    for name in plugin_names:   # already there in a forked worker; needed in a spawned one
        plugins.load(name)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _WORKER_DATASET = Dataset.load(dataset_path)


def _worker_run(cell: Cell):
    return run_cell(_WORKER_DATASET, cell)


def run_cell(dataset: Dataset, cell: Cell) -> tuple[dict, pd.DataFrame, list[dict], dict, float]:
    """Evaluate one cell. Returns the result record, the test predictions, a net's per-epoch
    dev metrics (else empty), extra MLflow tags (the device a net trained on) and when its fit
    began (epoch seconds)."""
    spec = MODELS.get(cell.model)
    result = evaluate_cell(dataset, spec, cell.params, cell.seed)
    record = {"schema_version": results.SCHEMA_VERSION, "dataset": dataset.name,
              "origin": dataset.manifest.origin, "fingerprint": dataset.manifest.fingerprint,
              "split_hash": dataset.split().hash, "model": spec.name, "family": spec.family,
              "modality": spec.modality, "model_source": spec.source,
              "params": results.canonical_params(cell.params),
              "variant": results.canonical_params(spec.changed(cell.params)),
              "tuned_by": cell.tuned_by, "tuning_trials": cell.tuning_trials,
              "window": cell.params.get("window"), "seed": cell.seed,
              "code_fingerprint": spec.code_fingerprint, "cell_key": cell.key,
              **result.metrics, "fit_seconds": result.fit_seconds,
              "fit_core_seconds": result.fit_core_seconds,
              "test_session_stats": results.session_stats(
                  result.predictions[list(TARGETS)].to_numpy(),
                  result.predictions[[f"{t}_pred" for t in TARGETS]].to_numpy(),
                  result.predictions["session"].to_numpy())}
    tags = {} if result.device is None else {"device": result.device}
    return record, result.predictions, result.epochs, tags, result.fit_started


