"""Result files -> markdown leaderboards, one per dataset, byte-stable.

Default-params rows are ranked by pooled test CCC (mean of valence and arousal) with a 95%
bootstrap interval over test sessions and seeds (:mod:`emorec.uncertainty`); rows that a paired
bootstrap cannot tell from rank 1 share its rank. Rows tuned by an Optuna study
(``emorec bench --params-from STUDY``) had more budget and sit in a table of their own. Every
row shows its fit budget. A table of each model's best variant, chosen on dev, follows; then
the floors, the figures and the thesis's reported numbers for orientation.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from emorec import factor_study, figures, results, traces, uncertainty
from emorec.display import (
    FLOOR_NAMES,
    describe_row,
    format_number,
    format_params,
    format_window,
)
from emorec.metrics import higher_is_better

FLOORS = FLOOR_NAMES
COLUMNS = [  # (header, results column); "best" follows each metric's direction
    ("CCC V", "test_valence_ccc"), ("CCC A", "test_arousal_ccc"),
    ("CCC/session", "test_mean_ccc_session"),
    ("RMSE V", "test_valence_rmse"), ("RMSE A", "test_arousal_rmse"),
    ("MAE V", "test_valence_mae"), ("MAE A", "test_arousal_mae")]
GUARD_LINES = {
    "given": "Extractor-leakage guard: **given**. No test session is one the feature extractor "
             "was trained on (`emorec data import --extractor-train`).",
    "not given": "Extractor-leakage guard: **not given**. Which sessions the feature extractor "
                 "was trained on is unknown here; if they include test sessions, these test "
                 "scores are inflated (`emorec data import --extractor-train`).",
    "overlap allowed": "Extractor-leakage guard: **overlap allowed**. Some test sessions were "
                       "seen by the feature extractor in training (`--allow-extractor-overlap`); "
                       "their scores are inflated.",
    "mixed": "Extractor-leakage guard: rows differ (some given, some not); see each row's "
             "`extractor_guard` in the results file.",
}
FIDELITY = [  # (aspect, the thesis, emorec, which it is)
    ("models, windows, poolings, grids", "Tables 4.1-4.7, A.1-A.3",
     "the same models, 1-4 s windows, AVG/MAX/Conv1D pooling, the SVR and tree grids",
     "reproduction"),
    ("Conv1D GRU", "outputs left the label range (MAE near 1)", "ends in tanh like every net",
     "repaired"),
    ("fusion widths", "not given", "d_model 64; a learned \"no audio\" key", "choice"),
    ("missing frames in a window", "not described", "masked slots never reach an output",
     "choice"),
    ("window models' training target", "the window's mean label (GRU)", "the label of the "
     "frame the window ends at; the thesis's window mean as target=window_mean (SEWA suite: "
     "GRU AVG 1-4 s)", "choice, both run"),
    ("scoring", "one prediction per window, against its mean label", "every labelled frame of a "
     "partition, the same frames for every model", "redesign"),
    ("split", "the thesis's own (not published)", "by session: 70/15/15 from seed 0, or a "
     "split file", "redesign"),
    ("sequence models (seq_*)", "not studied", "GRU/LSTM over whole sessions, the AVEC/MuSe "
     "baseline; causal (online) or bidirectional (offline)", "addition"),
    ("ranking", "MAE and RMSE tables", "pooled CCC with 95% intervals and ties; RMSE and MAE "
     "shown", "redesign"),
]
COARSE_BELOW = 10   # fewer test sessions than this make a session bootstrap coarse
THESIS_NAMES = {"gru_avg": "gru", "gru_max": "gru", "gru_conv1d": "gru"}   # thesis -> emorec
FAILED_MAE = 0.5   # a thesis row with MAE above this predicted outside the label range


def render_all(results_dir: Path, out_dir: Path) -> list[Path]:
    """Write ``<dataset>.md`` and its figures (``figures/<dataset>-*.png``) for every dataset,
    and a factor-study page for stand-ins that differ in one generator factor."""
    table = results.load_all(results_dir)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    written, boards = [], {}
    for dataset in sorted(table["dataset"].unique()):
        rows = table[table["dataset"] == dataset]
        board = boards[dataset] = Board(rows)
        links = _draw_figures(board, traces.load(traces.trace_path(results_dir, dataset)),
                              Path(out_dir))
        path = Path(out_dir) / f"{dataset}.md"
        path.write_text(render(board, links))
        written.append(path)
    for study in factor_study.find_studies(list(boards)):
        written.append(factor_study.render_study(study, boards, Path(out_dir)))
    return written


class Board:
    """One dataset's current rows grouped into leaderboard entries (model x variant x study),
    with bootstrap draws for the entries whose every seed has session statistics."""

    def __init__(self, rows: pd.DataFrame):
        self.all_rows = rows
        self.rows = results.current(rows)
        self.entries = _aggregate(self.rows)
        self.stats = {key: results.parse_session_stats(text) for key, text in
                      zip(self.rows["cell_key"], self.rows["test_session_stats"], strict=True)}
        self.sessions = sorted({s for value in self.stats.values() if value for s in value})
        self.draws = _bootstrap(self.rows, self.entries, self.stats, self.sessions)
        learned = self.entries[~self.entries["model"].isin(FLOORS)]
        order = ["test_mean_ccc_mean", "label"]
        self.default = learned[learned["tuned_by"] == ""].sort_values(
            order, ascending=[False, True], kind="stable")
        self.tuned = learned[learned["tuned_by"] != ""].sort_values(
            order, ascending=[False, True], kind="stable")
        self.floors = self.entries[self.entries["model"].isin(FLOORS)].sort_values("model")
        self.top = self.default["label"].iloc[0] if len(self.default) else None

    def versus_top(self, label: str) -> str:
        """``tied`` with rank 1, ``below``/``above`` it, or ``""`` without draws."""
        if self.top is None or label not in self.draws or self.top not in self.draws:
            return ""
        mine, top = self.draws[label].ccc, self.draws[self.top].ccc
        if uncertainty.indistinguishable(mine, top):
            return "tied"
        return "above" if np.median(mine - top) > 0 else "below"

    def best_on_dev(self) -> pd.DataFrame:
        """Each model's untuned variant with the highest mean dev CCC."""
        return (self.default.sort_values(["dev_mean_ccc_mean", "label"],
                                         ascending=[False, True], kind="stable")
                .drop_duplicates("model").sort_values(["test_mean_ccc_mean", "label"],
                                                      ascending=[False, True], kind="stable"))


