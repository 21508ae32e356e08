"""The classes behind the last faults found: every wait on a store bounded, every number checked
where it is read, every damaged store named in one line with what to do, every output folder
through one helper that never overwrites what it did not write, and every silent acceptance
made a decision."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import mlflow
import optuna
import pandas as pd
import pytest
from helpers import ROOT
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from scenarios import SUITE
from test_faults import bench_args, emorec, user_error

from emorec.cli import main, store_error
from emorec.errors import EmorecError
from emorec.store import results
from emorec.sweep.runner import mlflow_link
from emorec.sweep.suites import load_suite
from emorec.tuning.journal import check_journal


# --------------------------------------------------------------------------- numbers
@pytest.mark.parametrize("args, option", [
    (["data", "split", "d", "--seed", "-1"], "--seed"),
    (["data", "synth", "--kind", "sewa", "--out", "x", "--seed", "-1"], "--seed"),
    (["tune", "gru", "--dataset", "d", "--trials", "1", "--study", "s", "--seed", "-1"],
     "--seed"),
    (["tune", "gru", "--dataset", "d", "--trials", "1", "--study", "s", "--timeout", "-5"],
     "--timeout"),
    (["tune", "gru", "--dataset", "d", "--trials", "1", "--study", "s", "--timeout", "0"],
     "--timeout"),
    (["tune", "gru", "--dataset", "d", "--trials", "1", "--study", "s", "--timeout", "nan"],
     "--timeout"),
    (["bench", "s.toml", "--tracking-timeout", "inf"], "--tracking-timeout"),
    (["bench", "s.toml", "--tracking-timeout", "1e300"], "--tracking-timeout"),
    (["verify", "s.toml", "--tolerance", "nan"], "--tolerance"),
    (["verify", "s.toml", "--tolerance", "-1"], "--tolerance"),
    (["tune", "gru", "--dataset", "d", "--trials", "0", "--study", "s"], "--trials"),
])
def test_a_number_out_of_range_is_one_line_naming_the_option(args, option, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"argument {option}: must be" in err, err


def test_a_suite_seed_beyond_what_the_generators_take_is_refused_with_the_suite(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(SUITE.format(name="s", epochs=1).replace("seeds = [0, 1]",
                                                             f"seeds = [0, {2**70}]"))
    with pytest.raises(EmorecError, match="seeds: expected .* from 0 to 4294967295"):
        load_suite(path)


def test_every_problem_of_a_suite_is_reported_at_once(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('colour = 1\nseeds = [-1]\n[dataset]\nstand_in = { kind = "sewa", '
                    'size = "tiny" }\n[[experiments]]\nmodel = "nope"\n[[experiments]]\n'
                    'model = "gru"\nparams = { window = 1 }\ngrid = { window = [1, 2] }\n')
    with pytest.raises(EmorecError) as caught:
        load_suite(path)
    lines = str(caught.value).splitlines()
    assert len(lines) == 4 and all(line.startswith(f"{path}: ") for line in lines)
    for where in ("top level", "seeds", "experiments #1", "experiments #2: window in both "
                                                          "params and grid"):
        assert any(where in line for line in lines), (where, lines)


# --------------------------------------------------------------------------- bounded waits
def test_a_database_tracking_uri_that_refuses_is_one_line_within_the_timeout(place, capsys):
    err = user_error(capsys, bench_args(place)[:-4] + [
        "--tracking-uri", "postgresql+psycopg://u:p@127.0.0.1:1/db", "--tracking-timeout", "3"])
    assert "the database does not answer within 3 s" in err and "u:***@" in err


@pytest.fixture
def silent_port():
    """A port that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    server.close()


@pytest.mark.slow
@pytest.mark.parametrize("verb", ["bench", "tune"])
def test_a_database_that_accepts_and_never_answers_stops_within_the_timeout(
        place, silent_port, verb):
    url = f"postgresql+psycopg://u:p@127.0.0.1:{silent_port}/db"
    if verb == "bench":
        args = [*bench_args(place)[:-4], "--tracking-uri", url, "--tracking-timeout", "3"]
    else:
        args = ["tune", "ffnn", "--dataset", str(place["suite"]), "--trials", "1",
                "--study", "s", "--storage", url, "--data-dir", str(place["data_dir"]),
                "--param", "epochs=1", "--tracking-uri", place["tracking_uri"]]
    start = time.monotonic()
    process = emorec(*args)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 2 and "does not answer within" in err, err
    assert time.monotonic() - start < 60    # set-up and imports, then the 3 or 10 s timeout


