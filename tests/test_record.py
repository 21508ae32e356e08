"""What is kept decides what can change cheaply: metrics derived from kept sums (a new metric
needs no refit), cell keys that ignore help texts and tuning ranges, late fusion of kept
predictions, scoring external predictions, and ranks that mean what they say."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scenarios import SUITE

from emorec import uncertainty
from emorec.cli import main
from emorec.late_fusion import combine
from emorec.store import predictions, result_rows, results
from emorec.sweep.runner import run_suite
from emorec.sweep.suites import load_suite

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = ROOT / "leaderboard" / "results"


def scratch_copy(tmp_path: Path) -> Path:
    """A copy of the emorec package to edit, under ``tmp_path/src``."""
    target = tmp_path / "src" / "emorec"
    shutil.copytree(ROOT / "emorec", target, ignore=shutil.ignore_patterns("__pycache__"))
    return target.parent


def run_python(source_root: Path, code: str, cwd: Path) -> str:
    done = subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True,
                          text=True, env={"PYTHONPATH": str(source_root),
                                          "PATH": "/usr/bin:/bin", "MPLBACKEND": "Agg"})
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_a_new_metric_is_one_entry_and_renders_for_every_committed_row_without_a_refit(
        tmp_path):
    source = scratch_copy(tmp_path)
    metrics_file = source / "emorec" / "metrics.py"
    text = metrics_file.read_text()
    entry = '    Metric("mae", mae, higher_is_better=False, label="MAE"),\n'
    assert entry in text
    metrics_file.write_text(text.replace(entry, entry + (
        '    Metric("bias", lambda s: (s[..., SP] - s[..., SY]) / s[..., N], '
        'higher_is_better=False, label="Bias"),\n')))
    kept = tmp_path / "results"
    shutil.copytree(COMMITTED, kept)
    before = {p.name: p.read_bytes() for p in kept.glob("*.csv")}
    out = run_python(source, (
        "import sys, json\n"
        "from emorec.store import results\n"
        "from emorec.report.pages import render_all\n"
        f"table = results.load_all({str(kept)!r})\n"
        "render_all(" + repr(str(kept)) + ", " + repr(str(tmp_path / "board")) + ")\n"
        "print(json.dumps({'rows': len(table), 'finite': int(table['test_mean_bias']"
        ".notna().sum()), 'torch': 'torch' in sys.modules}))\n"), cwd=tmp_path)
    found = json.loads(out)
    assert found["rows"] > 300 and found["finite"] == found["rows"]   # every committed row
    assert not found["torch"]                                         # no model was fitted
    assert {p.name: p.read_bytes() for p in kept.glob("*.csv")} == before
    boards = [path for path in sorted((tmp_path / "board").glob("*.md"))
              if "## Every variant" in path.read_text()]   # not the factor-study pages
    assert len(boards) == len(list(kept.glob("*.csv")))
    for board in boards:
        variants = board.read_text().split("## Every variant")[1].split("## Reference")[0]
        table = next(table for table in variants.split("\n\n") if "| Bias V " in table)
        header, _, *rows = table.splitlines()
        position = [cell.strip() for cell in header.split("|")].index("Bias V")
        cells = [[cell.strip() for cell in line.split("|")][position] for line in rows]
        assert rows and all(cell.split(" ")[0].strip("*").replace("-", "").replace(
            ".", "").isdigit() for cell in cells), board.name


def cell_keys(source_root: Path, cwd: Path) -> dict:
    return json.loads(run_python(source_root, (
        "import json\n"
        "from emorec.cells import cell_key\n"
        "from emorec.models import MODELS\n"
        "keys = {}\n"
        "for name in MODELS:\n"
        "    spec = MODELS.get(name)\n"
        "    keys[name] = cell_key('f', 's', name, spec.params({}), 0 if spec.seeded "
        "else None, spec.code_fingerprint)\n"
        "print(json.dumps(keys))\n"), cwd=cwd))


@pytest.mark.slow
def test_a_changed_help_text_or_tuning_range_changes_no_cell_key_and_code_does(tmp_path):
    source = scratch_copy(tmp_path)
    nets = source / "emorec" / "models" / "net_params.py"
    original = nets.read_text()
    before = cell_keys(source, tmp_path)
    described = original.replace('help="most passes over the training data"',
                                 'help="the most passes over all training windows"')
    described = described.replace("tune=(1e-4, 1e-2), log=True", "tune=(1e-5, 1e-1), log=False")
    assert described != original
    nets.write_text(described)
    assert cell_keys(source, tmp_path) == before
    nets.write_text(original.replace('Param("int", 50, low=1,', 'Param("int", 51, low=1,'))
    changed = cell_keys(source, tmp_path)
    assert changed["gru"] != before["gru"] and changed["chance"] == before["chance"]


@pytest.fixture(scope="module")
def benched(tmp_path_factory):
    """The scenarios' suite (chance, bayesian_ridge, ffnn, 2 seeds) on the tiny stand-in, with
    kept predictions."""
    folder = tmp_path_factory.mktemp("record")
    suite = folder / "rec.toml"
    suite.write_text(SUITE.format(name="rec", epochs=2))
    places = {"results_dir": folder / "results", "data_dir": folder / "data",
              "tracking_uri": f"sqlite:///{folder / 'mlflow.db'}"}
    finished = run_suite(load_suite(suite), **places)
    return suite, places, finished


def test_every_cell_keeps_its_dev_and_test_predictions_and_its_sums_match_them(benched):
    _, places, finished = benched
    for _, row in finished.iterrows():
        kept = predictions.load(places["results_dir"], "sewa-synth-tiny", row["cell_key"])
        assert set(kept["partition"]) == {"dev", "test"}
        scores = result_rows.scores({p: kept[kept["partition"] == p] for p in ("dev", "test")})
        for column in ("dev_mean_ccc", "test_mean_rmse", "test_valence_mae"):
            assert scores[column] == pytest.approx(row[column], abs=2e-3)   # 1e-3 steps


def test_late_fusion_rows_are_recorded_once_and_a_blend_is_not_scored_on_its_own_fit(
        benched, capsys):
    _, places, finished = benched
    args = ["-q", "fuse", "sewa-synth-tiny", "--of", "bayesian_ridge", "--of",
            'ffnn:{"epochs": 2, "patience": 2}', "--results-dir", str(places["results_dir"]),
            "--tracking-uri", places["tracking_uri"]]
    assert main(args) == 0
    path = results.results_path(places["results_dir"], "sewa-synth-tiny")
    fused = results.load(path)
    fused = fused[fused["model"] == "late_fusion"]
    assert sorted(json.loads(p)["method"] for p in fused["params"]) == [
        "blend", "blend", "mean", "mean"]                                  # 2 seeds x 2 methods
    assert set(fused["seed"]) == {0, 1}
    assert main(args) == 0                                                  # nothing twice
    assert len(results.load(path)) == len(finished) + 4
    # the mean row is the mean of the kept predictions
    ridge, ffnn = (finished[(finished["model"] == m) & finished["seed"].isin([0]) | (
        finished["model"] == m) & finished["seed"].isna()]["cell_key"].iloc[0]
        for m in ("bayesian_ridge", "ffnn"))
    parts = [predictions.load(places["results_dir"], "sewa-synth-tiny", k) for k in (ridge, ffnn)]
    mean = fused[(fused["seed"] == 0) & fused["params"].str.contains('"mean"')].iloc[0]
    kept = predictions.load(places["results_dir"], "sewa-synth-tiny", mean["cell_key"])
    expected = (parts[0]["valence_pred"] + parts[1]["valence_pred"]) / 2
    assert np.allclose(kept["valence_pred"], expected, atol=predictions.STEP)


def test_a_blend_predicts_each_dev_session_with_weights_fitted_on_the_others():
    rng = np.random.default_rng(0)
    sessions = np.repeat(["d1", "d2", "d3", "t1"], 50)
    partition = np.where(sessions == "t1", "test", "dev")
    labels = rng.normal(0, 0.2, (200, 2))
    one, two = labels + rng.normal(0, 0.1, labels.shape), rng.normal(0, 0.2, labels.shape)
    parts = [pd.DataFrame({"partition": partition, "session": sessions,
                           "timestamp": np.tile(np.arange(50) * 0.2, 4), "valence": labels[:, 0],
                           "arousal": labels[:, 1], "valence_pred": p[:, 0],
                           "arousal_pred": p[:, 1]}) for p in (one, two)]
    fused = combine("blend", parts)
    held_out = fused["dev"]["valence_pred"].to_numpy()[:50]
    # refit by hand on sessions d2 and d3 only, applied to d1
    rows = slice(50, 150)
    design = np.column_stack([one[rows, 0], two[rows, 0], np.ones(100)])
    weights = np.linalg.lstsq(design, labels[rows, 0], rcond=None)[0]
    assert np.allclose(held_out, np.column_stack([one[:50, 0], two[:50, 0], np.ones(50)])
                       @ weights)
    assert np.allclose(combine("mean", parts)["test"]["arousal_pred"],
                       (one[150:, 1] + two[150:, 1]) / 2)


def external_file(folder: Path, frames: pd.DataFrame, noise: float = 0.1) -> Path:
    rng = np.random.default_rng(5)
    test = frames[frames["partition"] == "test"]
    path = folder / "mine.csv"
    pd.DataFrame({"session": test["session"], "timestamp": test["timestamp"],
                  "valence": test["valence"] + rng.normal(0, noise, len(test)),
                  "arousal": test["arousal"] + rng.normal(0, noise, len(test))}
                 ).to_csv(path, index=False)
    return path


def test_external_predictions_get_a_row_marked_external_and_bad_files_one_line(
        benched, tmp_path, capsys):
    _, places, finished = benched
    last = finished.iloc[-1]
    frames = predictions.load_frames(places["results_dir"], "sewa-synth-tiny",
                                     last["fingerprint"], last["split_hash"])
    path = external_file(tmp_path, frames)
    args = ["-q", "score", str(path), "--dataset", "sewa-synth-tiny", "--name", "mine",
            "--results-dir", str(places["results_dir"]), "--tracking-uri",
            places["tracking_uri"]]
    assert main(args) == 0
    assert "mine (online, external): test CCC mean" in capsys.readouterr().out
    rows = results.load(results.results_path(places["results_dir"], "sewa-synth-tiny"))
    mine = rows[rows["model"] == "mine"]
    assert len(mine) == 1 and mine["model_source"].iloc[0].startswith("external: mine.csv")
    assert np.isnan(mine["dev_mean_ccc"].iloc[0]) and mine["test_mean_ccc"].iloc[0] > 0.3
    from emorec.report.pages import render_all

    board = render_all(places["results_dir"], tmp_path / "board")[0].read_text()
    assert "| mine (external) " in board
    # bad files: one line, exit 2, naming file, row and column
    table = pd.read_csv(path)
    for change, message in (
            (lambda t: t.drop(index=3), "1 test frame has no prediction"),
            (lambda t: pd.concat([t, t.iloc[[0]]]), "predicted twice"),
            (lambda t: t.assign(valence=t["valence"].astype(object).where(
                t.index != 2, "x")), "row 4, column 'valence': bad prediction"),
            (lambda t: t.drop(columns="arousal"), "column 'arousal'")):
        bad = tmp_path / "bad.csv"
        change(table).to_csv(bad, index=False)
        assert main([*args[:1], "score", str(bad), *args[3:]]) == 2
        assert message in capsys.readouterr().err
    assert main([*args[:6], "gru", *args[7:]]) == 2
    assert "not one of emorec's models" in capsys.readouterr().err


def test_rank_intervals_and_p_best_do_not_depend_on_row_order():
    rng = np.random.default_rng(4)
    sessions = [f"s{i}" for i in range(8)]
    weights = uncertainty.session_weights(sessions)
    stats = {name: rng.uniform(0.5, 1.5, (2, 8, 2, 7)) for name in ("a", "b", "c")}
    for array in stats.values():   # valid sums: n, Σy, Σp, Σy², Σp², Σyp, Σ|y-p|
        array[..., 0] = 50
        array[..., 3] = array[..., 1] ** 2 / 50 + 1
        array[..., 4] = array[..., 2] ** 2 / 50 + 1
        array[..., 5] = array[..., 1] * array[..., 2] / 50 + 0.5
    draws = {name: uncertainty.draws(array, weights, name)["ccc"] for name, array in
             stats.items()}
    forward = uncertainty.rank_draws(np.stack([draws[n] for n in "abc"]))
    backward = uncertainty.rank_draws(np.stack([draws[n] for n in "cba"]))
    assert np.array_equal(forward, backward[::-1])


def test_holm_rejects_step_down():
    assert uncertainty.holm({"a": 0.001, "b": 0.02, "c": 0.06}) == {"a", "b"}
    assert uncertainty.holm({"a": 0.001, "b": 0.03, "c": 0.04}) == {"a"}
    assert uncertainty.holm({"a": 0.2}) == set()


def test_a_board_does_not_depend_on_the_order_of_rows_in_the_results_file(benched, tmp_path):
    from emorec.report.pages import render_all

    _, places, _ = benched
    shuffled = tmp_path / "shuffled"
    shutil.copytree(places["results_dir"], shuffled)
    path = results.results_path(shuffled, "sewa-synth-tiny")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table.sample(frac=1, random_state=3).to_csv(path, index=False)
    assert not pd.read_csv(path, dtype=str)["cell_key"].equals(table["cell_key"])
    first = render_all(places["results_dir"], tmp_path / "a")[0].read_text()
    again = render_all(shuffled, tmp_path / "b")[0].read_text()
    assert first == again
