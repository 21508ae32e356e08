"""Numbers that cannot go stale silently, and their uncertainty: code fingerprints in cell keys,
emorec verify, per-session statistics and the session bootstrap."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scenarios import SUITE, tamper_test_sums

from emorec import uncertainty
from emorec.code_fingerprint import _digest
from emorec.metrics import regression_metrics
from emorec.store import result_rows, results, session_sums
from emorec.sweep.runner import run_suite
from emorec.sweep.suites import load_suite

PACKAGE = Path(__file__).parent.parent / "emorec"



def emorec_from(package_parent: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run the CLI of the emorec package found under ``package_parent``."""
    return subprocess.run([sys.executable, "-m", "emorec.cli", "-q", *args], cwd=cwd,
                          capture_output=True, text=True,
                          env={"PYTHONPATH": str(package_parent), "PATH": "/usr/bin:/bin"})


@pytest.fixture
def committed(tmp_path, places):
    """A tiny suite run with today's code into a results folder, as if committed."""
    suite = tmp_path / "trust.toml"
    suite.write_text(SUITE.format(name="trust", epochs=2))
    run_suite(load_suite(suite), jobs=1, **places)
    return suite, places


@pytest.mark.slow
def test_editing_a_model_default_in_a_scratch_copy_makes_verify_fail_naming_the_cell(
        tmp_path, committed):
    suite, places = committed
    copy = tmp_path / "copy"
    shutil.copytree(PACKAGE, copy / "emorec", ignore=shutil.ignore_patterns("__pycache__"))
    args = ("verify", str(suite), "--results-dir", str(places["results_dir"]), "--data-dir",
            str(places["data_dir"]), "--per-family", "0")
    clean = emorec_from(copy, *args, cwd=tmp_path)
    assert clean.returncode == 0, clean.stdout + clean.stderr

    ffnn = copy / "emorec" / "models" / "zoo" / "ffnn.py"
    source = ffnn.read_text()
    assert source.count("hidden_param(128)") >= 1
    ffnn.write_text(source.replace("hidden_param(128)", "hidden_param(64)", 1))
    changed = emorec_from(copy, *args, cwd=tmp_path)
    assert changed.returncode == 1
    stale = [line for line in changed.stdout.splitlines() if line.startswith("STALE")]
    assert stale and all("ffnn" in line for line in stale), changed.stdout
    assert any("seed 0" in line and "made by other code" in line for line in stale)
    assert "bayesian_ridge" not in "\n".join(stale)   # its code did not change
    assert "MISSING ffnn epochs=2, patience=2 seed 0" in changed.stdout


def test_comments_and_docstrings_do_not_change_the_fingerprint_code_does(tmp_path, monkeypatch):
    module = tmp_path / "scratch_model.py"
    monkeypatch.syspath_prepend(str(tmp_path))
    texts = ['"""Doc."""\ndef f(x):\n    """Doc."""\n    return x + 1\n',
             '"""Other doc."""\n\n# a comment\ndef f(x):\n    return x + 1   # same code\n',
             '"""Doc."""\ndef f(x):\n    return x + 2\n']
    prints = []
    for text in texts:
        module.write_text(text)
        _digest.cache_clear()
        prints.append(_digest("scratch_model", None))
    assert prints[0] == prints[1] != prints[2]


def test_verify_reruns_a_sample_bit_for_bit_and_names_a_tampered_metric(tmp_path, committed,
                                                                        capsys):
    from emorec.cli import main

    suite, places = committed
    args = ["-q", "verify", str(suite), "--results-dir", str(places["results_dir"]),
            "--data-dir", str(places["data_dir"])]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "0 stale rows, 0 missing cells, 3 cells rerun of which 0 differ" in out

    tamper_test_sums(results.results_path(places["results_dir"], "sewa-synth-tiny"), "ffnn")
    assert main(args) == 1
    out = capsys.readouterr().out
    assert "DIFFERS ffnn epochs=2, patience=2 seed 0 (cell" in out and "metrics differ" in out


def test_session_statistics_give_back_the_pooled_metrics_and_a_reproducible_bootstrap():
    rng = np.random.default_rng(1)
    sessions = np.repeat(["a", "b", "c", "d"], [50, 80, 30, 60])
    y = rng.uniform(-0.5, 0.5, (len(sessions), 2))
    p = 0.6 * y + rng.normal(0, 0.1, y.shape)
    stats = session_sums.parse_session_stats(session_sums.session_stats(y, p, sessions))
    names = sorted(stats)
    array = np.stack([np.stack([stats[s] for s in names])])   # one seed
    everything = np.ones((1, len(names)))
    once = uncertainty.draws(array, everything, "row")
    expected = regression_metrics(y, p, sessions)
    assert once["ccc"][0] == pytest.approx(expected["mean_ccc"], abs=1e-12)
    assert once["rmse"][0] == pytest.approx(expected["mean_rmse"], abs=1e-12)

    weights = uncertainty.session_weights(names)
    first, again = (uncertainty.draws(array, weights, "row") for _ in range(2))
    assert np.array_equal(first["ccc"], again["ccc"])
    low, high = uncertainty.interval(first["ccc"])
    assert low < expected["mean_ccc"] < high
    assert uncertainty.paired_p_value(first["ccc"], again["ccc"]) == 1.0


