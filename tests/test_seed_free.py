"""Seed-free models (``@model(seeded=False)``): one cell per dataset and params whatever the
suite's seeds, its row's seed empty, shown as seed-free wherever a seed is shown, refitted by
verify, and superseding the per-seed rows of older results."""

import json

import mlflow
import pandas as pd
import pytest
from scenarios import SUITE, tamper_test_sums, trial_runs

from emorec.cells import SEED_FREE
from emorec.cli import main
from emorec.models import MODELS, Param, model
from emorec.models.zoo.classic import PerTarget
from emorec.store import result_rows, results, schema
from emorec.sweep.planning import plan, tuned_plan
from emorec.sweep.runner import run_suite
from emorec.sweep.suites import load_suite
from emorec.tuning.plan import StudyPlan
from emorec.tuning.study import run_study
from emorec.tuning.tuned import Tuned

SEED_FREE_MODELS = ("svr", "bayesian_ridge", "chance", "session_mean", "oracle")


def suite_file(folder, name="sf", seeds=(0, 1, 2), more=""):
    """The scenarios' suite (chance, bayesian_ridge, ffnn) with ``seeds``, and ``more``."""
    path = folder / f"{name}.toml"
    path.write_text(SUITE.format(name=name, epochs=2).replace("seeds = [0, 1]",
                                                             f"seeds = {list(seeds)}") + more)
    return path


def test_the_deterministic_models_are_declared_seed_free_and_the_others_seeded():
    assert {name for name in MODELS if not MODELS.get(name).seeded} == set(SEED_FREE_MODELS)


def test_a_seed_free_model_plans_one_cell_per_params_and_its_key_ignores_the_seeds(
        tmp_path, tiny_sewa):
    more = ('[[experiments]]\nmodel = "svr"\n[[experiments]]\nmodel = "oracle"\n'
            '[[experiments]]\nmodel = "decision_tree"\n')
    cells = plan(load_suite(suite_file(tmp_path, seeds=(0, 1, 2), more=more)), tiny_sewa)
    per_model = {name: [c.seed for c in cells if c.model == name] for name in
                 ("chance", "bayesian_ridge", "svr", "oracle", "ffnn", "decision_tree")}
    assert per_model == {"chance": [None], "bayesian_ridge": [None], "svr": [None],
                         "oracle": [None], "ffnn": [0, 1, 2], "decision_tree": [0, 1, 2] * 2}
    other = plan(load_suite(suite_file(tmp_path, name="other", seeds=(7,), more=more)),
                 tiny_sewa)
    keys = {c.model: c.key for c in cells if c.seed is None}
    assert keys == {c.model: c.key for c in other if c.seed is None}
    assert [c.seed for c in other if c.model == "ffnn"] == [7]
    # a study's best params for a seed-free model: one tuned cell, whatever the seeds
    split = tiny_sewa.split().hash
    tuned = Tuned(study="st", storage="s.journal", model="bayesian_ridge", params={}, trial=0,
                  dev_mean_ccc=0.1, finished=2, fingerprint=tiny_sewa.manifest.fingerprint,
                  split_hash=split)
    [cell] = tuned_plan(load_suite(suite_file(tmp_path)), tiny_sewa, tuned)
    assert cell.seed is None and cell.tuned_by == "st" and cell.key not in keys.values()


@pytest.fixture
def bench(tmp_path, places, capsys):
    """The suite run once with seeds 0, 1, 2 (chance and bayesian_ridge seed-free): its file,
    places, rows and what it printed."""
    path = suite_file(tmp_path)
    finished = run_suite(load_suite(path), **places)
    return path, places, finished, capsys.readouterr().out


def test_a_seed_free_row_is_one_row_with_an_empty_seed_everywhere_it_is_shown(bench, tmp_path):
    from emorec.report.pages import render_all

    _, places, finished, summary = bench
    assert sorted(finished["model"]) == ["bayesian_ridge", "chance", "ffnn", "ffnn", "ffnn"]
    file = results.results_path(places["results_dir"], "sewa-synth-tiny")
    raw = pd.read_csv(file, dtype=str, keep_default_na=False).set_index("model")
    assert raw.loc["chance", "seed"] == raw.loc["bayesian_ridge", "seed"] == ""
    assert list(raw.loc["ffnn", "seed"]) == ["0", "1", "2"]
    stored = results.load(file)
    assert str(stored["seed"].dtype) == "Int64"
    assert stored.loc[stored["model"] == "chance", "seed"].isna().all()
    # the sweep's summary (the board's headline) and MLflow say seed-free
    assert any(line.startswith("| bayesian_ridge ") and f"| {SEED_FREE} " in line
               for line in summary.splitlines()), summary
    mlflow.set_tracking_uri(places["tracking_uri"])
    runs = mlflow.search_runs(experiment_names=["emorec/sf"])
    runs = runs[runs["tags.cell_key"].notna()].set_index("tags.model")
    assert runs.loc["chance", "tags.mlflow.runName"] == "chance seed-free"
    assert runs.loc["chance", "params.seed"] == SEED_FREE
    # the leaderboard: the seeds column of every table that has one, and the legend
    text = render_all(places["results_dir"], tmp_path / "board")[0].read_text()
    tables = [table for table in text.split("## Reproduction")[0].split("\n\n")
              if table.startswith("| ") and "| seeds " in table.splitlines()[0]]
    assert len(tables) == 3                          # the headline's, every variant's, floors'
    table_lines = [line for table in tables for line in table.splitlines()]
    for name, seeds in (("bayesian_ridge", SEED_FREE), ("chance floor (training mean)",
                                                         SEED_FREE), ("ffnn", "3")):
        shown = [line for line in table_lines if f"| {name} " in line]
        assert shown and all(f"| {seeds} " in line for line in shown), name
    assert "- **seed-free** (seeds column)" in text