def render(board: Board, figure_links: list[tuple[str, str]] = ()) -> str:
    """One dataset's leaderboard from its board (the newest data, split and code)."""
    rows = board.all_rows
    last = rows.iloc[-1]
    dataset, stand_in = last["dataset"], last["origin"] == "stand-in"
    lines = [f"# Leaderboard: {dataset}", ""]
    if stand_in:
        lines += [f"> **Stand-in data.** `{dataset}` is generated by emorec "
                  "(`emorec data synth`), not the licensed real features. These numbers show "
                  "how the models behave on the stand-in; they are not results on the real "
                  "dataset.", ""]
    if not stand_in:
        lines += [GUARD_LINES[_guard(board.rows)], ""]
    hidden = len(rows) - len(board.rows)
    sessions = len(board.sessions)
    lines += [f"Dataset fingerprint `{last['fingerprint']}`, split `{last['split_hash']}`, "
              f"{len(board.rows)} runs (rows x seeds), {sessions} test sessions."
              + (f" {hidden} older rows (other data, split or code) are not shown." if hidden
                 else ""), "",
              "How to read it:", "",
              "- **Ranked** by pooled test CCC, mean of valence and arousal (**CCC mean**): one "
              "CCC over all test frames of all sessions together, the thesis's and AVEC's "
              "convention. **CCC/session** is the other convention, the mean over test "
              "sessions of each session's own CCC (mean of V and A); it does not credit "
              "predicting each speaker's baseline.",
              f"- **[95% CI]**: bootstrap over test sessions and seeds ({uncertainty.RESAMPLES} "
              "resamples, seed 0): each resample draws the test sessions and the seeds with "
              "replacement and recomputes pooled CCC and RMSE exactly from per-session sums."
              + (f" With only {sessions} test session{'s' if sessions > 1 else ''} these "
                 "intervals are coarse (one session: only the seeds vary)." if
                 0 < sessions < COARSE_BELOW else ""),
              "- **rank**: `1=` marks a row that a paired bootstrap (the same session "
              "resamples) cannot tell from rank 1 at 95%: its difference to rank 1 has an "
              "interval that holds 0. Other rows are numbered by position.",
              "- Other columns: mean ± std over seeds; best per column in bold. **params** lists "
              "only what differs from the model's defaults (`emorec models`). **fit core-s**: "
              "the CPU time of one seed's fit, mean over seeds (every cell fits on one thread; for "
              "svr it includes its grid search): the training budget, unaffected by other work "
              "on the machine.",
              *_mark_notes(board),
              "- Ranked here: rows run with the suite's params. Rows whose params an Optuna study "
              "chose on dev (more budget) are ranked apart"
              + (", in [Tuned rows](#tuned-rows)." if len(board.tuned) else
                 "; this dataset has none."), ""]
    lines += _ranked_table(board)
    if len(board.tuned):
        lines += _tuned_table(board)
    lines += _best_of_each_model(board)
    if figure_links:
        lines += ["## Figures", "",
                  "Test CCC (pooled, mean of valence and arousal) against window length: each "
                  "point is the mean over seeds, its error bar ± 1 std over seeds; grey lines "
                  "are frame models. The trace shows rating and prediction of the untuned "
                  "row with the best dev CCC (seed 0) on one test session, named under the plot "
                  "with the rule it was chosen by.", ""]
        lines += [f"![{title}]({link})" for title, link in figure_links]
        lines.append("")
    lines += _fidelity_section()
    lines += _thesis_section(dataset)
    return "\n".join(lines) + "\n"


