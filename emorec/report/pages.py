"""A dataset's leaderboard page, and every page of a results folder.

After the title, the stand-in or guard line and one line of dataset facts, the headline: one row
per model, its variant chosen on dev, online and offline models in tables of their own, each
row with its pooled test CCC and 95% bootstrap interval over test sessions and seeds, its rank
interval and P(best) (:mod:`emorec.uncertainty`), then the reference rows. Then how to read it;
every variant, ranked the same way; rows tuned by an Optuna study (more budget) apart; the
reference rows' every metric (chance, session mean, noise ceiling); the figures; what the
stand-in reproduces of the thesis; and the thesis's reported numbers for orientation.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from emorec import metrics
from emorec.cells import seed_label
from emorec.errors import EmorecError
from emorec.record import fuse_rows
from emorec.record.external import EXTERNAL
from emorec.report import factor_study, figures, findings, prose, tables
from emorec.report.board import Board
from emorec.report.site.build import write_site
from emorec.report.thesis import thesis_section
from emorec.store import facts, predictions, result_rows, results
from emorec.system.files import replace_file, writable_folder
from emorec.vocabulary import TARGETS


def render_all(results_dir: Path, out_dir: Path) -> list[Path]:
    """Write ``<dataset>.md`` and its figures (``figures/<dataset>-*.png``) for every dataset,
    a factor-study page for stand-ins that differ in one generator factor, and the HTML site
    of the same boards (``site/``, :mod:`emorec.report.site`)."""
    if not Path(results_dir).is_dir():
        found = "a file" if Path(results_dir).exists() else "no such folder"
        raise EmorecError(f"--results-dir {results_dir}: {found}; expected the folder of results "
                          "files the leaderboards are rendered from")
    table = results.load_all(results_dir)
    if table.empty:
        raise EmorecError(f"--results-dir {results_dir}: no results files (<dataset>.csv) to "
                          "render")
    models = facts.load_models(results_dir)
    writable_folder(Path(out_dir), "--out")
    written, boards = [], {}
    for dataset in sorted(table["dataset"].unique()):
        board = boards[dataset] = Board(table[table["dataset"] == dataset], models)
        links = _draw_figures(board, Path(results_dir), Path(out_dir))
        path = Path(out_dir) / f"{dataset}.md"
        _check_ours(path)
        text = render(board, links)
        replace_file(path, lambda tmp, text=text: tmp.write_text(text))
        written.append(path)
    for study in factor_study.find_studies(list(boards), facts.load_datasets(results_dir)):
        written.append(factor_study.render_study(study, boards, Path(out_dir)))
    return written + write_site(boards, Path(results_dir), Path(out_dir))


def _check_ours(path: Path) -> None:
    """A page of that name that a leaderboard did not write (a user's own notes) is never
    overwritten."""
    if path.is_file():
        with path.open(encoding="utf-8", errors="replace") as handle:
            first = handle.readline()
        if not first.startswith("# Leaderboard: "):
            raise EmorecError(f"--out {path.parent}: {path.name} exists and is not a "
                              "leaderboard page; refusing to overwrite it (give another --out)")


def render(board: Board, figure_links: list[tuple[str, str]] = ()) -> str:
    """One dataset's leaderboard from its board (the newest data, split and code)."""
    rows = board.all_rows
    last = rows.iloc[-1]
    dataset, stand_in = last["dataset"], last["origin"] == "stand-in"
    lines = [f"# Leaderboard: {dataset}", ""]
    lines += ([prose.STAND_IN_NOTE.format(dataset=dataset), ""] if stand_in
              else [prose.GUARD_LINES[board.guard()], ""])
    hidden = len(rows) - len(board.rows)
    sessions = len(board.sessions)
    lines += [f"Dataset fingerprint `{last['fingerprint']}`, split `{last['split_hash']}`, "
              f"{len(board.rows)} runs (one per row and seed; one for a seed-free row), "
              f"{sessions} test "
              f"session{'' if sessions == 1 else 's'}."
              + (f" {hidden} older rows (other data, split or code) are not shown." if hidden
                 else ""), ""]
    lines += tables.headline_tables(board)
    lines += prose.how_to_read(sessions, _mark_notes(board), has_tuned=len(board.tuned) > 0)
    lines += tables.full_tables(board)
    if len(board.tuned):
        lines += tables.tuned_table(board)
    lines += tables.reference_table(board)
    if figure_links:
        lines += ["## Figures", "", prose.FIGURES_INTRO, ""]
        lines += [f"![{title}]({link})" for title, link in figure_links]
        lines.append("")
    lines += prose.fidelity_section()
    if stand_in:
        lines += findings.findings_section(board, dataset)
    lines += thesis_section(dataset, _thesis_names(board))
    return "\n".join(lines) + "\n"


def _mark_notes(board: Board) -> list[str]:
    """What the model column's marks mean, for the marks this board has."""
    notes = []
    if board.entries["seed_free"].any():
        notes.append(prose.SEED_FREE_NOTE)
    if any(board.offline(entry) for _, entry in board.entries.iterrows()):
        notes.append(prose.OFFLINE_NOTE)
    if board.entries["model"].str.startswith("seq_").any():
        notes.append(prose.RECIPE_NOTE)
    external = board.entries["model_source"].str.startswith(EXTERNAL)
    if external.any():
        notes.append(prose.EXTERNAL_NOTE)
    if (board.entries["model"] == fuse_rows.MODEL).any():
        notes.append(prose.FUSION_NOTE)
    plugged = board.entries[(board.entries["model_source"] != "emorec") & ~external]
    if len(plugged):
        notes.append(prose.plugin_note(sorted(set(zip(plugged["model"],
                                                      plugged["model_source"], strict=True)))))
    return notes


def _thesis_names(board: Board) -> dict[str, str]:
    """The thesis's model names -> emorec's, from the models' facts."""
    return {thesis: model for model, known in sorted(board.facts.items())
            for thesis in known.thesis_names}


def _draw_figures(board: Board, results_dir: Path, out_dir: Path) -> list[tuple[str, str]]:
    rows = board.rows
    dataset, stand_in = rows["dataset"].iloc[-1], rows["origin"].iloc[-1] == "stand-in"
    links = []
    name = f"figures/{dataset}-ccc-by-window.png"
    if figures.ccc_by_window(rows, board.facts, dataset, stand_in, out_dir / name):
        links.append(("test CCC against window length", name))
    best = board.best_on_dev()
    if best.empty:
        return links
    chosen = best.sort_values(["dev_mean_ccc_mean", "label"], ascending=[False, True],
                              kind="stable").iloc[0]
    cells = rows[rows["model"].eq(chosen["model"]) & rows["params"].eq(chosen["params"])
                 & rows["tuned_by"].eq("")].sort_values("seed")
    kept = [(row, predictions.load(results_dir, dataset, row["cell_key"]))
            for _, row in cells.iterrows()]
    kept = [(row, table) for row, table in kept if table is not None]
    if not kept:
        return links
    row, table = kept[0]
    test = table[table["partition"] == "test"]
    session = trace_session(test)
    oracle_keys = rows.loc[rows["model"] == "oracle", "cell_key"]
    oracle = (predictions.load(results_dir, dataset, oracle_keys.iloc[0])
              if len(oracle_keys) else None)
    if oracle is not None:
        oracle = oracle[(oracle["partition"] == "test") & (oracle["session"] == session)]
    name = f"figures/{dataset}-trace.png"
    label = figures.line_label(chosen, board.model_facts(chosen["model"]))
    figures.trace(test[test["session"] == session],
                  f"{dataset}: {label} (best dev CCC), "
                  f"{seed_label(result_rows.row_seed(row['seed']))}", stand_in, out_dir / name,
                  oracle)
    links.append((f"rating vs prediction, {label}", name))
    return links


def trace_session(test: pd.DataFrame) -> str:
    """The test session whose own CCC (mean over targets) is the median of the cell's sessions
    (the lower one of an even count; ties by name): neither its best nor its worst."""
    names, sums = metrics.session_sums(test[list(TARGETS)].to_numpy(),
                                       test[predictions.PREDICTED].to_numpy(),
                                       test["session"].to_numpy())
    scores = sorted(zip(metrics.ccc(sums).mean(axis=1).tolist(), names, strict=True))
    return scores[(len(scores) - 1) // 2][1]