def test_rerunning_or_other_seeds_never_fit_a_seed_free_cell_again(bench, tmp_path, capsys):
    path, places, finished, _ = bench
    file = results.results_path(places["results_dir"], "sewa-synth-tiny")
    again = run_suite(load_suite(path), **places)
    assert len(again) == 5 and len(results.load(file)) == 5
    assert "5 of 5 cells were already in" in capsys.readouterr().out
    # a suite with other seeds shares the seed-free rows and fits only its seeded cells
    other = run_suite(load_suite(suite_file(tmp_path, name="sf", seeds=(7,))), **places)
    stored = results.load(file)
    assert len(stored) == 6 and stored["cell_key"].is_unique
    assert set(other["cell_key"]) - set(finished["cell_key"]) == set(
        stored.loc[stored["seed"] == 7, "cell_key"])


def test_verify_refits_a_seed_free_row_and_names_it_when_it_differs(bench, capsys):
    path, places, _, _ = bench
    args = ["-q", "verify", str(path), "--results-dir", str(places["results_dir"]),
            "--data-dir", str(places["data_dir"])]
    assert main(args) == 0   # the sample: chance, bayesian_ridge (seed-free), ffnn seed 0
    assert "0 stale rows, 0 missing cells, 3 cells rerun of which 0 differ" in \
        capsys.readouterr().out
    tamper_test_sums(results.results_path(places["results_dir"], "sewa-synth-tiny"),
                     "bayesian_ridge")
    assert main(args) == 1
    out = capsys.readouterr().out
    assert f"DIFFERS bayesian_ridge {SEED_FREE} (cell" in out and "metrics differ" in out, out


def test_per_seed_rows_of_an_older_schema_are_kept_and_a_seed_free_row_supersedes_them(
        bench, tmp_path):
    _, _, finished, _ = bench
    chance = finished[finished["model"] == "chance"]
    seeded = pd.concat([chance.assign(seed=seed, cell_key=f"old{seed}") for seed in (0, 1, 2)])
    seeded = seeded.drop(columns=["dev_session_stats", "recorded_metrics"])   # as v8 and older
    old = tmp_path / "v7.csv"
    seeded.assign(schema_version=7).astype({"seed": int}).to_csv(old, index=False)
    loaded = results.load(old)   # v7: every row had a seed; kept as they are
    assert (loaded["schema_version"] == schema.SCHEMA_VERSION).all()
    assert list(loaded["seed"]) == [0, 1, 2]
    assert list(result_rows.current(loaded)["cell_key"]) == ["old0", "old1", "old2"]
    results.append(old, chance.iloc[0].to_dict())   # the model, seed-free now, run again
    assert list(result_rows.current(results.load(old))["cell_key"]) == list(chance["cell_key"])
    # and back: per-seed rows written after a seed-free row supersede it
    results.append(old, chance.assign(seed=0, cell_key="old0").iloc[0].to_dict())
    shown = result_rows.current(results.load(old))
    assert shown["seed"].notna().all() and "old0" in set(shown["cell_key"])


def test_emorec_models_shows_which_models_are_seed_free(capsys):
    assert main(["-q", "models", "--json"]) == 0
    records = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert records["svr"]["seeded"] is False and records["decision_tree"]["seeded"] is True
    assert main(["-q", "models"]) == 0
    header = next(line for line in capsys.readouterr().out.splitlines()
                  if line.startswith("bayesian_ridge  ("))
    assert f"{SEED_FREE}: fitted once for all seeds" in header


@pytest.fixture
def ridge_free():
    """A tunable seed-free model, registered for one test."""
    from sklearn.linear_model import Ridge

    @model("ridge_free", family="classic", modality="video", view="frame", seeded=False,
           params={"alpha": Param("float", 1.0, above=0, tune=(0.1, 10.0), log=True)})
    def ridge_free(seed: int, alpha: float) -> PerTarget:
        """Ridge, seed-free."""
        return PerTarget(lambda: Ridge(alpha=alpha))

    yield "ridge_free"
    MODELS._items.pop("ridge_free")


def test_a_studys_trials_of_a_seed_free_model_say_so(ridge_free, tmp_path, tiny_sewa_dir,
                                                     places):
    study = StudyPlan(model=ridge_free, dataset=tiny_sewa_dir, fixed={}, trials=2, seed=3,
                      study="free", storage=str(tmp_path / "optuna.journal"))
    run_study(study, tracking_uri=places["tracking_uri"])
    runs, _ = trial_runs(places["tracking_uri"], "free", model=ridge_free)
    assert len(runs) == 2 and set(runs["params.seed"]) == {SEED_FREE}