@pytest.mark.slow
def test_planning_9000_cells_stays_quick_enough_to_fit_a_small_shard(tmp_path):
    depths = list(range(1, 3001))
    path = tmp_path / "big.toml"
    path.write_text('name = "big"\nseeds = [0, 1, 2]\n[dataset]\nstand_in = { kind = "sewa", '
                    'size = "tiny", seed = 0 }\n[[experiments]]\nmodel = "decision_tree"\n'
                    f'grid = {{ max_depth = {depths} }}\n')
    process = emorec("bench", str(path), "--shard", "1/3000", "--jobs", "1", "--results-dir",
                     str(tmp_path / "r"), "--data-dir", str(tmp_path / "data"),
                     "--tracking-uri", f"sqlite:///{tmp_path}/m.db")
    _, err = process.communicate(timeout=180)   # the fault: no fit within 240 s
    assert process.returncode == 0, err
    assert len(results.load(results.results_path(tmp_path / "r", "sewa-synth-tiny"))) == 3


# --------------------------------------------------------------------------- damaged stores
def journal_with_trials(path: Path, trials: int = 3) -> None:
    storage = JournalStorage(JournalFileBackend(str(path)))
    study = optuna.create_study(study_name="s", storage=storage)
    study.optimize(lambda trial: trial.suggest_float("x", 0, 1), n_trials=trials)


def test_a_journal_whose_last_record_was_cut_by_a_kill_keeps_the_rest(tmp_path, caplog):
    path = tmp_path / "o.journal"
    journal_with_trials(path)
    whole = path.read_bytes()
    path.write_bytes(whole + whole.splitlines(keepends=True)[-1][:20])   # a write cut short
    check_journal(path)
    assert path.read_bytes() == whole and "a record cut short" in caplog.text
    study = optuna.load_study(study_name="s",
                              storage=JournalStorage(JournalFileBackend(str(path))))
    assert len(study.trials) == 3


@pytest.mark.parametrize("damage", ["garbage line appended", "middle line mangled",
                                    "bytes that are not UTF-8"])
def test_a_damaged_journal_is_named_in_one_line_with_what_to_do(tmp_path, damage):
    path = tmp_path / "o.journal"
    journal_with_trials(path)
    lines = path.read_bytes().splitlines(keepends=True)
    if damage == "garbage line appended":
        lines.append(b"garbage\n")
        number = len(lines)
    elif damage == "middle line mangled":
        lines[2] = lines[2][:10] + b"#" + lines[2][11:]
        number = 3
    else:
        lines[1] = b"\xff\xfe" + lines[1]
        number = 2
    path.write_bytes(b"".join(lines))
    with pytest.raises(EmorecError, match=rf"o.journal line {number}: not an Optuna journal "
                                          r"record .* delete that line"):
        check_journal(path)


def test_an_mlflow_store_that_is_not_a_database_is_one_line(tmp_path, capsys):
    (tmp_path / "m.db").write_bytes(b"not a database at all" * 100)
    err = user_error(capsys, ["results", "check", "--results-dir",
                              str(ROOT / "leaderboard/results"),
                              "--tracking-uri", f"sqlite:///{tmp_path}/m.db"])
    assert "is not a SQLite database" in err and "move it away" in err


@pytest.mark.slow
def test_an_mlflow_store_damaged_under_a_command_is_one_line(tmp_path, capsys, place):
    assert main(["-q", *bench_args(place)]) == 0
    database = Path(place["tracking_uri"].removeprefix("sqlite:///"))
    with database.open("r+b") as handle:          # pages overwritten, the header kept
        handle.seek(4096)
        handle.write(b"\xff" * (database.stat().st_size - 4096))
    capsys.readouterr()
    err = user_error(capsys, ["results", "check", "--results-dir", str(place["results_dir"]),
                              "--tracking-uri", place["tracking_uri"]])
    assert "malformed" in err and "move it away" in err


def test_only_store_libraries_errors_become_one_line():
    import sqlalchemy

    assert "sqlalchemy store failed" in store_error(sqlalchemy.exc.OperationalError(
        "SELECT 1", {}, Exception("no such table: experiments")))
    assert store_error(ValueError("a bug of ours")) == ""


# --------------------------------------------------------------------------- output folders
def test_export_never_overwrites_a_users_folder_and_replaces_its_own(tiny_sewa_dir, tmp_path,
                                                                     capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "video.csv").write_text("my own\n")
    err = user_error(capsys, ["data", "export", str(tiny_sewa_dir), "--out", str(out)])
    assert "holds no emorec.json; refusing to replace it" in err
    assert (out / "video.csv").read_text() == "my own\n"
    fresh = tmp_path / "export"
    assert main(["-q", "data", "export", str(tiny_sewa_dir), "--out", str(fresh)]) == 0
    assert main(["-q", "data", "export", str(tiny_sewa_dir), "--out", str(fresh)]) == 0
    assert (fresh / "emorec.json").is_file() and (fresh / "video.csv").is_file()


