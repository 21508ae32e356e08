"""Small doors a new user meets first: a file where a folder is expected (and the reverse) is
named as such, a model name in the wrong case gets a "did you mean", and `make help` lists every
target."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from helpers import ROOT

from emorec.cli import main


def one_line(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_a_file_given_for_a_folder_and_a_folder_for_a_suite_are_named(tmp_path, capsys):
    afile = tmp_path / "notes.txt"
    afile.write_text("x")
    assert main(["extract", str(afile), "--layout", "sewa", "--out", str(tmp_path / "o")]) == 2
    assert "notes.txt: not a folder; expected a folder of recordings" in one_line(capsys)
    assert main(["leaderboard", "--results-dir", str(afile), "--out", str(tmp_path / "b")]) == 2
    assert f"--results-dir {afile}: a file; expected the folder" in one_line(capsys)
    assert main(["bench", str(ROOT / "benchmarks")]) == 2
    err = one_line(capsys)
    assert "benchmarks: a folder; expected a suite file, e.g. one of" in err
    assert "quick.toml" in err and "sewa.toml" in err


@pytest.mark.parametrize("written,meant", [("FFNN", "ffnn"), ("Audio_FFNN", "audio_ffnn"),
                                           ("fnn", "ffnn")])
def test_a_model_name_in_another_case_or_misspelt_gets_a_did_you_mean(written, meant, tmp_path,
                                                                     capsys):
    suite = tmp_path / "s.toml"
    suite.write_text(f'name = "s"\n[[experiments]]\nmodel = "{written}"\n')
    assert main(["bench", str(suite), "--results-dir", str(tmp_path / "r")]) == 2
    assert f"unknown model '{written}'; did you mean '{meant}'?" in capsys.readouterr().err


def test_make_help_lists_every_target():
    shown = subprocess.run(["make", "--no-print-directory", "help"], cwd=ROOT,
                           capture_output=True, text=True, timeout=60, check=True).stdout
    makefile = (ROOT / "Makefile").read_text()
    phony = re.search(r"^\.PHONY:(.*?)(?<!\\)\n", makefile, re.S | re.M).group(1)
    targets = set(phony.replace("\\\n", " ").split()) - {"help", "$(BENCH_TARGETS)"}
    named = set(re.findall(r"make ([a-z-]+)", shown))
    assert targets <= named, f"missing from make help: {sorted(targets - named)}"
    for suite in ("quick", "sewa", "afew-va"):
        assert f"bench-{suite}" in shown


SUITE = ('name = "s"\nseeds = [0]\n[dataset]\nreal = "{real}"\n'
         'stand_in = {{ kind = "sewa", size = "tiny" }}\n[[experiments]]\nmodel = "chance"\n')


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A folder to run in, as a fresh clone is: no data/sewa, no EMOREC_STAND_IN."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("EMOREC_STAND_IN", raising=False)

    def suite(real: str) -> str:
        (tmp_path / "s.toml").write_text(SUITE.format(real=real))
        return "s.toml"
    return suite


def test_the_default_real_location_absent_runs_the_stand_in_with_no_flag(project, caplog):
    from emorec.sweep.suites import load_suite

    folder = load_suite(project("data/sewa")).dataset_path(Path("data"))
    assert str(folder) == "data/sewa-synth-tiny-seed0"
    assert "STAND-IN: no real features at data/sewa; running on the generated" in caplog.text


def test_a_real_path_with_a_typo_is_refused_in_one_line_with_the_path_meant(project, capsys):
    Path("data/sewa-mine").mkdir(parents=True)
    assert main(["bench", project("data/sewa-mnie"), "--results-dir", "r"]) == 2
    err = one_line(capsys)
    assert "data/sewa-mnie named by s.toml [dataset] real: not found (" in err
    assert "did you mean data/sewa-mine? To run on" in err and "EMOREC_STAND_IN=1" in err
    assert sorted(p.name for p in Path("data").iterdir()) == ["sewa-mine"]   # nothing generated


def test_an_absolute_real_path_that_is_missing_is_named_without_the_relative_path_hint(
        project, capsys):
    missing = Path.cwd() / "lab" / "sewa"
    assert main(["bench", project(str(missing)), "--results-dir", "r"]) == 2
    err = one_line(capsys)
    assert f"{missing} named by s.toml [dataset] real: not found;" in err
    assert "relative path" not in err


def test_the_default_location_holding_no_dataset_is_refused(project, capsys):
    Path("data/sewa").mkdir(parents=True)   # an import that did not finish
    assert main(["bench", project("data/sewa"), "--results-dir", "r"]) == 2
    assert "data/sewa named by s.toml [dataset] real: holds no emorec dataset" in one_line(capsys)


def test_the_stand_in_asked_for_runs_wherever_the_real_path_is_not_a_dataset(project, caplog,
                                                                            monkeypatch):
    from emorec.sweep.suites import load_suite

    monkeypatch.setenv("EMOREC_STAND_IN", "1")
    folder = load_suite(project("/mnt/nowhere/sewa")).dataset_path(Path("data"))
    assert str(folder) == "data/sewa-synth-tiny-seed0"
    assert "STAND-IN: EMOREC_STAND_IN=1, and no real features at /mnt/nowhere/sewa" in caplog.text


def test_a_printed_command_names_emorec_as_it_was_started(tmp_path, monkeypatch):
    import shutil
    import sys

    from emorec.system import program

    venv = tmp_path / "project" / ".venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "emorec").write_text("#!/bin/sh\n")
    monkeypatch.chdir(tmp_path / "project")
    monkeypatch.setattr(sys, "executable", str(venv / "python"))
    for started in (".venv/bin/emorec", str(venv / "emorec")):   # by make, or activated
        monkeypatch.setattr(sys, "argv", [started, "bench"])
        assert program.emorec_command() == ".venv/bin/emorec"
    assert program.beside("mlflow") == ".venv/bin/mlflow"
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")   # the whole path, or the name when PATH finds it
    assert program.emorec_command() == str(venv / "emorec")
    monkeypatch.setattr(shutil, "which", lambda name: str(venv / name))
    assert program.emorec_command() == "emorec"
    monkeypatch.chdir(tmp_path / "project")
    monkeypatch.setattr(sys, "argv", [str(ROOT / "emorec" / "cli" / "__main__.py"), "bench"])
    assert program.emorec_command() == ".venv/bin/python -m emorec.cli"
    monkeypatch.setattr(sys, "argv", ["/usr/bin/pytest"])   # inside another program
    assert program.emorec_command() == "emorec"


def test_the_reuse_note_prints_commands_that_run_without_an_activated_environment(
        tmp_path, monkeypatch):
    import sys

    from emorec.report.sweep import reuse_note
    from emorec.sweep.suites import load_suite

    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(sys, "argv", [".venv/bin/emorec", "bench"])
    note = reuse_note(load_suite("benchmarks/quick.toml"), 43, 43,
                      Path("leaderboard/results/sewa-synth-small.csv"), 2, 2400.0)
    assert "40.0 CPU core-minutes, about 20 min with 2 jobs" in note
    assert "\n  .venv/bin/emorec bench benchmarks/quick.toml --results-dir runs/fresh\n" in note