def test_a_clearly_better_row_is_not_tied_and_a_noisy_copy_is():
    rng = np.random.default_rng(2)
    sessions = np.repeat([f"s{i}" for i in range(12)], 100)
    y = rng.uniform(-0.5, 0.5, (len(sessions), 2))

    def stats_of(noise, seed):
        noisy = 0.8 * y + np.random.default_rng(seed).normal(0, noise, y.shape)
        parsed = session_sums.parse_session_stats(session_sums.session_stats(y, noisy, sessions))
        return np.stack([parsed[s] for s in sorted(parsed)])

    good = np.stack([stats_of(0.05, seed) for seed in range(3)])
    bad = np.stack([stats_of(0.5, seed) for seed in range(3, 6)])
    close = np.stack([stats_of(0.05, seed) for seed in range(6, 9)])
    weights = uncertainty.session_weights(sorted(set(sessions)))
    good_draws, bad_draws, close_draws = (uncertainty.draws(a, weights, name) for a, name in
                                          ((good, "good"), (bad, "bad"), (close, "close")))
    assert uncertainty.paired_p_value(bad_draws["ccc"], good_draws["ccc"]) < 0.01
    assert uncertainty.paired_p_value(close_draws["ccc"], good_draws["ccc"]) > 0.05
    # ranks over the same resamples: the bad row last in every one, the two others share first
    ranks = uncertainty.rank_draws(np.stack([good_draws["ccc"], close_draws["ccc"],
                                             bad_draws["ccc"]]))
    assert uncertainty.rank_interval(ranks[2]) == (3, 3)
    assert uncertainty.rank_interval(ranks[0]) == uncertainty.rank_interval(ranks[1]) == (1, 2)
    assert uncertainty.p_best(ranks[0]) + uncertainty.p_best(ranks[1]) == pytest.approx(1.0)
    assert uncertainty.not_separable(good_draws["ccc"], {"close": close_draws["ccc"],
                                                         "bad": bad_draws["ccc"]}) == {"close"}


def test_a_rerun_after_a_code_change_supersedes_the_older_row_on_the_leaderboard():
    base = {"fingerprint": "f", "split_hash": "s", "model": "ffnn", "variant": "{}",
            "tuned_by": "", "seed": 0}
    rows = pd.DataFrame([{**base, "cell_key": "old", "test_mean_ccc": 0.1},
                         {**base, "cell_key": "other", "seed": 1, "test_mean_ccc": 0.3},
                         {**base, "cell_key": "new", "test_mean_ccc": 0.2}])
    assert list(result_rows.current(rows)["cell_key"]) == ["other", "new"]


def test_a_model_fingerprint_covers_the_code_that_decides_its_numbers():
    from emorec.code_fingerprint import EVALUATION_MODULE, _closure

    covered = _closure("emorec.models.zoo.gru", "gru") | _closure(EVALUATION_MODULE, None)
    assert covered == {"emorec.data.views", "emorec.evaluation", "emorec.models.base",
                       "emorec.models.zoo.gru", "emorec.models.gru", "emorec.models.inputs",
                       "emorec.models.losses", "emorec.models.net_params", "emorec.models.nets",
                       "emorec.models.params", "emorec.models.training", "emorec.vocabulary"}


FINGERPRINTS = ("import json, emorec.models as m; "
                "print(json.dumps({n: m.MODELS.get(n).code_fingerprint for n in m.MODELS}))")


def fingerprints_of(package_parent: Path) -> dict[str, str]:
    """Every registered model's code fingerprint, computed by the emorec under
    ``package_parent``."""
    done = subprocess.run([sys.executable, "-c", FINGERPRINTS], capture_output=True, text=True,
                          env={"PYTHONPATH": str(package_parent), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.slow
def test_moving_a_module_or_declaring_a_neighbour_model_changes_no_key(tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(PACKAGE, copy / "emorec", ignore=shutil.ignore_patterns("__pycache__"))
    models = copy / "emorec" / "models"
    before = fingerprints_of(copy)
    # the losses move into a module of another name, every import of them following
    (models / "losses.py").rename(models / "objectives.py")
    training = models / "training.py"
    training.write_text(training.read_text().replace("emorec.models.losses",
                                                     "emorec.models.objectives"))
    # a new model declared in classic.py beside four others, with an import and a constant of
    # its own at the top, and a neighbour's description rewritten
    classic = models / "zoo" / "classic.py"
    source = classic.read_text().replace(
        '"""Bayesian Ridge regression (scikit-learn defaults), one per target.',
        '"""Bayesian ridge, one per target, as scikit-learn sets it up.')
    source = source.replace("from sklearn.linear_model import BayesianRidge",
                            "from sklearn.linear_model import BayesianRidge, Ridge")
    source = source.replace("SVR_GRID = ", "RIDGE_ALPHA = 2.0\nSVR_GRID = ")
    classic.write_text(source + (
        '\n\n@model("ridge_scratch", family="classic", modality="video", view="frame",\n'
        '       seeded=False, thesis_names=("ridge",))\n'
        'def ridge_scratch(seed: int) -> PerTarget:\n'
        '    """Ridge regression."""\n'
        '    return PerTarget(lambda: Ridge(alpha=RIDGE_ALPHA))\n'))
    after = fingerprints_of(copy)
    assert after.pop("ridge_scratch") not in before.values()
    assert after == before

    # what decides a number does re-key, and only the models it decides
    (models / "zoo" / "ffnn.py").write_text((models / "zoo" / "ffnn.py").read_text().replace(
        "hidden_param(128)", "hidden_param(96)"))
    edited = fingerprints_of(copy)
    changed = {name for name in before if edited[name] != before[name]}
    assert changed == {"ffnn", "audio_ffnn"}
