"""Models from outside emorec: docs/own-model.md's example, suites naming plugins, entry points.

Each scenario runs the `emorec` command in a subprocess, so plugin models never enter this test
process's registry. They are the slow tier (subprocesses, a whole suite); the check that the
docs page shows the example as it is is fast.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from emorec.store.results import load

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "plugin"


def emorec(*args: str, cwd: Path = ROOT, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "emorec.cli", *args], cwd=cwd, text=True,
                          capture_output=True, env={**os.environ, **(env or {})}, timeout=600)


def test_the_docs_example_is_the_tested_one():
    page = (ROOT / "docs" / "own-model.md").read_text()
    for name in ("my_model.py", "frame_ridge.py", "suite.toml", "test_my_model.py"):
        assert (EXAMPLE / name).read_text().strip() in page, \
            f"docs/own-model.md shows {name} as it is"


@pytest.mark.slow
def test_a_plugin_model_runs_through_a_suite_onto_the_leaderboard(tmp_path, places):
    results, board = places["results_dir"], tmp_path / "board"
    run = emorec("bench", str(EXAMPLE / "suite.toml"), "--results-dir", str(results),
                 "--tracking-uri", places["tracking_uri"],
                 "--data-dir", str(places["data_dir"]), "--jobs", "2")
    assert run.returncode == 0, run.stderr
    rows = load(results / "sewa-synth-tiny.csv")
    plugged = rows[rows["model"] == "face_voice_ffnn"]
    assert len(plugged) == 2 and plugged["test_mean_ccc"].notna().all()
    assert plugged["model_source"].str.match(r"file my_model\.py sha256:[0-9a-f]{12}$").all()
    ridge = rows[rows["model"] == "frame_ridge"]
    assert len(ridge) == 2 and ridge["model_source"].str.startswith("file frame_ridge.py").all()
    assert ridge["seed"].isna().all()   # seed-free: one row per alpha, not one per seed
    assert set(rows.loc[~rows["model"].isin(["face_voice_ffnn", "frame_ridge"]),
                        "model_source"]) == {"emorec"}
    assert emorec("leaderboard", "--results-dir", str(results), "--out", str(board)
                  ).returncode == 0
    text = (board / "sewa-synth-tiny.md").read_text()
    table = [line for line in text.splitlines() if line.startswith("| ")]
    for name in ("face_voice_ffnn", "frame_ridge"):
        assert any(f"| {name} (plugin) " in line for line in table), name
    assert "`face_voice_ffnn` from file my_model.py sha256:" in text
    # the same suite again: every cell is found done, nothing runs twice
    again = emorec("bench", str(EXAMPLE / "suite.toml"), "--results-dir", str(results),
                   "--tracking-uri", places["tracking_uri"],
                   "--data-dir", str(places["data_dir"]))
    assert again.returncode == 0 and "7 already in" in again.stderr


@pytest.mark.slow
def test_the_plugin_s_own_tests_pass_one_item_per_check():
    run = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-v",
                          "test_my_model.py"], cwd=EXAMPLE, text=True, capture_output=True,
                         timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "test_my_models[face_voice_ffnn-predicts_every_frame] PASSED" in run.stdout
    assert "15 passed" in run.stdout   # 7 checks of face_voice_ffnn, 8 of seed-free frame_ridge


@pytest.mark.slow
def test_models_lists_a_plugin_model_with_its_source():
    run = emorec("models", "--json", "--plugin", str(EXAMPLE / "my_model.py"))
    assert run.returncode == 0, run.stderr
    record = next(r for r in json.loads(run.stdout) if r["name"] == "face_voice_ffnn")
    assert record["source"].startswith("file my_model.py sha256:")
    assert record["params"]["hidden"]["tune"] == {"low": 16, "high": 256, "log": False}


@pytest.mark.slow
@pytest.mark.parametrize("suite_plugins, message", [
    ('["nope.py"]', "plugins: plugin nope.py: no such file"),
    ('["no_such_module_anywhere"]', "plugin no_such_module_anywhere: cannot import it"),
])
def test_a_missing_plugin_is_one_clear_error(tmp_path, suite_plugins, message):
    suite = tmp_path / "suite.toml"
    suite.write_text(f'plugins = {suite_plugins}\n[dataset]\nstand_in = {{ kind = "sewa" }}\n'
                     '[[experiments]]\nmodel = "chance"\n')
    run = emorec("bench", str(suite), "--results-dir", str(tmp_path / "r"))
    assert run.returncode == 2
    assert run.stderr.strip().count("\n") == 0 and message in run.stderr


@pytest.mark.slow
def test_a_plugin_that_breaks_or_clashes_is_named(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('my bug')\n")
    run = emorec("models", "--plugin", str(broken))
    assert run.returncode == 2
    assert "plugin" in run.stderr and "RuntimeError: my bug" in run.stderr
    clash = tmp_path / "clash.py"
    clash.write_text("from emorec.models import model\n\n"
                     "@model('gru', family='x', modality='video', view='frame')\n"
                     "def gru(seed):\n    pass\n")
    run = emorec("models", "--plugin", str(clash))
    assert run.returncode == 2 and "model 'gru' is registered twice" in run.stderr


@pytest.mark.slow
def test_an_installed_package_registers_through_its_entry_point(tmp_path):
    site = tmp_path / "site"
    (site / "lab_models").mkdir(parents=True)
    (site / "lab_models" / "__init__.py").write_text(
        (EXAMPLE / "my_model.py").read_text().replace("face_voice_ffnn", "lab_ffnn"))
    info = site / "lab_models-0.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lab-models\nVersion: 0.3\n")
    (info / "entry_points.txt").write_text("[emorec.models]\nlab = lab_models\n")
    (info / "top_level.txt").write_text("lab_models\n")
    run = emorec("models", "--json", env={"PYTHONPATH": str(site)})
    assert run.returncode == 0, run.stderr
    record = next(r for r in json.loads(run.stdout) if r["name"] == "lab_ffnn")
    assert record["source"] == "package lab-models 0.3 (lab_models)"


@pytest.mark.slow
def test_a_plugin_models_fingerprint_follows_its_code(tmp_path):
    script = ("import sys; from emorec import plugins; from emorec.models import MODELS; "
              "plugins.load(sys.argv[1]); print(MODELS.get('face_voice_ffnn').code_fingerprint)")
    first, second = tmp_path / "a" / "my_model.py", tmp_path / "b" / "my_model.py"
    for path, hidden in ((first, "64"), (second, "65")):
        path.parent.mkdir()
        path.write_text((EXAMPLE / "my_model.py").read_text().replace(
            'Param("int", 64', f'Param("int", {hidden}'))
    prints = [subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                             text=True, cwd=ROOT, check=True).stdout for path in (first, first,
                                                                                   second)]
    assert prints[0] == prints[1] != prints[2]
