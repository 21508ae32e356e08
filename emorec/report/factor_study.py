"""Factor-study pages: the same cells on datasets that differ in one factor.

- A suite whose stand-in varies a generator factor (``stand_in.vary``, e.g.
  ``benchmarks/sewa_lag.toml``) writes one results file per value: ``sewa-synth`` (the kind's
  own value) and ``sewa-synth-lag1``, ``-lag2``, ...
- A suite that sweeps the rating delay of an extracted dataset (``[dataset] delay = [...]``)
  writes ``<name>`` (its own delay) and ``<name>-delay1``, ...; each dataset's delay is in the
  dataset facts beside the results. Its page also says, per row, which delay dev CCC chooses
  and that delay's test CCC, as AVEC 2018 chose the annotation delay on dev.
- A suite that names several extractions of the same recordings (``[dataset] real = [...]``)
  writes one results file per feature set; datasets whose facts have the same recordings digest,
  rating delay and frame rate are one study, ``<first name>-features``, its columns the feature
  sets (what differs of the face and audio features) and, per row, the set dev CCC chooses.

A page puts the values side by side: for every row run at every value, test CCC with its 95%
interval per value, a table of RMSE, and a figure of CCC against the factor (or feature set).
It is drawn from the per-dataset boards, so its numbers are theirs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from emorec import uncertainty
from emorec.data.synth_factors import FACTORS, own_value, split_name
from emorec.display import FLOOR_NAMES, describe_variant, format_number
from emorec.report import figures

DELAY = "delay"
FEATURES = "features"
DELAYED = re.compile(r"^(?P<base>.+)-delay[0-9.]+$")


@dataclass(frozen=True)
class Study:
    base: str                      # the dataset with its own factor value
    factor: str                    # a generator factor, DELAY or FEATURES
    datasets: dict                 # factor value -> dataset, in value order (FEATURES: the
    #                                feature set's name -> dataset, in dataset name order)
    features: dict[str, tuple[str, str]] = field(default_factory=dict)  # FEATURES: dataset ->
    #                                (face features, audio features)

    @property
    def name(self) -> str:
        return f"{self.base}-{self.factor}"


def find_studies(datasets: list[str], dataset_facts: dict[str, dict]) -> list[Study]:
    """Every (stand-in, generator factor) for which some dataset changes that factor alone, and
    every extracted dataset benched at several rating delays, and every set of extracted
    datasets of the same recordings, rating delay and frame rate (feature sets)."""
    varied: dict[tuple[str, str], dict[float, str]] = {}
    names = set(datasets)
    for dataset in datasets:
        parsed = split_name(dataset)
        if parsed is None or len(parsed[1]) != 1 or parsed[0] not in names:
            continue
        base, factors = parsed
        (factor, value), = factors.items()
        varied.setdefault((base, factor), {})[value] = dataset
    studies = []
    for (base, factor), levels in sorted(varied.items()):
        levels[own_value(base, factor)] = base
        studies.append(Study(base, factor, dict(sorted(levels.items()))))
    delays: dict[str, dict[float, str]] = {}
    for dataset in datasets:
        delay = dataset_facts.get(dataset, {}).get("label_delay_s")
        if delay is not None:
            match = DELAYED.match(dataset)
            delays.setdefault(match["base"] if match else dataset, {})[float(delay)] = dataset
    studies += [Study(base, DELAY, dict(sorted(levels.items())))
                for base, levels in sorted(delays.items()) if len(levels) > 1 and base in names]
    return studies + _feature_studies(sorted(datasets), dataset_facts)


def _feature_studies(datasets: list[str], dataset_facts: dict[str, dict]) -> list[Study]:
    alike: dict[tuple, list[str]] = {}
    for dataset in datasets:
        known = dataset_facts.get(dataset, {})
        if "recordings" in known:
            key = (known["recordings"], known.get("label_delay_s"), known.get("fps"))
            alike.setdefault(key, []).append(dataset)
    studies = []
    for members in sorted(alike.values()):
        if len(members) > 1:
            features = {d: (dataset_facts[d].get("face_features", "?"),
                            dataset_facts[d].get("audio_features", "?")) for d in members}
            studies.append(Study(members[0], FEATURES, _feature_names(features), features))
    return studies


def _feature_names(features: dict[str, tuple[str, str]]) -> dict[str, str]:
    """Feature set name -> dataset: what differs of the face and audio features (with the
    dataset's name where the features are the same and other settings differ)."""
    faces = {face for face, _ in features.values()}
    sounds = {audio for _, audio in features.values()}

    def name(face: str, audio: str) -> str:
        if len(faces) == 1:
            return audio
        return f"face {face}" if len(sounds) == 1 else f"face {face}, audio {audio}"

    names = {dataset: name(*pair) for dataset, pair in features.items()}
    if len(set(names.values())) < len(names):
        names = {dataset: f"{text} ({dataset})" for dataset, text in names.items()}
    return {text: dataset for dataset, text in names.items()}


def render_study(study: Study, boards: dict, out_dir: Path) -> Path:
    """Write ``<base>-<factor>.md`` and its figure from the datasets' boards."""
    levels = {value: boards[dataset] for value, dataset in study.datasets.items()}
    common = set.intersection(*(set(board.entries.loc[board.entries["tuned_by"] == "", "label"])
                                for board in levels.values()))
    first = next(iter(levels.values()))
    entries = first.entries[first.entries["label"].isin(common)].sort_values(
        ["model", "label"], kind="stable")
    points = []
    for _, entry in entries.iterrows():
        for value, board in levels.items():
            row = board.entries.set_index("label").loc[entry["label"]]
            low = high = float("nan")
            if entry["label"] in board.draws:
                low, high = uncertainty.interval(board.draws[entry["label"]]["ccc"])
            shown = first.model_facts(entry["model"]).shown(json.loads(entry["params"]))
            points.append({"row": FLOOR_NAMES.get(entry["model"], describe_variant(
                               entry["model"], entry["variant"], shown)),
                           "value": value,
                           "ccc": row["test_mean_ccc_mean"], "low": low, "high": high,
                           "rmse": row["test_mean_rmse_mean"], "dev": row["dev_mean_ccc_mean"],
                           "seeds": 0 if row["seed_free"] else int(row["seeds"])})
    table = pd.DataFrame(points)
    figure = f"figures/{study.name}.png"
    unit = _unit(study)
    stand_in = first.all_rows["origin"].iloc[-1] == "stand-in"
    factor = "feature set" if study.factor == FEATURES else study.factor
    figures.ccc_by_factor(table, f"{factor} ({unit})" if unit else factor,
                          study.base, stand_in, Path(out_dir) / figure)
    path = Path(out_dir) / f"{study.name}.md"
    page = {DELAY: _delay_page, FEATURES: _features_page}.get(study.factor, _page)
    path.write_text(page(study, table, figure, stand_in))
    return path


def _unit(study: Study) -> str:
    if study.factor == FEATURES:
        return ""
    return "s" if study.factor == DELAY else FACTORS[study.factor].unit


NO_INTERVAL = (f" (none for a dataset with fewer than {uncertainty.MIN_SESSIONS} test "
               "sessions: too few for a bootstrap)")


def _wide(study: Study, table: pd.DataFrame, cell) -> list[list[str]]:
    return [[row, *(cell(group[group["value"] == value].iloc[0]) for value in study.datasets)]
            for row, group in table.groupby("row", sort=False)]


def _ccc(point) -> str:
    text = format_number(point["ccc"])
    if pd.isna(point["low"]):
        return text
    return f"{text} [{format_number(point['low'])}, {format_number(point['high'])}]"


def _headers(study: Study) -> list[str]:
    if study.factor == FEATURES:
        return list(study.datasets)
    unit = _unit(study)
    return [f"{study.factor} = {value:g}{' ' + unit if unit else ''}" for value in study.datasets]


def _seeds(table: pd.DataFrame) -> str:
    """``3 seeds`` (``1/3 seeds`` when rows differ), and ``seed-free rows fitted once`` when
    some rows are seed-free (0 seeds in ``table``)."""
    if not len(table):
        return ""
    counts = sorted({int(n) for n in table["seeds"] if n})
    parts = [f"{'/'.join(map(str, counts))} seed{'' if counts == [1] else 's'}"] if counts else []
    if (table["seeds"] == 0).any():
        parts.append("seed-free rows fitted once")
    return ", ".join(parts)


def _chosen(table: pd.DataFrame, what: str, value) -> str:
    """Per row, the value with the highest mean dev CCC, and its dev and test CCC. Where every
    value scores the same on dev (a row that does not use what varies, such as a face model
    across audio feature sets), none is chosen; where some tie for best, all of them are named
    (the test CCC shown is the first's, in value order)."""
    chosen = []
    for row, group in table.groupby("row", sort=False):
        ordered = group.sort_values("dev", ascending=False, kind="stable")
        best = ordered.iloc[0]
        tied = ordered[np.isclose(ordered["dev"], best["dev"], rtol=0, atol=1e-12)]
        if len(tied) == len(group) > 1:
            named = "none: the same on every one"
        else:
            named = " or ".join(str(value(v)) for v in tied["value"])
        chosen.append([row, named, format_number(best["dev"]), _ccc(best)])
    return tabulate(chosen, headers=["row", f"{what} chosen on dev", "dev CCC mean",
                                     "test CCC mean [95% CI]"], tablefmt="github",
                    disable_numparse=True)


def _every(study: Study, table: pd.DataFrame, figure: str, what: str) -> list[str]:
    """Test CCC with intervals, test RMSE and the figure, for every value side by side."""
    return ["Pooled test CCC (mean of valence and arousal), mean over seeds, with the 95% "
            f"interval of each dataset's leaderboard{NO_INTERVAL}:", "",
            tabulate(_wide(study, table, _ccc), headers=["row", *_headers(study)],
                     tablefmt="github", disable_numparse=True), "",
            "Test RMSE (mean of valence and arousal), mean over seeds:", "",
            tabulate(_wide(study, table, lambda point: format_number(point["rmse"])),
                     headers=["row", *_headers(study)], tablefmt="github",
                     disable_numparse=True), "",
            f"![test CCC against the {what}]({figure})", ""]


def _features_page(study: Study, table: pd.DataFrame, figure: str, stand_in: bool) -> str:
    sets = [[name, f"[`{dataset}`]({dataset}.md)", *study.features[dataset]]
            for name, dataset in study.datasets.items()]
    lines = [f"# Feature-set study: {study.base}", ""]
    if stand_in:
        lines += ["> **Stand-in data.** The recordings these datasets were extracted from are "
                  "labelled stand-in (their media or ratings made by emorec), not the licensed "
                  "real corpus.", ""]
    lines += ["The same recordings and ratings (the same content hashes), extracted with "
              "different features, at the same frame rate and rating delay; every model fitted "
              f"on each. Rows: every untuned row run on all of them, {_seeds(table)}.", "",
              tabulate(sets, headers=["feature set", "dataset", "face features",
                                      "audio features"], tablefmt="github",
                       disable_numparse=True), "",
              "## Feature set chosen on dev", "",
              "For each row, the feature set with the highest mean dev CCC, and its test CCC "
              "(mean of valence and arousal, 95% bootstrap interval over test sessions and "
              "seeds): the feature set is chosen on dev; test CCC is reported, never used to "
              "choose.", "",
              _chosen(table, "feature set", str), "",
              "## Every feature set", "",
              *_every(study, table, figure, "feature set")]
    return "\n".join(lines)


def _delay_page(study: Study, table: pd.DataFrame, figure: str, stand_in: bool) -> str:
    files = ", ".join(f"[`{dataset}`]({dataset}.md)" for dataset in study.datasets.values())
    lines = [f"# Rating-delay study: {study.base}", ""]
    if stand_in:
        lines += [f"> **Stand-in data.** `{study.base}` is generated by emorec, not the licensed "
                  "real features.", ""]
    lines += [f"`{study.base}` extracted from recordings, its ratings aligned again d seconds "
              "later (the frame at t gets the rating made at t + d: raters lag the behaviour), "
              f"from the raw rating series the dataset keeps. Rows: every untuned row run on all "
              f"of {files}, {_seeds(table)}.",
              "",
              "## Delay chosen on dev", "",
              "For each row, the delay with the highest mean dev CCC, and its test CCC (mean of "
              "valence and arousal, 95% bootstrap interval over test sessions and seeds): the "
              "delay is a hyper-parameter chosen on dev, as AVEC 2018 chose it; test CCC is "
              "reported, never used to choose.", "",
              _chosen(table, "delay", lambda value: f"{value:g} s"), "",
              "## Every delay", "",
              *_every(study, table, figure, "rating delay")]
    return "\n".join(lines)


def _page(study: Study, table: pd.DataFrame, figure: str, stand_in: bool) -> str:
    header = _headers(study)
    own = next(value for value, dataset in study.datasets.items() if dataset == study.base)
    files = ", ".join(f"[`{dataset}`]({dataset}.md)" for dataset in study.datasets.values())
    lines = [f"# Factor study: {study.base}, {study.factor}", "",
             f"> **Stand-in data.** Every dataset here is generated by emorec (`emorec data "
             f"synth`); the study shows what the generator's `{study.factor}` decides, not a "
             "result on real features.", "",
             f"`{study.factor}`: {FACTORS[study.factor].meaning}. The stand-ins differ in "
             f"this factor only (the same latent emotion, faces and voices); `{study.base}` has "
             f"the default value {own:g}. Rows: every untuned row run on all of {files}, "
             f"{_seeds(table)}. Cells: pooled test CCC (mean of valence and "
             "arousal), mean over seeds, with the 95% bootstrap interval over test sessions "
             f"and seeds of each dataset's leaderboard{NO_INTERVAL}.", "",
             tabulate(_wide(study, table, _ccc), headers=["row", *header], tablefmt="github",
                      disable_numparse=True), "",
             "Test RMSE (mean of valence and arousal), mean over seeds:", "",
             tabulate(_wide(study, table, lambda point: format_number(point["rmse"])),
                      headers=["row", *header],
                      tablefmt="github", disable_numparse=True), "",
             f"![test CCC against {study.factor}]({figure})", ""]
    return "\n".join(lines)
