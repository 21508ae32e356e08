"""A suite that names several extractions of the same recordings (``real = [...]``) benches each
and gets a feature-set page with both sets side by side; mismatched folders are refused."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import numpy as np
import pytest

from emorec.cli import main
from emorec.data.dataset import Dataset
from emorec.report.factor_study import FEATURES, find_studies
from emorec.store.facts import dataset_facts
from emorec.store.results import load
from emorec.sweep.suites import load_suite

FACE = {"id": "google/vit-tiny", "dim": 8}
SPEECH = {"id": "facebook/wav2vec2-tiny", "layer": 2, "dim": 3}
EGEMAPS = {"id": "opensmile:eGeMAPSv02", "feature_set": "eGeMAPSv02", "level": "functionals"}


def extracted(stand_in: Dataset, folder, name: str, audio: dict, noise: float = 0.0,
              recordings: dict | None = None, **labels) -> Dataset:
    """``stand_in`` as if `emorec extract` had made it from recordings (the sessions, of the
    given contents) with the ``audio`` features; ``noise`` makes its features other ones."""
    sessions = sorted(stand_in.video["session"].unique())
    extraction = {"face": {"model": FACE}, "audio": {"model": audio},
                  "labels": {"delay_s": 0.0, "scale": 1.0, "sha256": "ratings1", **labels},
                  "recordings": recordings or {s: {"sha256": f"media-{s}"} for s in sessions}}
    video, tables = stand_in.video.copy(), {w: t.copy() for w, t in stand_in.audio.items()}
    rng = np.random.default_rng(7)
    columns = stand_in.embedding_columns()
    video[columns] += noise * rng.standard_normal((len(video), len(columns)))
    for table in tables.values():
        features = [c for c in table.columns if c.startswith("x_")]
        table[features] += noise * rng.standard_normal((len(table), len(features)))
    manifest = replace(stand_in.manifest, name=name, fingerprint="",
                       source={"extraction": extraction})
    dataset = Dataset.create(manifest, video, tables, stand_in.split_table, source=name)
    dataset.save(folder)
    return dataset


@pytest.fixture
def two_sets(tmp_path, tiny_sewa):
    extracted(tiny_sewa, tmp_path / "mine", "mine", SPEECH)
    extracted(tiny_sewa, tmp_path / "mine-egemaps", "mine-egemaps", EGEMAPS, noise=0.5)
    return tmp_path / "mine", tmp_path / "mine-egemaps"


def suite(tmp_path, dataset: str) -> str:
    path = tmp_path / "sets.toml"
    path.write_text(f'name = "sets"\nseeds = [0]\n[dataset]\n{dataset}\n\n'
                    '[[experiments]]\nmodel = "bayesian_ridge"\n\n'
                    '[[experiments]]\nmodel = "chance"\n')
    return str(path)


@pytest.mark.slow
def test_each_feature_set_is_benched_and_the_page_shows_them_side_by_side(two_sets, tmp_path):
    mine, egemaps = two_sets
    path = suite(tmp_path, f'real = ["{mine}", "{egemaps}"]')
    assert [one.real_dataset for one in load_suite(path).each_dataset()] == [mine, egemaps]
    results, board = tmp_path / "results", tmp_path / "board"
    assert main(["-q", "bench", path, "--jobs", "1", "--results-dir", str(results),
                 "--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"]) == 0
    known = json.loads((results / "datasets.json").read_text())
    assert {name: facts["audio_features"] for name, facts in known.items()} == {
        "mine": "facebook/wav2vec2-tiny layer 2",
        "mine-egemaps": "egemaps (eGeMAPSv02 functionals)"}
    assert known["mine"]["recordings"] == known["mine-egemaps"]["recordings"]
    assert main(["-q", "leaderboard", "--results-dir", str(results), "--out", str(board)]) == 0
    page = (board / "mine-features.md").read_text()
    assert page.startswith("# Feature-set study: mine\n") and "Stand-in data" in page
    assert "| egemaps (eGeMAPSv02 functionals) | [`mine-egemaps`](mine-egemaps.md) |" in page
    rows = {name: load(results / f"{name}.csv") for name in ("mine", "mine-egemaps")}
    ridge = {name: table[table["model"] == "bayesian_ridge"].iloc[0]
             for name, table in rows.items()}
    assert ridge["mine"]["test_mean_ccc"] != ridge["mine-egemaps"]["test_mean_ccc"]
    chosen, every, _rmse = (line for line in page.splitlines()
                            if line.startswith("| bayesian_ridge"))
    best = max(ridge, key=lambda name: ridge[name]["dev_mean_ccc"])
    names = {"mine": "facebook/wav2vec2-tiny layer 2",
             "mine-egemaps": "egemaps (eGeMAPSv02 functionals)"}
    assert chosen.split("|")[2].strip() == names[best]
    assert chosen.split("|")[4].strip() == f"{ridge[best]['test_mean_ccc']:.3f}"
    cells = [cell.strip() for cell in every.split("|")[2:4]]   # one test session: no interval
    assert cells == [f"{ridge[name]['test_mean_ccc']:.3f}" for name in ("mine", "mine-egemaps")]
    for name in ("mine", "mine-egemaps"):   # the numbers of each dataset's own board
        assert f"| {ridge[name]['test_mean_ccc']:.3f} " in (board / f"{name}.md").read_text()
    assert (board / "figures" / "mine-features.png").stat().st_size > 1000
    # the chance floor scores the same on both sets: dev chooses neither
    floor = next(line for line in page.splitlines() if line.startswith("| chance"))
    assert floor.split("|")[2].strip() == "none: the same on every one"


def test_feature_sets_at_each_delay_are_studies_of_their_own(tiny_sewa):
    manifest = replace(tiny_sewa.manifest, source={"extraction": {
        "face": {"model": FACE}, "audio": {"model": SPEECH},
        "labels": {"delay_s": 0.0, "sha256": "r"}, "recordings": {"a": {"sha256": "1"}}}})
    facts = {"mine": dataset_facts(manifest)}
    facts["mine-delay1"] = {**facts["mine"], "label_delay_s": 1.0}
    facts["mine-egemaps"] = {**facts["mine"], "audio_features": "egemaps (eGeMAPSv02 ...)"}
    facts["mine-egemaps-delay1"] = {**facts["mine-egemaps"], "label_delay_s": 1.0}
    facts["mine-1fps"] = {**facts["mine"], "fps": 1.0}
    facts["other"] = {**facts["mine"], "recordings": "0123456789abcdef"}
    studies = {(s.base, s.factor): s.datasets for s in find_studies(sorted(facts), facts)}
    assert studies == {
        ("mine", "delay"): {0.0: "mine", 1.0: "mine-delay1"},
        ("mine-egemaps", "delay"): {0.0: "mine-egemaps", 1.0: "mine-egemaps-delay1"},
        ("mine", FEATURES): {"facebook/wav2vec2-tiny layer 2": "mine",
                             "egemaps (eGeMAPSv02 ...)": "mine-egemaps"},
        ("mine-delay1", FEATURES): {"facebook/wav2vec2-tiny layer 2": "mine-delay1",
                                    "egemaps (eGeMAPSv02 ...)": "mine-egemaps-delay1"}}


def test_a_list_with_delay_runs_every_feature_set_at_every_delay(two_sets, tmp_path):
    mine, egemaps = two_sets
    for folder in two_sets:   # ratings kept raw, as an extraction keeps them
        dataset = Dataset.load(folder)
        raw = dataset.video[["session", "timestamp", "valence", "arousal"]].rename(
            columns={"timestamp": "time"})
        replace(dataset, labels_raw=raw).save(folder)
    suites = load_suite(suite(tmp_path, f'real = ["{mine}", "{egemaps}"]\ndelay = [0, 0.4]'))
    assert [one.real_dataset.name for one in suites.each_dataset()] == [
        "mine", "mine-delay0.4", "mine-egemaps", "mine-egemaps-delay0.4"]


def test_the_datasets_of_a_stand_in_or_an_import_have_no_feature_facts(tiny_sewa):
    assert dataset_facts(tiny_sewa.manifest) == {"origin": "stand-in",
                                                 "made_by": "emorec data synth"}


@pytest.mark.parametrize("second, extra, message", [
    ({"name": "mine"}, "",
     r"both hold a dataset named 'mine'; expected one name per feature set \(extract with "
     r"--name\)$"),
    ({"recordings": {"S001": {"sha256": "other"}}}, "",
     r"differ in their recordings \(only in the first: .*; other content: S001\); expected "
     r"extractions of the same recordings$"),
    ({"sha256": "ratings2"}, "", r"differ in their ratings \(ratings1 and ratings2\)"),
    ({"delay_s": 1.0}, "",
     r"differ in their rating delays \(0 s and 1 s\); expected the same, or delay = "),
    ({}, 'stand_in = { kind = "sewa", size = "tiny" }',
     r"dataset\.stand_in: a suite with a list of real folders runs on them only"),
])
def test_mismatched_feature_sets_are_refused_in_one_line(tmp_path, tiny_sewa, capsys, second,
                                                         extra, message):
    extracted(tiny_sewa, tmp_path / "mine", "mine", SPEECH)
    extracted(tiny_sewa, tmp_path / "b", second.pop("name", "mine-egemaps"), EGEMAPS,
              recordings=second.pop("recordings", None), **second)
    path = suite(tmp_path, f'real = ["{tmp_path / "mine"}", "{tmp_path / "b"}"]\n{extra}')
    assert main(["-q", "bench", path, "--results-dir", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith(f"emorec: error: {path}: dataset.")
    assert re.search(message, err.strip()), err


@pytest.mark.parametrize("real, message", [
    ('["data/a"]', "expected a folder path, or a list of two or more distinct folders"),
    ('["data/a", "data/a"]', "expected a folder path, or a list of two or more distinct"),
    ('["data/a", 3]', "expected a folder path, or a list of two or more distinct"),
])
def test_a_list_of_fewer_than_two_distinct_folders_is_refused(tmp_path, capsys, real, message):
    assert main(["-q", "bench", suite(tmp_path, f"real = {real}")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"dataset.real: {message}" in err


def test_a_folder_not_made_by_extract_is_refused(two_sets, tmp_path, tiny_sewa_dir, capsys):
    path = suite(tmp_path, f'real = ["{two_sets[0]}", "{tiny_sewa_dir}"]')
    assert main(["-q", "bench", path, "--results-dir", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{tiny_sewa_dir} was not made by `emorec extract`" in err


def test_tuning_on_a_list_of_feature_sets_is_refused(two_sets, tmp_path, capsys):
    path = suite(tmp_path, f'real = ["{two_sets[0]}", "{two_sets[1]}"]')
    assert main(["-q", "tune", "ffnn", "--dataset", path, "--trials", "1",
                 "--study", "s"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "dataset.real lists 2 feature sets" in err
