"""Long-format result records: one row per dataset x model x params x seed (a cell; a
seed-free model has one cell per dataset and params, its row's ``seed`` empty).

Rows live in ``leaderboard/results/<dataset>.csv``, appended one at a time as cells finish, so
an interrupted sweep loses nothing it completed. Every file is validated on load against the
versioned schema below; leaderboards are rendered from these files alone.

Schema history: v2 added ``tuned_by`` (the Optuna study whose best params a cell ran with,
``emorec bench --params-from STUDY``; empty otherwise); v3 added ``variant`` (the params that
differ from the model's defaults, so a row describes itself without the model zoo); v4 added
``code_fingerprint`` (of the code that decides the model's numbers, part of the cell key),
``fit_core_seconds`` (CPU time of the fit, the training budget; a cell fits on one thread),
``tuning_trials`` (the study's finished trials for a tuned row, else 0) and
``test_session_stats`` (per test session and target: n and the sums of y, p, y², p² and y·p,
enough to recompute pooled CCC and RMSE on any resample of sessions); v5 added
``extractor_guard`` (real data: whether the feature extractor's training sessions were given and
kept out of test; empty for stand-ins); v6 added ``model_source`` (``emorec``, or the plugin a
model came from: package and version, or file and content hash); v7 dropped ``window`` (a copy
of the window in ``params``, which alone holds it now); v8 let ``seed`` be empty: the one row of
a seed-free model (``@model(seeded=False)``), fitted once for all seeds (read as a nullable
integer, ``<NA>``); v9 keeps what every metric is derived from instead of metric columns:
``dev_session_stats`` and ``test_session_stats`` (per session and target, the sums of
:data:`emorec.metrics.STAT_NAMES`, Σ|y−p| added for MAE), and ``recorded_metrics`` (the metric
columns an older row was written with, JSON, for what its sums cannot give; empty for v9 rows).
The metric columns (:data:`METRIC_COLUMNS`, one per partition, target and metric of
:data:`emorec.metrics.METRICS`) are computed when a file is loaded. Older files are read as
the current schema and rewritten as it when a row is appended to them; rows older than v4 have
no code fingerprint, so ``emorec verify`` reports them stale.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from emorec import metrics
from emorec.cells import Cell, canonical_params
from emorec.data.splits import GUARD_STATES
from emorec.errors import DataError, EmorecError
from emorec.store import facts, predictions
from emorec.system.files import replace_file, writable_folder
from emorec.vocabulary import ORIGINS, SCORED_PARTITIONS, TARGETS

SCHEMA_VERSION = 9
RESULTS_DIR = Path("leaderboard") / "results"
IDENTITY_COLUMNS = ["schema_version", "suite", "dataset", "origin", "extractor_guard",
                    "fingerprint", "split_hash",
                    "model", "family", "modality", "model_source", "params", "variant", "tuned_by",
                    "tuning_trials", "seed", "code_fingerprint", "cell_key",
                    "code_version"]
STATS_COLUMNS = [f"{partition}_session_stats" for partition in SCORED_PARTITIONS]
COLUMNS = [*IDENTITY_COLUMNS, "fit_seconds", "fit_core_seconds", *STATS_COLUMNS,
           "recorded_metrics", "mlflow_run_id"]
# Derived when a file is loaded, never stored: every partition x target x metric.
METRIC_COLUMNS = [f"{partition}_{target}_{name}" for partition in SCORED_PARTITIONS
                  for target in (*TARGETS, "mean") for name in metrics.METRIC_NAMES]
TEXT_COLUMNS = ["params", "variant", "cell_key", "fingerprint", "split_hash", "mlflow_run_id",
                "code_version", "tuned_by", "code_fingerprint", "extractor_guard",
                "model_source", *STATS_COLUMNS, "recorded_metrics"]


@dataclass(frozen=True)
class RowContext:
    """What every row one bench writes shares: its suite, data, split, code and guard."""
    suite: str
    dataset: str
    origin: str
    fingerprint: str
    split_hash: str
    code_version: str
    extractor_guard: str

    def tags(self) -> dict:
        """The MLflow tags every run of these rows carries."""
        return {"dataset": self.dataset, "fingerprint": self.fingerprint,
                "origin": self.origin, "split_hash": self.split_hash,
                "code_version": self.code_version, "suite": self.suite}


def build_row(context: RowContext, cell: Cell, spec, result, mlflow_run_id: str) -> dict:
    """The results row of ``cell`` fitted by model ``spec`` (a registered ModelSpec) with
    ``result`` (an :class:`emorec.evaluation.CellResult`), linked to its MLflow run."""
    return row(context, model=spec.name, family=spec.family, modality=spec.modality,
               source=spec.source, params=cell.params, variant=spec.changed(cell.params),
               seed=cell.seed, code_fingerprint=spec.code_fingerprint, cell_key=cell.key,
               by_partition=result.predictions, mlflow_run_id=mlflow_run_id,
               tuned_by=cell.tuned_by, tuning_trials=cell.tuning_trials,
               fit_seconds=result.fit_seconds, fit_core_seconds=result.fit_core_seconds)


def row(context: RowContext, *, model: str, family: str, modality: str, source: str,
        params: dict, variant: dict, seed: int | None, code_fingerprint: str, cell_key: str,
        by_partition: dict[str, pd.DataFrame], mlflow_run_id: str, tuned_by: str = "",
        tuning_trials: int = 0, fit_seconds: float = 0.0, fit_core_seconds: float = 0.0
        ) -> dict:
    """A results row of the current schema: a fitted cell's (:func:`build_row`) or one made
    from kept predictions (nothing fitted: no fit time)."""
    return {"schema_version": SCHEMA_VERSION, **asdict(context),
            "model": model, "family": family, "modality": modality, "model_source": source,
            "params": canonical_params(params), "variant": canonical_params(variant),
            "tuned_by": tuned_by, "tuning_trials": tuning_trials, "seed": seed,
            "code_fingerprint": code_fingerprint, "cell_key": cell_key,
            "fit_seconds": fit_seconds, "fit_core_seconds": fit_core_seconds,
            **stats_columns(by_partition), "recorded_metrics": "",
            "mlflow_run_id": mlflow_run_id}


def stats_columns(by_partition: dict[str, pd.DataFrame]) -> dict[str, str]:
    """``<partition>_session_stats`` of predictions per scored partition (frames with labels
    and ``<target>_pred``), empty for a partition not given."""
    return {f"{partition}_session_stats": session_stats(
                frame[list(TARGETS)].to_numpy(),
                frame[[f"{t}_pred" for t in TARGETS]].to_numpy(), frame["session"].to_numpy())
            if (frame := by_partition.get(partition)) is not None else ""
            for partition in SCORED_PARTITIONS}


def scores(by_partition: dict[str, pd.DataFrame]) -> dict:
    """``<partition>_<target>_<metric>`` for predictions per partition; ValueError for
    predictions that are not finite."""
    out = {}
    for partition, frame in by_partition.items():
        values = metrics.regression_metrics(frame[list(TARGETS)].to_numpy(),
                                            frame[[f"{t}_pred" for t in TARGETS]].to_numpy(),
                                            frame["session"].to_numpy())
        out.update({f"{partition}_{name}": value for name, value in values.items()})
    return out


def session_stats(y_true: np.ndarray, y_pred: np.ndarray, sessions: np.ndarray) -> str:
    """``{session: [[n, Σy, Σp, Σy², Σp², Σy·p, Σ|y−p|] per target]}`` as compact JSON."""
    names, sums = metrics.session_sums(y_true, y_pred, sessions)
    return json.dumps({name: [[int(t[0]), *map(float, t[1:])] for t in session]
                       for name, session in zip(names, sums.tolist(), strict=True)},
                      separators=(",", ":"))


def parse_session_stats(text: str) -> dict[str, np.ndarray] | None:
    """``session -> (targets, stats)`` array, or None for a row without stats. Sums written
    before Σ|y−p| was kept have NaN in its place."""
    if not text:
        return None
    width = len(metrics.STAT_NAMES)
    out = {}
    for session, values in json.loads(text).items():
        array = np.asarray(values, dtype=np.float64)
        if array.shape[-1] < width:
            array = np.concatenate([array, np.full((*array.shape[:-1], width - array.shape[-1]),
                                                   np.nan)], axis=-1)
        out[session] = array
    return out


def stats_array(text: str) -> np.ndarray | None:
    """(sessions, targets, stats) sums of a row's stats column, sessions sorted by name."""
    parsed = parse_session_stats(text)
    return None if parsed is None else np.stack([parsed[s] for s in sorted(parsed)])