def _mark_notes(board: Board) -> list[str]:
    """What the model column's marks mean, for the marks this board has."""
    notes = []
    if board.entries["params"].map(lambda p: json.loads(p).get("direction")).eq(
            "bidirectional").any():
        notes.append("- **(offline)**: a sequence model run bidirectionally reads the whole "
                     "session, future frames included; every other row predicts a frame from "
                     "that frame and its past (online).")
    plugged = board.entries[board.entries["model_source"] != "emorec"]
    if len(plugged):
        sources = sorted(set(zip(plugged["model"], plugged["model_source"], strict=True)))
        notes.append("- **(plugin)**: a model from outside emorec (`--plugin`, a suite's "
                     "`plugins` or an installed package): " + "; ".join(
                         f"`{model}` from {source}" for model, source in sources) + ".")
    return notes


def _fidelity_section() -> list[str]:
    return ["## Reproduction or redesign", "",
            "What these numbers reproduce of the thesis and where emorec chose otherwise.", "",
            tabulate(FIDELITY, headers=["aspect", "thesis", "emorec", "kind"],
                     tablefmt="github"), ""]


def _ranked_table(board: Board) -> list[str]:
    body, position = [], 0
    for _, entry in board.default.iterrows():
        position += 1
        rank = ("1" if entry["label"] == board.top
                else "1=" if board.versus_top(entry["label"]) == "tied" else str(position))
        body.append([rank, *_cells(entry, board, board.default)])
    body += [["—", *_cells(entry, board, None, FLOORS[entry["model"]])]
             for _, entry in board.floors.iterrows()]
    return [tabulate(body, headers=["rank", *_headers()], tablefmt="github",
                     disable_numparse=True), ""]


def _tuned_table(board: Board) -> list[str]:
    body = [[entry["tuned_by"], str(int(entry["tuning_trials"])),
             board.versus_top(entry["label"]) or "—", *_cells(entry, board, None)]
            for _, entry in board.tuned.iterrows()]
    return ["## Tuned rows", "",
            "Each ran with the best params of the Optuna study named (`emorec tune`, chosen on "
            "dev CCC, then `emorec bench --params-from`): their budget is the study's trials on "
            "top of the fit. **vs rank 1**: paired bootstrap against rank 1 of the table above "
            "(tied, above or below at 95%).", "",
            tabulate(body, headers=["study", "trials", "vs rank 1", *_headers()],
                     tablefmt="github", disable_numparse=True), ""]


