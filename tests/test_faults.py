"""Nothing lost, nothing twice, never a traceback: user errors are one line and exit 2, data is
written whole or not at all, one writer per results folder, and every cell ends exactly once in
the results file and in MLflow whatever moment a sweep is killed at."""

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
import pandas as pd
import pytest
from scenarios import SUITE

from emorec.cli import main
from emorec.data.dataset import Dataset
from emorec.errors import EmorecError
from emorec.store import predictions, results
from emorec.system.faults import POINTS

CHEAP = SUITE.replace("{name}", "f")



def emorec(*args: str, env: dict | None = None, **options) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "emorec.cli", "-q", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})}, **options)


def bench_args(place, *extra) -> list[str]:
    return ["bench", str(place["suite"]), "--results-dir", str(place["results_dir"]), "--data-dir",
            str(place["data_dir"]), "--tracking-uri", place["tracking_uri"], "--jobs", "1", *extra]


def user_error(capsys, args) -> str:
    """Run the CLI in this process; it must exit 2 with one line on stderr."""
    assert main(["-q", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("emorec: error: "), err
    return err


# --------------------------------------------------------------------------- user errors
BAD_SUITES = {
    "seeds = 3": ('seeds = 3\n[dataset]\nstand_in = { kind = "sewa" }\n'
                  '[[experiments]]\nmodel = "chance"\n', "seeds"),
    "seeds = [true]": ('seeds = [true]\n[dataset]\nstand_in = { kind = "sewa" }\n'
                       '[[experiments]]\nmodel = "chance"\n', "seeds"),
    "seeds = [0, 0]": ('seeds = [0, 0]\n[dataset]\nstand_in = { kind = "sewa" }\n'
                       '[[experiments]]\nmodel = "chance"\n', "a seed is listed twice"),
    'dataset = "sewa"': ('dataset = "sewa"\n[[experiments]]\nmodel = "chance"\n', "dataset"),
    "grid an array": ('[dataset]\nstand_in = { kind = "sewa" }\n[[experiments]]\n'
                      'model = "gru"\ngrid = [1, 2]\n', "grid"),
    "params = 5": ('[dataset]\nstand_in = { kind = "sewa" }\n[[experiments]]\n'
                   'model = "gru"\nparams = 5\n', "params"),
    'size = "huge"': ('[dataset]\nstand_in = { kind = "sewa", size = "huge" }\n'
                      '[[experiments]]\nmodel = "chance"\n', "size"),
    'seed = "zero"': ('[dataset]\nstand_in = { kind = "sewa", seed = "zero" }\n'
                      '[[experiments]]\nmodel = "chance"\n', "seed"),
    "the same cell twice": ('[dataset]\nstand_in = { kind = "sewa", size = "tiny" }\n'
                            '[[experiments]]\nmodel = "chance"\n[[experiments]]\n'
                            'model = "chance"\n', "run twice"),
    "a bad param in the third experiment": (
        '[dataset]\nstand_in = { kind = "sewa", size = "tiny" }\n[[experiments]]\n'
        'model = "chance"\n[[experiments]]\nmodel = "bayesian_ridge"\n[[experiments]]\n'
        'model = "gru"\nparams = { window = -1 }\n', "experiments #3"),
}


@pytest.mark.parametrize("case", sorted(BAD_SUITES))
def test_a_bad_suite_is_one_line_before_any_cell_runs(case, place, capsys):
    text, expected = BAD_SUITES[case]
    place["suite"].write_text(text)
    err = user_error(capsys, bench_args(place))
    assert expected in err and str(place["suite"]) in err
    assert not place["results_dir"].exists()   # nothing ran


def test_a_suite_that_is_not_utf8(place, capsys):
    place["suite"].write_bytes(b'name = "caf\xe9"\n')
    assert "not UTF-8" in user_error(capsys, bench_args(place))


@pytest.mark.new_store
def test_bad_places_for_data_results_and_tracking_are_one_line_before_any_fit(place, capsys):
    a_file = place["suite"].parent / "a-file"
    a_file.write_text("x")
    assert "is a file" in user_error(capsys, [*bench_args(place)[:-6], "--data-dir",
                                              str(a_file), "--tracking-uri", place["tracking_uri"]])
    assert "is a file" in user_error(capsys, bench_args(place, "--results-dir", str(a_file)))
    assert "not an MLflow store" in user_error(capsys, bench_args(place, "--tracking-uri",
                                                                 "foo://bar"))
    assert not Path(place["tracking_uri"].removeprefix("sqlite:///")).exists()


@pytest.mark.new_store
def test_an_unwritable_results_folder_stops_before_any_fit(place, capsys):
    if os.geteuid() == 0:   # root writes into read-only folders, but not into /proc
        place["results_dir"] = Path("/proc/emorec-results")
    else:
        place["results_dir"].mkdir()
        place["results_dir"].chmod(0o500)
    try:
        err = user_error(capsys, bench_args(place))
        assert "cannot write" in err or "not writable" in err
    finally:
        if os.geteuid() != 0:
            place["results_dir"].chmod(0o700)
    assert not Path(place["tracking_uri"].removeprefix("sqlite:///")).exists()   # no run was logged


def test_tune_storage_in_a_folder_or_under_a_file_is_one_line(place, capsys):
    a_file = place["suite"].parent / "a-file"
    a_file.write_text("x")
    for storage, expected in ((str(place["suite"].parent), "is a folder"),
                              (str(a_file / "optuna.journal"), "is a file")):
        err = user_error(capsys, ["tune", "ffnn", "--dataset", str(place["suite"]), "--trials",
                                  "1", "--study", "s", "--storage", storage, "--data-dir",
                                  str(place["data_dir"]), "--tracking-uri", place["tracking_uri"]])
        assert expected in err


def test_a_tracking_server_that_never_answers_stops_the_bench_within_its_timeout(place,
                                                                                 capsys):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted = []
    threading.Thread(target=lambda: accepted.append(listener.accept()), daemon=True).start()
    port = listener.getsockname()[1]
    started = time.monotonic()
    err = user_error(capsys, bench_args(place, "--tracking-uri", f"http://127.0.0.1:{port}",
                                        "--tracking-timeout", "1.5"))
    assert "does not answer within 1.5 s" in err and time.monotonic() - started < 20
    listener.close()
    err = user_error(capsys, bench_args(place, "--tracking-uri", f"http://127.0.0.1:{port}",
                                        "--tracking-timeout", "1.5"))
    assert "does not answer" in err   # connection refused: at once, no minutes of retries


# --------------------------------------------------------------------------- data kept whole
def test_a_dataset_write_that_fails_part_way_leaves_the_old_dataset(tiny_sewa, tmp_path,
                                                                   monkeypatch):
    from emorec.data import dataset as dataset_module

    folder = tiny_sewa.save(tmp_path / "ds")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    written = []

    def fail_on_the_second_file(table, path):
        written.append(path)
        if len(written) == 2:
            raise PermissionError(13, "Permission denied")
        table.to_parquet(path)

    monkeypatch.setattr(dataset_module, "_write_parquet", fail_on_the_second_file)
    with pytest.raises(EmorecError, match="cannot write .*nothing was changed"):
        tiny_sewa.save(folder)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]   # no leftovers


def test_a_dataset_write_killed_part_way_leaves_the_old_dataset(tiny_sewa, tmp_path):
    folder = tiny_sewa.save(tmp_path / "ds")
    code = ("import os, signal, sys\n"
            "from emorec.data import dataset as d, synth\n"
            "real = d._write_parquet\n"
            "def die(table, path):\n"
            "    real(table, path)\n"
            "    os.kill(os.getpid(), signal.SIGKILL)\n"
            "d._write_parquet = die\n"
            f"synth.generate('sewa', 'tiny', seed=1).save({str(folder)!r})\n")
    killed = subprocess.run([sys.executable, "-c", code], capture_output=True)
    assert killed.returncode == -signal.SIGKILL
    assert Dataset.load(folder).manifest.fingerprint == tiny_sewa.manifest.fingerprint
    tiny_sewa.save(folder)   # the next write clears the killed one's temporary folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds"]


def test_a_folder_that_is_not_a_dataset_is_never_replaced(tiny_sewa, tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(EmorecError, match="holds no manifest.json"):
        tiny_sewa.save(tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_a_results_file_cut_mid_row_is_refused_naming_the_row(place, capsys):
    assert main(["-q", *bench_args(place)]) == 0
    capsys.readouterr()
    path = results.results_path(place["results_dir"], "sewa-synth-tiny")
    text = path.read_text()
    path.write_text(text[:-40])   # the last row loses its end
    err = user_error(capsys, bench_args(place))
    assert f"{path}, row 5" in err and "incomplete" in err
    assert path.read_text() == text[:-40]   # refused, not glued onto


# --------------------------------------------------------------------------- one writer
SLOW = CHEAP.replace('model = "ffnn"', 'model = "gru"')


def wait_for(condition, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


@pytest.mark.slow
def test_a_second_bench_on_the_same_results_folder_stops_naming_the_first(place):
    place["suite"].write_text(SLOW.format(epochs=200))
    first = emorec(*bench_args(place))
    lock = place["results_dir"] / ".emorec.lock"
    wait_for(lambda: lock.exists() and f"pid {first.pid}" in lock.read_text())
    second = emorec(*bench_args(place))
    _, err = second.communicate(timeout=60)
    assert second.returncode == 2 and f"pid {first.pid}" in err and "in use" in err
    first.kill()
    first.wait()


@pytest.mark.slow
def test_two_benches_starting_on_a_fresh_mlflow_database_both_run(place, tmp_path):
    others = {**place, "results_dir": tmp_path / "results-2"}
    both = [emorec(*bench_args(place)), emorec(*bench_args(others))]
    for process in both:
        _, err = process.communicate(timeout=300)
        assert process.returncode == 0, err


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
def test_killing_a_bench_leaves_no_worker_behind(place, signum):
    place["suite"].write_text(SLOW.format(epochs=200))
    main_process = emorec(*bench_args(place)[:-2], "--jobs", "2")

    def workers() -> list[int]:
        out = subprocess.run(["ps", "-eo", "pid,ppid"], capture_output=True, text=True).stdout
        return [int(pid) for pid, ppid in (line.split() for line in out.splitlines()[1:])
                if int(ppid) == main_process.pid]

    wait_for(lambda: len(workers()) == 2)
    children = workers()
    os.kill(main_process.pid, signum)
    main_process.wait(timeout=60)
    wait_for(lambda: not any(os.path.exists(f"/proc/{pid}") and
                             Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
                             for pid in children), seconds=20)
    if signum == signal.SIGTERM:
        assert main_process.returncode == 128 + signal.SIGTERM
        mlflow.set_tracking_uri(place["tracking_uri"])
        sweeps = mlflow.search_runs(experiment_names=["emorec/f"],
                                    filter_string="tags.kind = 'sweep'")
        assert list(sweeps["status"]) == ["KILLED"]


# --------------------------------------------------------------------------- exactly once
def cells_in_both_stores(place) -> tuple[pd.Series, pd.DataFrame]:
    rows = results.load(results.results_path(place["results_dir"], "sewa-synth-tiny"))
    mlflow.set_tracking_uri(place["tracking_uri"])
    runs = mlflow.search_runs(experiment_names=["emorec/f"])
    return rows["cell_key"], runs[runs["tags.cell_key"].notna()]


@pytest.mark.slow
@pytest.mark.parametrize("point", POINTS)
def test_a_sweep_killed_at_any_point_ends_with_every_cell_exactly_once(place, point):
    killed = emorec(*bench_args(place), env={"EMOREC_KILL_AT": f"{point}:3"})
    killed.communicate(timeout=300)
    assert killed.returncode == -signal.SIGKILL
    assert sweep_statuses_after_a_rerun(place) == ["FINISHED", "KILLED"]


@pytest.mark.slow
def test_a_sweep_killed_after_its_last_row_is_settled_by_a_rerun_with_nothing_to_fit(place):
    killed = emorec(*bench_args(place), env={"EMOREC_KILL_AT": "row-written:4"})
    killed.communicate(timeout=300)
    assert killed.returncode == -signal.SIGKILL
    assert sweep_statuses_after_a_rerun(place) == ["KILLED"]   # no new parent: nothing logged


def sweep_statuses_after_a_rerun(place) -> list[str]:
    """Bench again; every cell must then have one row and one FINISHED run, linked, and no run
    be left RUNNING. Returns the statuses of the sweeps' parent runs."""
    resumed = emorec(*bench_args(place))
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    keys, runs = cells_in_both_stores(place)
    assert len(keys) == 4 and keys.is_unique
    finished = runs[runs["status"] == "FINISHED"]
    assert sorted(finished["tags.cell_key"]) == sorted(keys)   # one FINISHED run per cell
    rows = results.load(results.results_path(place["results_dir"], "sewa-synth-tiny"))
    linked = dict(zip(rows["cell_key"], rows["mlflow_run_id"], strict=True))
    assert all(linked[key] == run for key, run in zip(finished["tags.cell_key"],
                                                      finished["run_id"], strict=True))
    mlflow.set_tracking_uri(place["tracking_uri"])
    every = mlflow.search_runs(experiment_names=["emorec/f"])
    assert set(every["status"]) <= {"FINISHED", "KILLED"}     # nothing left RUNNING
    return sorted(every.loc[every["tags.kind"] == "sweep", "status"])


@pytest.fixture(scope="module")
def benched(tmp_path_factory) -> Path:
    """The cheap suite benched once (results, kept predictions, MLflow store) and an external
    predictions file for its test frames, in one folder that each test copies."""
    folder = tmp_path_factory.mktemp("benched")
    place = {"suite": folder / "f.toml", "results_dir": folder / "results",
             "data_dir": folder / "data", "tracking_uri": f"sqlite:///{folder / 'mlflow.db'}"}
    place["suite"].write_text(CHEAP.format(epochs=2))
    bench = emorec(*bench_args(place))
    _, err = bench.communicate(timeout=300)
    assert bench.returncode == 0, err
    last = results.load(results.results_path(place["results_dir"], "sewa-synth-tiny")).iloc[-1]
    frames = predictions.load_frames(place["results_dir"], "sewa-synth-tiny",
                                     last["fingerprint"], last["split_hash"])
    test = frames[frames["partition"] == "test"]
    test[["session", "timestamp", "valence", "arousal"]].assign(
        valence=test["valence"] * 0.5).to_csv(folder / "mine.csv", index=False)
    return folder


# each verb's arguments and the rows it makes; killed at its last row, whose rerun has nothing
# left to make but what the kill left to settle
DERIVED = {"fuse": (["fuse", "sewa-synth-tiny", "--of", "bayesian_ridge", "--of",
                     'ffnn:{"epochs": 2, "patience": 2}'], 4),
           "score": (["score", "mine.csv", "--dataset", "sewa-synth-tiny", "--name", "mine"], 1)}


@pytest.mark.slow
@pytest.mark.parametrize("point", POINTS)
@pytest.mark.parametrize("verb", sorted(DERIVED))
def test_rows_made_from_kept_predictions_killed_at_any_point_end_exactly_once(
        benched, tmp_path, verb, point):
    folder = tmp_path / "copy"
    shutil.copytree(benched, folder)
    before = set(results.load(results.results_path(folder / "results", "sewa-synth-tiny"))[
        "cell_key"])
    args, count = DERIVED[verb]
    args = [*args, "--results-dir", str(folder / "results"),
            "--tracking-uri", f"sqlite:///{folder / 'mlflow.db'}"]
    killed = emorec(*args, env={"EMOREC_KILL_AT": f"{point}:{count}"}, cwd=folder)
    killed.communicate(timeout=120)
    assert killed.returncode == -signal.SIGKILL
    resumed = emorec(*args, cwd=folder)
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    rows = results.load(results.results_path(folder / "results", "sewa-synth-tiny"))
    made = rows[~rows["cell_key"].isin(before)]
    assert len(made) == count and made["cell_key"].is_unique
    mlflow.set_tracking_uri(f"sqlite:///{folder / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=[f"emorec/{verb}"])
    assert set(runs["status"]) <= {"FINISHED", "KILLED"}   # nothing left RUNNING, parents too
    finished = runs[(runs["status"] == "FINISHED") & runs["tags.cell_key"].notna()]
    assert dict(zip(finished["tags.cell_key"], finished["run_id"], strict=True)) == dict(
        zip(made["cell_key"], made["mlflow_run_id"], strict=True))   # one FINISHED run each
    assert len(finished) == count
    assert all(predictions.load(folder / "results", "sewa-synth-tiny", key) is not None
               for key in made["cell_key"])


def test_a_deleted_mlflow_database_is_reported_not_crashed_on(place, capsys):
    assert main(["-q", *bench_args(place)]) == 0
    Path(place["tracking_uri"].removeprefix("sqlite:///")).unlink()
    capsys.readouterr()
    assert main(["-q", "results", "check", "--results-dir", str(place["results_dir"]),
                 "--tracking-uri", place["tracking_uri"]]) == 1
    out = capsys.readouterr().out
    assert "no such MLflow database; all 4 rows" in out


def test_import_errors_are_one_line(tiny_sewa_dir, tmp_path, capsys):
    assert main(["-q", "data", "export", str(tiny_sewa_dir), "--out", str(tmp_path / "csv")]) == 0
    video = tmp_path / "csv" / "video.csv"
    bad = tmp_path / "csv" / "latin1.csv"
    bad.write_bytes(video.read_bytes().replace(b'"session"', b'"sess\xe9ion"', 1))
    assert "not UTF-8" in user_error(capsys, ["data", "import", "--video", str(bad), "--out",
                                              str(tmp_path / "o")])
    for out, expected in ((video, "is a file"), (video / "sub", "is a file"),
                          (Path("/proc/emorec-x"), "cannot write")):
        err = user_error(capsys, ["data", "import", "--video", str(video), "--out", str(out)])
        assert expected in err


def test_a_negative_frame_time_is_refused_naming_the_row():
    from helpers import hand_dataset

    from emorec.errors import DataError

    with pytest.raises(DataError, match=r"row 3, column 'timestamp': negative frame times"):
        hand_dataset({"A": [0.0, 0.2, -0.4], "B": [0.0], "C": [0.0]})


def test_a_bad_command_line_is_one_line_and_exit_2(capsys):
    assert main(["data", "synth", "sewa", "--size", "huge", "--out", "x"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.splitlines() == [err] and "invalid choice: 'huge'" in err and "--help" in err