def with_metrics(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every metric column, computed from its sums; where a row's sums cannot
    give a value (an older row), the value it was recorded with, else NaN."""
    values = []
    for record in frame.itertuples(index=False):
        recorded = json.loads(record.recorded_metrics) if record.recorded_metrics else {}
        row = {}
        for partition in SCORED_PARTITIONS:
            sums = stats_array(getattr(record, f"{partition}_session_stats"))
            if sums is not None:
                row.update({f"{partition}_{name}": value
                            for name, value in metrics.scores(sums).items()})
        for column in METRIC_COLUMNS:
            if math.isnan(row.get(column, math.nan)):
                row[column] = recorded.get(column, math.nan)
        values.append(row)
    derived = pd.DataFrame(values, columns=METRIC_COLUMNS, index=frame.index, dtype=float)
    return pd.concat([frame.drop(columns=METRIC_COLUMNS, errors="ignore"), derived], axis=1)


def results_path(root: Path, dataset: str) -> Path:
    return Path(root) / f"{dataset}.csv"


def append(path: Path, record: dict) -> None:
    """Validate one record and add it as one complete CSV row: the file is written anew beside
    itself and renamed over the old one, so a kill leaves the old file or the new one, never
    half a row. (A file of a few thousand rows takes milliseconds; cells take seconds.)"""
    record = {k: v for k, v in record.items() if k not in METRIC_COLUMNS}   # derived, not kept
    frame = validate(pd.DataFrame([record]), str(path), first_row=None)
    old = load(path)[COLUMNS]
    write(path, pd.concat([old, frame], ignore_index=True) if len(old) else frame)


def check_writable(path: Path) -> None:
    """EmorecError now, before any cell is fitted, if ``path`` cannot take rows later (whether
    it reads as results is :func:`load`'s to say, which the runner calls next)."""
    writable_folder(path.parent, "results folder")
    if path.exists() and (not path.is_file() or not os.access(path, os.R_OK | os.W_OK)):
        raise EmorecError(f"{path}: results file is not a readable and writable file")


def write(path: Path, frame: pd.DataFrame) -> None:
    """Write validated records as a whole results file (atomically)."""
    frame = validate(frame.reset_index(drop=True)[[c for c in frame.columns
                                                    if c not in METRIC_COLUMNS]],
                     str(path), first_row=None)

    def write_rows(partial: Path) -> None:
        with partial.open("w", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(COLUMNS)
            for _, record in frame.iterrows():
                writer.writerow([_cell(record[column]) for column in COLUMNS])

    replace_file(path, write_rows)


def merge(sources: list[Path], out: Path) -> dict[str, tuple[int, int]]:
    """Merge the results files (and kept predictions) of several folders, e.g. the shards of a
    sweep run on several machines, into ``out``: one row per cell key (the first one seen;
    ``out``'s own files count as the first source), and the model facts beside them likewise.
    Returns dataset -> (rows read, rows kept)."""
    out = Path(out)
    folders = [out, *(Path(s) for s in sources if Path(s).resolve() != out.resolve())]
    names = sorted({p.stem for folder in folders for p in Path(folder).glob("*.csv")})
    summary = {}
    for name in (facts.MODELS_FILE, facts.DATASETS_FILE):
        kept = {}
        for folder in reversed(folders):   # the first folder's facts win, as its rows do
            kept.update(facts.read_raw(folder, name))
        if kept:
            facts.write(out, kept, name)
    for name in names:
        frames = [load(results_path(folder, name)).assign(_source=str(results_path(folder, name)))
                  for folder in folders]
        frames = [f for f in frames if not f.empty]
        if not frames:
            continue
        table = pd.concat(frames, ignore_index=True)
        _check_no_conflict(table)
        kept = table.drop_duplicates("cell_key", keep="first").drop(columns="_source")
        write(results_path(out, name), kept)
        predictions.merge(folders[1:], out, name)
        summary[name] = (len(table), len(kept))
    return summary


def _check_no_conflict(table: pd.DataFrame) -> None:
    """One cell's rows from several files must agree in what its metrics derive from: rows
    that differ would make the merge keep whichever file came first."""
    kept = [*STATS_COLUMNS, "recorded_metrics"]
    twice = table[table.duplicated("cell_key", keep=False)]
    for key, rows in twice.groupby("cell_key", sort=False):
        if len(rows[kept].drop_duplicates()) > 1:
            first = rows.iloc[0]
            other = rows[(rows[kept] != first[kept]).any(axis=1)].iloc[0]
            raise EmorecError(
                f"merge-results: cell {key} ({first['model']} {first['params']}, seed "
                f"{first['seed']}) has different results in {first['_source']} and "
                f"{other['_source']}: keep the one you trust and remove the other's row")


def load(path: Path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        return with_metrics(pd.DataFrame(columns=COLUMNS))
    if not path.is_file():
        raise DataError(path, "not a results file", expected="a CSV file", found="a folder")
    _check_last_row(path)
    try:
        frame = pd.read_csv(path, dtype={c: str for c in TEXT_COLUMNS},
                            keep_default_na=False,
                            na_values={c: [""] for c in [*METRIC_COLUMNS, "seed"]})
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise DataError(path, f"cannot read results CSV ({error})") from None
    return with_metrics(validate(_upgrade(frame), str(path), first_row=2))


def _upgrade(frame: pd.DataFrame) -> pd.DataFrame:
    """Older schemas -> the current one: v1 had no ``tuned_by`` (no v1 cell was tuned), v2 no
    ``variant`` (worked out from the registered model's defaults, the one time the results layer
    reads the model zoo), v3 no code fingerprint, trial count or session statistics (left
    empty: such rows are stale and have no intervals), v4 no extractor guard, v5 no model source
    (emorec's own models only); v6 and older kept a copy of the window (dropped). v7 and older
    have a seed in every row, a seed-free model's rows too (one per seed, as they were run):
    they are kept as they are, a record of what ran, and a newer seed-free row supersedes them
    on the leaderboard (:func:`current`). v8 and older stored metric columns and no dev sums:
    the metric columns move into ``recorded_metrics`` (what the sums cannot give, dev metrics
    and test MAE, comes from there)."""
    if "schema_version" not in frame.columns or frame.empty:
        return frame
    versions = set(frame["schema_version"].astype(str))
    if versions - {"1", "2", "3", "4", "5", "6", "7", "8"}:
        return frame   # the current version, or validate names the bad row
    if "tuned_by" not in frame.columns:
        frame.insert(list(frame.columns).index("params") + 1, "tuned_by", "")
    if "variant" not in frame.columns:
        frame.insert(list(frame.columns).index("params") + 1, "variant", [
            variant(model, json.loads(params))
            for model, params in zip(frame["model"], frame["params"], strict=True)])
    if "code_fingerprint" not in frame.columns:
        frame.insert(list(frame.columns).index("cell_key"), "code_fingerprint", "")
        frame.insert(list(frame.columns).index("seed"), "tuning_trials", 0)
        frame.insert(list(frame.columns).index("mlflow_run_id"), "fit_core_seconds",
                     frame["fit_seconds"])   # wall time is the best estimate left
        frame.insert(list(frame.columns).index("mlflow_run_id"), "test_session_stats", "")
    if "extractor_guard" not in frame.columns:   # v4 and older: no guard existed
        frame.insert(list(frame.columns).index("origin") + 1, "extractor_guard",
                     ["" if origin == "stand-in" else "not given" for origin in frame["origin"]])
    if "model_source" not in frame.columns:   # v5 and older: emorec's own models only
        frame.insert(list(frame.columns).index("modality") + 1, "model_source", "emorec")
    if "recorded_metrics" not in frame.columns:   # v8 and older: metric columns, no dev sums
        stored = [c for c in METRIC_COLUMNS if c in frame.columns]
        frame.insert(list(frame.columns).index("mlflow_run_id"), "recorded_metrics", [
            json.dumps({c: float(v) for c, v in zip(stored, values, strict=True)
                        if not pd.isna(v)}, separators=(",", ":"))
            for values in frame[stored].itertuples(index=False)])
        frame.insert(list(frame.columns).index("test_session_stats"), "dev_session_stats", "")
        frame = frame.drop(columns=stored)
    return frame.drop(columns="window", errors="ignore").assign(schema_version=SCHEMA_VERSION)


def variant(model: str, params: dict) -> str:
    """The params that differ from the registered model's defaults, as canonical JSON (all of
    them for a model that is not registered)."""
    from emorec.models import MODELS

    changed = MODELS.get(model).changed(params) if model in MODELS else params
    return canonical_params(changed)


def _check_last_row(path: Path) -> None:
    """A file whose last line lacks its newline was either cut while being written (by an
    older emorec or another tool) or saved by an editor that strips the final newline. The
    last row is kept if it is complete: every column, and a whole MLflow run id (32 hex
    digits) or none as its last field; a cut row is refused, naming the line."""
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() == 0:
            return
        handle.seek(-1, os.SEEK_END)
        if handle.read(1) == b"\n":
            return
    text = path.read_text(encoding="utf-8", errors="replace")
    records = list(csv.reader(io.StringIO(text)))
    if (len(records) > 1 and len(records[-1]) == len(records[0])
            and re.fullmatch(r"|[0-9a-f]{32}", records[-1][-1])):
        return
    raise DataError(path, "the last row is incomplete (no line end and fields missing: the "
                    "file was cut while being written)", row=text.count("\n") + 1,
                    expected="complete rows",
                    found="a cut row; delete that line (its cell runs again on the next bench)")


def current(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows a leaderboard shows: those of the newest data and split (the last row's), one
    per model, variant, study and seed, the last written (a rerun after a code change
    supersedes the older row; the older stays in the file as history). A model that became
    seed-free (or seeded again) is shown as its newest row was run: its seed-free row
    supersedes its earlier per-seed rows, and per-seed rows an earlier seed-free one."""
    if rows.empty:
        return rows
    last = rows.iloc[-1]
    rows = rows[(rows["fingerprint"] == last["fingerprint"])
                & (rows["split_hash"] == last["split_hash"])]
    rows = rows.drop_duplicates(["model", "variant", "tuned_by", "seed"], keep="last")
    seed_free = rows["seed"].isna()
    newest = seed_free.groupby([rows["model"], rows["variant"], rows["tuned_by"]]
                               ).transform("last")
    return rows[seed_free == newest]


def row_seed(value) -> int | None:
    """A row's seed as a cell has it: a whole number, or None for a seed-free row."""
    return None if pd.isna(value) else int(value)


def load_all(root: Path) -> pd.DataFrame:
    frames = [load(path) for path in sorted(Path(root).glob("*.csv"))]
    return (pd.concat(frames, ignore_index=True) if frames
            else with_metrics(pd.DataFrame(columns=COLUMNS)))


def validate(frame: pd.DataFrame, source: str, first_row: int | None) -> pd.DataFrame:
    """Check the schema; DataError naming file, row and column otherwise."""
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(source, "results file lacks columns", column=missing[0],
                        expected=f"schema v{SCHEMA_VERSION} columns",
                        found="no " + ", ".join(missing))
    extra = [c for c in frame.columns if c not in COLUMNS]
    if extra:
        raise DataError(source, "unknown columns in results file", column=extra[0],
                        expected=f"schema v{SCHEMA_VERSION} columns")

    def fail(index, column, expected, found):
        row = None if first_row is None else int(index) + first_row
        raise DataError(source, "bad result record", row=row, column=column, expected=expected,
                        found=repr(found))

    for index, record in frame.iterrows():
        if str(record["schema_version"]) != str(SCHEMA_VERSION):
            fail(index, "schema_version", str(SCHEMA_VERSION), record["schema_version"])
        if record["origin"] not in ORIGINS:
            fail(index, "origin", " or ".join(ORIGINS), record["origin"])
        if record["extractor_guard"] not in GUARD_STATES:
            fail(index, "extractor_guard", " or ".join(map(repr, GUARD_STATES)),
                 record["extractor_guard"])
        for column in ("suite", "dataset", "fingerprint", "split_hash", "model", "cell_key"):
            if not isinstance(record[column], str) or not record[column]:
                fail(index, column, "a non-empty text", record[column])
        for column, expected in (("tuned_by", "a study name or empty"),
                                 ("code_fingerprint", "16 hex digits or empty"),
                                 *((c, "JSON per-session statistics or empty")
                                   for c in STATS_COLUMNS),
                                 ("recorded_metrics", "a JSON object or empty")):
            if not isinstance(record[column], str):
                fail(index, column, expected, record[column])
        try:
            if int(record["tuning_trials"]) < 0:
                raise ValueError
        except (TypeError, ValueError):
            fail(index, "tuning_trials", "a whole number >= 0", record["tuning_trials"])
        for column in ("params", "variant", *STATS_COLUMNS, "recorded_metrics"):
            if column not in ("params", "variant") and record[column] == "":
                continue
            try:
                json.loads(record[column])
            except (TypeError, ValueError):
                fail(index, column, "a JSON object", record[column])
        try:
            if not pd.isna(record["seed"]) and int(record["seed"]) != float(record["seed"]):
                raise ValueError
        except (TypeError, ValueError):
            fail(index, "seed", "a whole number, or empty (seed-free)", record["seed"])
        for column in ("fit_seconds", "fit_core_seconds"):
            try:
                value = float(record[column])
            except (TypeError, ValueError):
                fail(index, column, "a number", record[column])
            if not math.isfinite(value):
                fail(index, column, "a finite number", record[column])
    frame = frame.astype({"seed": "Int64", "schema_version": int, "tuning_trials": int})
    return frame.astype({c: float for c in ("fit_seconds", "fit_core_seconds")})


def _cell(value) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float):
        return repr(value)
    return str(value)
