"""Small doors a new user meets first: a file where a folder is expected (and the reverse) is
named as such, a model name in the wrong case gets a "did you mean", and `make help` lists every
target."""

from __future__ import annotations

import re
import subprocess

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