@pytest.mark.parametrize("verb", ["export", "leaderboard"])
def test_an_out_that_is_a_file_is_one_line(verb, tiny_sewa_dir, tmp_path, capsys):
    target = tmp_path / "a-file"
    target.write_text("x")
    args = (["data", "export", str(tiny_sewa_dir), "--out", str(target)] if verb == "export"
            else ["leaderboard", "--results-dir", str(ROOT / "leaderboard/results"), "--out",
                  str(target)])
    assert "is a file" in user_error(capsys, args)
    assert target.read_text() == "x"


@pytest.mark.slow
@pytest.mark.parametrize("verb", ["export", "leaderboard"])
def test_an_out_on_a_read_only_file_system_is_one_line(verb, tiny_sewa_dir, tmp_path):
    source, mounted = tmp_path / "source", tmp_path / "read-only"
    source.mkdir()
    mounted.mkdir()
    if subprocess.run(["mount", "--bind", str(source), str(mounted)]).returncode != 0:
        pytest.skip("this machine lets no test mount a read-only folder")
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(mounted)], check=True)
        args = (["data", "export", str(tiny_sewa_dir), "--out", str(mounted / "x")]
                if verb == "export" else
                ["leaderboard", "--results-dir", str(ROOT / "leaderboard/results"), "--out",
                 str(mounted / "x")])
        process = emorec(*args)
        _, err = process.communicate(timeout=120)
        assert process.returncode == 2 and err.count("\n") == 1, err
        assert "not writable" in err or "Read-only file system" in err
    finally:
        subprocess.run(["umount", str(mounted)])


def test_leaderboard_of_a_missing_results_folder_is_one_line(tmp_path, capsys):
    err = user_error(capsys, ["leaderboard", "--results-dir", str(tmp_path / "none"),
                              "--out", str(tmp_path / "b")])
    assert "no such folder" in err and not (tmp_path / "b").exists()


# --------------------------------------------------------------------------- decided, not silent
@pytest.mark.parametrize("fingerprint", [None, ""])
def test_a_manifest_without_its_fingerprint_is_refused(tiny_sewa_dir, capsys, fingerprint):
    path = tiny_sewa_dir / "manifest.json"
    manifest = json.loads(path.read_text())
    if fingerprint is None:
        del manifest["fingerprint"]
    else:
        manifest["fingerprint"] = fingerprint
    path.write_text(json.dumps(manifest))
    err = user_error(capsys, ["data", "validate", str(tiny_sewa_dir)])
    assert "no fingerprint" in err and "fingerprint" in err


def test_a_results_file_whose_complete_last_row_lacks_its_newline_is_kept(place, capsys):
    assert main(["-q", *bench_args(place)]) == 0
    path = results.results_path(place["results_dir"], "sewa-synth-tiny")
    before = results.load(path)
    path.write_bytes(path.read_bytes().rstrip(b"\n"))            # an editor's save
    assert results.load(path)["cell_key"].tolist() == before["cell_key"].tolist()
    capsys.readouterr()
    assert main(["-q", *bench_args(place)]) == 0                # resumes: nothing to fit
    assert len(results.load(path)) == len(before)
    path.write_bytes(path.read_bytes().rstrip(b"\n")[:-40])     # now really cut
    with pytest.raises(EmorecError, match="the last row is incomplete"):
        results.load(path)


def test_merging_two_folders_that_disagree_on_a_cell_names_both(place, tmp_path):
    assert main(["-q", *bench_args(place)]) == 0
    other = tmp_path / "other"
    other.mkdir()
    table = pd.read_csv(results.results_path(place["results_dir"], "sewa-synth-tiny"),
                        dtype=str, keep_default_na=False)
    table.loc[0, "test_session_stats"] = table.loc[0, "test_session_stats"].replace("1", "2", 1)
    table.to_csv(results.results_path(other, "sewa-synth-tiny"), index=False)
    with pytest.raises(EmorecError, match=r"has different results in .*results/sewa-synth-"
                                          r"tiny.csv and .*other/sewa-synth-tiny.csv"):
        results.merge([place["results_dir"], other], tmp_path / "merged")
    assert not (tmp_path / "merged" / "sewa-synth-tiny.csv").exists()


