"""The leaderboard site: ``<out>/site/index.html`` across datasets, ``<dataset>.html`` per
board, ``<dataset>.csv`` (the board's rows), ``traces/<dataset>/<n>.js`` (a test session's
ratings and kept predictions) and ``assets/``. Written whole into a temporary folder and swapped
in for the old site (:func:`emorec.system.files.replace_folder`), so pages of datasets gone since do
not linger and a folder ``site`` that emorec did not write is never replaced."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from emorec.report.board import Board
from emorec.report.site import assets, data, traces
from emorec.store import facts, predictions, schema

FOLDER = "site"
MARKER = ".emorec-site"   # marks a site folder as emorec's own, so a rerun may replace it
GENERATOR = "emorec leaderboard"
RUN_LINK = "{ui}/#/runs/{run_id}"   # MLflow's UI route to one run, whatever its experiment
# The results columns of a board's rows download: what identifies each run and its metrics (not
# the per-session sums they are computed from: the results file holds those).
ROW_COLUMNS = [*schema.IDENTITY_COLUMNS, "fit_seconds", "fit_core_seconds", "mlflow_run_id",
               *schema.METRIC_COLUMNS]


def write_site(boards: dict[str, Board], results_dir: Path, out_dir: Path) -> list[Path]:
    """Write the site of ``boards`` (dataset -> board) under ``out_dir/site``; returns its
    pages, index first."""
    from emorec.system.files import replace_folder

    results_dir, target = Path(results_dir), Path(out_dir) / FOLDER
    known = facts.load_datasets(results_dir)
    pages = {dataset: data.page(board, results_dir, known.get(dataset, {}))
             for dataset, board in boards.items()}
    environment = _environment()

    def write(folder: Path) -> None:
        (folder / MARKER).write_text(f"Written by {GENERATOR}; replaced whole on each run.\n")
        assets.write(folder)
        for dataset, page in pages.items():
            _write_board(folder, environment, page, boards[dataset], results_dir)
        (folder / "index.html").write_text(
            environment.get_template("index.html").render(pages=list(pages.values()),
                                                          generator=GENERATOR),
            encoding="utf-8")

    replace_folder(target, write, keep_if=MARKER)
    return [target / "index.html", *(target / f"{dataset}.html" for dataset in pages)]


def _write_board(folder: Path, environment: Environment, page: data.Page, board: Board,
                 results_dir: Path) -> None:
    kept = traces.test_predictions(results_dir, page.dataset, page.entries)
    names = traces.sessions(kept)
    chosen = _chosen_on_dev(board, page)
    first = traces.default_session(kept, chosen)
    session_folder = folder / "traces" / page.dataset
    session_folder.mkdir(parents=True)
    for number, name in enumerate(names):
        (session_folder / f"{number}.js").write_text(traces.session_script(kept, name),
                                                     encoding="utf-8")
    view = {"dataset": page.dataset, "stand_in": page.stand_in,
            "folder": f"traces/{page.dataset}",
            "sessions": names, "session": names.index(first) if first in names else 0,
            "chosen": [chosen] if chosen in kept else [],
            "entries": {entry.id: {"name": entry.name, "variant": entry.variant,
                                   "seed": entry.runs[0].seed}
                        for entry in page.entries if entry.id in kept}}
    (folder / f"{page.dataset}.html").write_text(
        environment.get_template("board.html").render(page=page, view=view,
                                                      step=f"{predictions.STEP:g}",
                                                      generator=GENERATOR),
        encoding="utf-8")
    board.rows[ROW_COLUMNS].to_csv(folder / f"{page.dataset}.csv", index=False)


def _chosen_on_dev(board: Board, page: data.Page) -> str | None:
    """The entry the markdown's trace figure shows: the untuned variant with the best dev
    CCC."""
    best = board.best_on_dev()
    if best.empty:
        return None
    label = best.sort_values(["dev_mean_ccc_mean", "label"], ascending=[False, True],
                             kind="stable")["label"].iloc[0]
    return next(entry.id for entry in page.entries if entry.label == label)


def _environment() -> Environment:
    environment = Environment(loader=PackageLoader("emorec.report.site", "templates"),
                              autoescape=select_autoescape(["html"]), undefined=StrictUndefined,
                              trim_blocks=True, lstrip_blocks=True)
    environment.globals["run_url"] = run_url
    environment.globals["isnan"] = pd.isna
    return environment


def run_url(run_id: str) -> str:
    """A run's page in the MLflow UI that ``make ui`` serves."""
    from emorec.tracking.mlflow_store import UI_ADDRESS  # MLflow loads slowly: only for a site

    return RUN_LINK.format(ui=UI_ADDRESS, run_id=run_id)
