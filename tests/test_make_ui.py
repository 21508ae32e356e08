"""make ui and make dashboard: PORT chooses where they listen; a port that is taken (or not a
port) stops them in one line, exit 2, before any server starts; on a free port the UI answers
there and says so."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import urllib.request

import pytest
from helpers import ROOT


def user_env() -> dict:
    """The environment of a user's shell: none of an enclosing make's (make test runs these)."""
    return {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")}


def make(*args) -> subprocess.CompletedProcess:
    return subprocess.run(["make", *args], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env=user_env())


@pytest.mark.parametrize("goal", ["ui", "dashboard"])
def test_a_taken_port_stops_the_server_before_it_starts(goal, taken_port):
    result = make(goal, f"PORT={taken_port}")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert f"make {goal}: port {taken_port} on 127.0.0.1 is in use" in lines[0]
    assert f"make {goal} PORT={taken_port + 1}" in lines[0]
    assert result.stdout == "", "nothing was started"


def test_make_dashboard_without_a_journal_yet_says_so_in_one_line(tmp_path):
    missing = tmp_path / "optuna.journal"
    result = make("dashboard", f"STORAGE={missing}")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert f"make dashboard: no Optuna journal at {missing} yet" in lines[0]
    assert "run emorec tune first" in lines[0] and result.stdout == ""


@pytest.mark.parametrize("port", ["abc", "0", "70000"])
def test_a_port_that_is_not_one_is_one_line(port):
    result = make("ui", f"PORT={port}")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert f"PORT must be a port number from 1 to 65535, found '{port}'" in result.stderr


@pytest.mark.slow
def test_make_ui_serves_on_the_port_it_names(tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(["make", "ui", f"PORT={port}",
                               f"UI_STORE=sqlite:///{tmp_path / 'mlflow.db'}"], cwd=ROOT, text=True,
                              env=user_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              start_new_session=True)
    try:
        assert f"at http://127.0.0.1:{port}" in server.stdout.readline()
        deadline = time.time() + 90
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as reply:
                    assert reply.status == 200
                    break
            except OSError:
                assert time.time() < deadline, "make ui did not answer within 90 s"
                time.sleep(0.5)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    assert (tmp_path / "mlflow.db").is_file(), "it served the store it was given"