def test_a_suites_cells_are_checked_against_the_dataset_before_the_first_fit(place, capsys):
    place["suite"].write_text(SUITE.format(name="f", epochs=1) + '[[experiments]]\n'
                              'model = "audio_ffnn"\ngrid = { window = [1, 9] }\n')
    err = user_error(capsys, bench_args(place))
    assert "has no 9 s audio windows" in err and "nothing was fitted" in err
    assert not results.results_path(place["results_dir"], "sewa-synth-tiny").exists()


def test_a_plugin_factory_naming_a_view_parameter_is_one_line_when_it_loads(tmp_path, capsys):
    plugin = tmp_path / "mine.py"
    plugin.write_text(
        "from sklearn.linear_model import Ridge\n"
        "from emorec.models.base import model\nfrom emorec.models.params import Param\n"
        "@model('mine', family='classic', modality='audio', view='audio_window', params={\n"
        "    'window': Param('float', 1.0, above=0), 'alpha': Param('float', 1.0, above=0)})\n"
        "def mine(seed, window, alpha):\n    return Ridge(alpha=alpha)\n")
    err = user_error(capsys, ["models", "--plugin", str(plugin)])
    assert "its factory mine(seed, window, alpha) also requires window" in err
    assert "called with seed, alpha" in err


def test_the_closing_mlflow_link_names_how_to_serve_its_own_store():
    link = mlflow_link(1, "s", "sqlite:///mlflow.db", "1")
    assert "make ui PORT=5000, then open http://127.0.0.1:5000/" in link   # the port it serves
    other = mlflow_link(1, "s", "sqlite:///runs/m.db", "1")
    assert "make ui" not in other and "mlflow ui --backend-store-uri sqlite:///runs/m.db" in other
    assert "http://server:5000/#/experiments/1" in mlflow_link(1, "s", "http://server:5000", "1")


def test_a_study_made_again_under_an_old_name_logs_its_own_trials(tiny_sewa_dir, tmp_path):
    tracking = f"sqlite:///{tmp_path}/m.db"
    for _ in range(2):
        journal = tmp_path / "o.journal"
        journal.unlink(missing_ok=True)          # the storage lost, the MLflow store kept
        assert main(["-q", "tune", "ffnn", "--dataset", str(tiny_sewa_dir), "--trials", "2",
                     "--study", "again", "--storage", str(journal), "--param", "epochs=1",
                     "--tracking-uri", tracking]) == 0
    mlflow.set_tracking_uri(tracking)
    runs = mlflow.search_runs(experiment_names=["emorec/tune/ffnn"])
    studies = runs[runs["tags.kind"] == "study"]
    trials = runs[runs["tags.kind"] == "trial"]
    assert len(studies) == 2 and len(trials) == 4
    assert trials.groupby("tags.mlflow.parentRunId").size().tolist() == [2, 2]


@pytest.mark.slow
def test_a_worker_killed_mid_sweep_is_one_line_naming_its_cell_and_a_rerun_completes(place):
    place["suite"].write_text(SUITE.format(name="f", epochs=200).replace(
        'model = "ffnn"', 'model = "gru"') + "grid = { window = [1] }\n")
    process = emorec(*bench_args(place)[:-2], "--jobs", "2")

    def workers() -> list[int]:
        out = subprocess.run(["ps", "-eo", "pid,ppid"], capture_output=True, text=True).stdout
        return [int(pid) for pid, ppid in (line.split() for line in out.splitlines()[1:])
                if int(ppid) == process.pid]

    start = time.monotonic()
    while len(workers()) < 2:
        assert time.monotonic() - start < 60
        time.sleep(0.2)
    rows = results.results_path(place["results_dir"], "sewa-synth-tiny")
    while len(results.load(rows)) < 2:          # the seed-free cells done, the grus fitting
        assert time.monotonic() - start < 120
        time.sleep(0.2)
    os.kill(workers()[0], signal.SIGKILL)        # as the out-of-memory killer would
    _, err = process.communicate(timeout=300)
    assert process.returncode == 2, err
    last = err.strip().splitlines()[-1]        # after the progress bar's lines
    assert last.startswith("emorec: error: a worker process died while fitting gru"), err
    assert "run the same command again" in err and "Traceback" not in err
    rerun = emorec(*bench_args(place))
    _, err = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, err
    rows = results.load(rows)
    assert len(rows) == 4 and rows["cell_key"].is_unique