def _best_of_each_model(board: Board) -> list[str]:
    best = board.best_on_dev()
    if best.empty:
        return []
    body = [[_model_cell(entry, json.loads(entry["params"])), _variant(entry),
             f"{entry['dev_mean_ccc_mean']:.3f}",
             _with_interval(entry, board, "ccc"),
             "rank 1" if entry["label"] == board.top else board.versus_top(entry["label"]) or "—"]
            for _, entry in best.iterrows()]
    return ["## Best of each model (chosen on dev)", "",
            "For each model, the untuned variant (window, pooling) with the highest "
            "mean dev CCC; its test CCC is reported, never used to choose. **vs rank 1**: "
            "paired bootstrap against rank 1 of the main table.", "",
            tabulate(body, headers=["model", "variant chosen on dev", "dev CCC mean",
                                    "test CCC mean [95% CI]", "vs rank 1"],
                     tablefmt="github", disable_numparse=True), ""]


def _headers() -> list[str]:
    return ["model", "window", "pooling", "params", "seeds", "CCC mean [95% CI]",
            *(h for h, _ in COLUMNS[:3]), "RMSE mean [95% CI]", *(h for h, _ in COLUMNS[3:]),
            "fit core-s"]


def _cells(entry, board: Board, ranked: pd.DataFrame | None, name: str | None = None
           ) -> list[str]:
    params = json.loads(entry["params"])
    cells = [name or _model_cell(entry, params), format_window(params.get("window")),
             params.get("pooling", ""),
             format_params(entry["variant"], omit=("window", "pooling")),
             str(int(entry["seeds"])), _with_interval(entry, board, "ccc", ranked)]
    cells += [_mean_std(entry, column, ranked) for _, column in COLUMNS[:3]]
    cells.append(_with_interval(entry, board, "rmse", ranked))
    cells += [_mean_std(entry, column, ranked) for _, column in COLUMNS[3:]]
    cells.append(f"{entry['fit_core_seconds_mean']:.1f}")
    return cells


def _model_cell(entry, params: dict) -> str:
    """The model's name, marked ``(offline)`` when it reads future frames and ``(plugin)`` when
    it comes from outside emorec."""
    marks = [mark for mark, applies in (
        ("offline", params.get("direction") == "bidirectional"),
        ("plugin", entry["model_source"] != "emorec")) if applies]
    return entry["model"] + (f" ({', '.join(marks)})" if marks else "")


def _with_interval(entry, board: Board, metric: str, ranked: pd.DataFrame | None = None) -> str:
    column = {"ccc": "test_mean_ccc", "rmse": "test_mean_rmse"}[metric]
    text = format_number(entry[f"{column}_mean"])
    draws = board.draws.get(entry["label"])
    if draws is not None:
        low, high = uncertainty.interval(getattr(draws, metric))
        text += f" [{format_number(low)}, {format_number(high)}]"
    return _bold_if_best(text, entry, column, ranked)


def _mean_std(entry, column: str, ranked: pd.DataFrame | None) -> str:
    mean, std = entry[f"{column}_mean"], entry[f"{column}_std"]
    text = f"{format_number(mean)} ± {format_number(0.0 if np.isnan(std) else std)}"
    return _bold_if_best(text, entry, column, ranked)


def _bold_if_best(text: str, entry, column: str, ranked: pd.DataFrame | None) -> str:
    if ranked is None or len(ranked) < 2:
        return text
    means = ranked[f"{column}_mean"]
    best = means.max() if higher_is_better(column) else means.min()
    return f"**{text}**" if round(entry[f"{column}_mean"], 3) == round(best, 3) else text


def _variant(entry) -> str:
    """Window and pooling (always) and the other non-default params."""
    return describe_row(entry).removeprefix(entry["model"]).strip()


