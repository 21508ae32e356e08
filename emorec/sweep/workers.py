"""Cells fitted in worker processes: one cell at a time per worker, each on one thread, the
dataset loaded once per worker; results come back to the main process, which alone records
them. A worker that dies stops the sweep with the cells it held named, and an interrupt stops
every worker."""

from __future__ import annotations

import logging
import signal
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from emorec import plugins
from emorec.cells import Cell
from emorec.data.dataset import Dataset
from emorec.errors import EmorecError
from emorec.evaluation import CellResult, evaluate_cell
from emorec.models import MODELS
from emorec.record.recorder import run_name
from emorec.sweep.progress import Progress
from emorec.system.processes import die_with_parent

log = logging.getLogger(__name__)
_WORKER_DATASET: Dataset | None = None   # a worker's dataset, loaded once by _worker_init


def execute(cells: list[Cell], dataset_path: Path, jobs: int, costs: dict):
    """Evaluate the cells, at most ``jobs`` at a time; yields (cell, result) as each ends."""
    if not cells:
        return
    progress = Progress(cells, costs, run_name)
    try:
        if jobs <= 1:
            dataset = Dataset.load(dataset_path)
            for cell in cells:
                progress.started(cell)
                yield cell, run_cell(dataset, cell)
                progress.finished(cell)
            return
        jobs = min(jobs, len(cells))   # never more workers than cells to fit
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
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        raise EmorecError(_worker_died([cell, *running.values()])) from None
                    yield cell, result
                    progress.finished(cell)
        finally:
            _stop(pool)
    finally:
        progress.close()


def _worker_died(cells: list[Cell]) -> str:
    return (f"a worker process died while fitting {'; '.join(run_name(c) for c in cells)} "
            "(killed from outside: by the out-of-memory killer if memory ran short); every "
            "cell that finished is kept: run the same command again to fit the rest (with "
            "fewer --jobs if memory ran short)")


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


def _worker_init(dataset_path: str, plugin_names: tuple[str, ...]) -> None:
    global _WORKER_DATASET
    die_with_parent()
    for name in plugin_names:   # already there in a forked worker; needed in a spawned one
        plugins.load(name)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _WORKER_DATASET = Dataset.load(dataset_path)


def _worker_run(cell: Cell):
    return run_cell(_WORKER_DATASET, cell)


def run_cell(dataset: Dataset, cell: Cell) -> CellResult:
    """Fit and score one cell (in a worker process, or in this one with one job)."""
    return evaluate_cell(dataset, MODELS.get(cell.model), cell.params, cell.seed)