@pytest.mark.slow
def test_a_failed_tuning_trial_is_one_line_without_optunas_traceback(tmp_path, tiny_sewa_dir):
    """A trial whose model predicts NaN fails with its reason in its own line; a study whose
    every trial fails stops at its failure limit."""
    plugin = tmp_path / "diverges.py"
    plugin.write_text(
        "import numpy as np\nfrom emorec.models import Param, model\n"
        "class Diverges:\n    history = None\n"
        "    def fit(self, train, dev, on_epoch=None):\n        return self\n"
        "    def predict(self, view):\n        return np.full((len(view.features), 2), np.nan)\n"
        "@model('diverges', family='classic', modality='video', view='frame', params={\n"
        "    'alpha': Param('float', 1.0, above=0, tune=(0.1, 10.0))})\n"
        "def diverges(seed, alpha):\n    return Diverges()\n")
    done = subprocess.run([sys.executable, "-m", "emorec.cli", "tune", "diverges", "--plugin",
                           str(plugin), "--dataset", str(tiny_sewa_dir), "--trials", "1",
                           "--study", "d", "--storage", str(tmp_path / "o.journal"),
                           "--tracking-uri", f"sqlite:///{tmp_path}/m.db"],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    assert "trial 0 FAIL : dev predictions contain NaN or inf" in output, output
    # every trial fails: the study stops after its failure limit instead of trying forever
    assert done.returncode == 2 and "10 trials failed" in done.stderr.splitlines()[-1]


def test_more_workers_than_four_a_core_is_one_line(capsys):
    err = user_error(capsys, ["bench", str(ROOT / "benchmarks/quick.toml"), "--jobs", "100000"])
    assert "--jobs 100000: this machine gives emorec" in err


@pytest.mark.parametrize("option, value", [("--duration", "100000"), ("--sessions", "100000")])
def test_generated_media_too_large_for_memory_is_one_line(option, value, tmp_path, capsys):
    assert main(["data", "synth-media", "--out", str(tmp_path / "m"), option, value]) == 2
    assert f"argument {option}: must be" in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_a_one_line_file_given_as_a_journal_is_refused_and_left_as_it_was(tmp_path):
    path = tmp_path / "notes.cfg"
    path.write_text("password=hunter2")
    with pytest.raises(EmorecError, match="not an Optuna journal"):
        check_journal(path)
    assert path.read_text() == "password=hunter2"


def test_a_param_held_with_tune_param_is_not_sampled(tiny_sewa_dir, tmp_path):
    journal = tmp_path / "o.journal"
    assert main(["-q", "tune", "ffnn", "--dataset", str(tiny_sewa_dir), "--trials", "2",
                 "--study", "held", "--storage", str(journal), "--param", "epochs=1",
                 "--param", "hidden=32", "--tracking-uri", f"sqlite:///{tmp_path}/m.db"]) == 0
    study = optuna.load_study(study_name="held",
                              storage=JournalStorage(JournalFileBackend(str(journal))))
    assert [t.user_attrs["params"]["hidden"] for t in study.trials] == [32, 32]
    assert all("hidden" not in t.params for t in study.trials)


@pytest.mark.parametrize("text, message", [
    ('name = "../../escaped"\n', "name: expected letters, digits"),
])
def test_a_suite_name_that_is_not_a_plain_word_is_refused(tmp_path, text, message):
    path = tmp_path / "s.toml"
    path.write_text(text + SUITE.format(name="x", epochs=1).split("\n", 2)[2])
    with pytest.raises(EmorecError, match=message):
        load_suite(path)


def test_more_shards_than_cells_is_refused_before_any_work(place, capsys):
    err = user_error(capsys, bench_args(place, "--shard", "1/99999999999999999999"))
    assert "has only 4 cells; give at most 4 shards" in err


def test_the_leaderboard_never_overwrites_a_page_it_did_not_write(tmp_path, capsys):
    committed, kept = ROOT / "leaderboard" / "results", tmp_path / "results"
    (kept / "predictions").mkdir(parents=True)   # the quick suite's board only: quicker
    for name in ("sewa-synth-small.csv", "datasets.json", "models.json"):
        shutil.copyfile(committed / name, kept / name)
    shutil.copytree(committed / "predictions" / "sewa-synth-small",
                    kept / "predictions" / "sewa-synth-small")
    out = tmp_path / "mine"
    out.mkdir()
    (out / "sewa-synth-small.md").write_text("MY THESIS NOTES\n")
    err = user_error(capsys, ["leaderboard", "--results-dir", str(kept), "--out", str(out)])
    assert "is not a leaderboard page; refusing to overwrite it" in err
    assert (out / "sewa-synth-small.md").read_text() == "MY THESIS NOTES\n"
