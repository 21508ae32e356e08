"""make slurm (scripts/start_slurm.sh) keeps apart from a Slurm the machine already runs: its
ports taken (by a system slurmctld, another checkout's make slurm, anything), a port that is not
one, or a state folder too deep for munge's socket stop it in one line, exit 2, before it
installs or starts anything. The script runs from a copy of scripts/ so that this checkout's own
.slurm.env, if one is running, plays no part; tests/test_slurm_cluster.py uses a running one."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from helpers import ROOT


@pytest.fixture
def checkout(tmp_path) -> Path:
    shutil.copytree(ROOT / "scripts", tmp_path / "scripts")
    return tmp_path


def user_env() -> dict:
    """A user's environment without a make slurm of theirs (a sourced .slurm.env)."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith("EMOREC_SLURM_") and k != "SLURM_CONF"}


def start(checkout: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(checkout / "scripts" / "start_slurm.sh")], cwd=checkout,
                          capture_output=True, text=True, timeout=60,
                          env={**user_env(), **env})


def refused(done: subprocess.CompletedProcess, checkout: Path) -> str:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1, done.stderr
    assert done.stdout == "" and not (checkout / ".slurm.env").exists(), "nothing started"
    return lines[0]


@pytest.mark.parametrize("offset, taken", [(0, "slurmctld's"), (1, "slurmd's")])
def test_a_taken_port_stops_make_slurm_before_anything_starts(checkout, taken_port, offset,
                                                              taken):
    first = taken_port - offset
    line = refused(start(checkout, EMOREC_SLURM_PORT=str(first)), checkout)
    assert f"make slurm: port {taken_port} on 0.0.0.0 is in use" in line, taken
    assert f"give 2 free ones from there, e.g. make slurm EMOREC_SLURM_PORT={first + 2}" in line


@pytest.mark.parametrize("port", ["abc", "0", "65535"])
def test_a_slurm_port_that_is_not_one_is_one_line(checkout, port):
    line = refused(start(checkout, EMOREC_SLURM_PORT=port), checkout)
    assert f"EMOREC_SLURM_PORT must be a port number from 1 to 65534, found '{port}'" in line


def free_pair() -> int:
    """A port that is free, and the next one too (as far as can be known before use)."""
    while True:
        with socket.socket() as probe, socket.socket() as after:
            probe.bind(("0.0.0.0", 0))
            port = probe.getsockname()[1]
            try:
                after.bind(("0.0.0.0", port + 1))
            except OSError:
                continue
            return port


def test_a_state_folder_too_deep_for_munges_socket_is_one_line(checkout):
    deep = checkout / ("d" * 120)
    line = refused(start(checkout, EMOREC_SLURM_PORT=str(free_pair()),
                         EMOREC_SLURM_DIR=str(deep)), checkout)
    assert "make slurm: EMOREC_SLURM_DIR must be a shorter path" in line and str(deep) in line