def _draw_figures(board: Board, traces: pd.DataFrame,
                  out_dir: Path) -> list[tuple[str, str]]:
    rows = board.rows
    dataset, stand_in = rows["dataset"].iloc[-1], rows["origin"].iloc[-1] == "stand-in"
    links = []
    name = f"figures/{dataset}-ccc-by-window.png"
    if figures.ccc_by_window(rows, dataset, stand_in, out_dir / name):
        links.append(("test CCC against window length", name))
    best = board.best_on_dev()
    if not best.empty:
        chosen = best.sort_values(["dev_mean_ccc_mean", "label"], ascending=[False, True],
                                  kind="stable").iloc[0]
        cells = rows[rows["model"].eq(chosen["model"]) & rows["params"].eq(chosen["params"])
                     & rows["tuned_by"].eq("")]
        keys = [k for k in cells.sort_values("seed")["cell_key"]
                if k in set(traces["cell_key"])]
        oracle = rows.loc[rows["model"] == "oracle", "cell_key"]
        name = f"figures/{dataset}-trace.png"
        label = figures.variant(chosen)
        if keys and figures.trace(traces, keys[0], f"{dataset}: {label} (best dev CCC), seed 0",
                                  stand_in, out_dir / name,
                                  oracle.iloc[0] if len(oracle) else None):
            links.append((f"rating vs prediction, {label}", name))
    return links


def _aggregate(rows: pd.DataFrame) -> pd.DataFrame:
    rows = rows.assign(label=rows["model"] + " " + rows["params"] + " " + rows["tuned_by"])
    metrics = [*(c for _, c in COLUMNS), "test_mean_ccc", "test_mean_rmse", "dev_mean_ccc",
               "fit_core_seconds"]
    grouped = rows.groupby(["label", "model", "params", "variant", "tuned_by", "model_source"],
                           sort=True)
    out = grouped[metrics].agg(["mean", "std"])
    out.columns = [f"{metric}_{stat}" for metric, stat in out.columns]
    out["seeds"] = grouped.size()
    out["tuning_trials"] = grouped["tuning_trials"].max()
    return out.reset_index()


def _bootstrap(rows: pd.DataFrame, entries: pd.DataFrame, stats: dict, sessions: list[str]
               ) -> dict[str, uncertainty.Draws]:
    """Draws for every entry whose every seed has session statistics on all ``sessions``."""
    if not sessions:
        return {}
    weights = uncertainty.session_weights(sessions)
    labels = rows["model"] + " " + rows["params"] + " " + rows["tuned_by"]
    out = {}
    for label in entries["label"]:
        cells = [stats[key] for key in rows.loc[labels == label, "cell_key"]]
        if all(cell is not None and sorted(cell) == sessions for cell in cells):
            array = np.stack([np.stack([cell[s] for s in sessions]) for cell in cells])
            out[label] = uncertainty.draws(array, weights, label)
    return out


def _guard(rows: pd.DataFrame) -> str:
    states = set(rows["extractor_guard"])
    return states.pop() if len(states) == 1 else "mixed"


def _thesis_section(dataset: str) -> list[str]:
    name = dataset.split("-synth")[0]   # sewa-synth-small -> sewa
    source = resources.files("emorec") / "reference" / "thesis_results.csv"
    thesis = pd.read_csv(source, dtype=str, keep_default_na=False)
    thesis = thesis[(thesis["dataset"] == name) & (thesis["split"] == "test")]
    if thesis.empty:
        return []
    body = []
    for _, r in thesis.iterrows():
        maes = [float(r[c]) for c in ("mae_valence", "mae_arousal") if r[c]]
        failed = any(mae > FAILED_MAE for mae in maes)
        body.append([r["table"], THESIS_NAMES.get(r["model"], r["model"]),
                     f"{r['window_s']} s" if r["window_s"] else "", r["pooling"],
                     *(_as_printed(r[c]) for c in ("mae_valence", "rmse_valence",
                                                   "mae_arousal", "rmse_arousal")),
                     "failed run: MAE near 1, outside the label range" if failed else ""])
    return [f"## Reported in the thesis (real {name.upper()}, for orientation)", "",
            "Numbers as printed in the thesis's tables (digits as printed, a leading 0 added), "
            "on the real dataset with the thesis's own split; not rerun here and not "
            "comparable run for run. Model names are emorec's. The thesis's Conv1D GRU rows "
            "with MAE near 1 are runs that failed (their outputs left the [-1, 1] label "
            "range); emorec's Conv1D pooling ends in tanh like every net.", "",
            tabulate(body, headers=["table", "model", "window", "pooling", "MAE V", "RMSE V",
                                    "MAE A", "RMSE A", "note"], tablefmt="github",
                     disable_numparse=True), ""]


def _as_printed(text: str) -> str:
    """A thesis number with the digits it was printed with: ``.10`` -> ``0.10``."""
    return f"0{text}" if text.startswith(".") else text
