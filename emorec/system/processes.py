"""Processes: who runs (``host:pid`` and whether it is alive) and worker processes that die with
their parent instead of lingering as orphans."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys
from pathlib import Path

PR_SET_PDEATHSIG = 1


def worker_id(pid: int | None = None) -> str:
    """``host:pid`` of a process (default: this one), as runs and trials record it."""
    return f"{socket.gethostname()}:{os.getpid() if pid is None else pid}"


def gone_from_this_host(worker: str) -> bool:
    """Whether a ``host:pid`` names a process of this host that no longer runs."""
    host, _, pid = worker.rpartition(":")
    return host == socket.gethostname() and pid.isdigit() and not alive(int(pid))


def alive(pid: int) -> bool:
    """Whether a process runs: a zombie (killed, not yet reaped by its parent) does not."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:
        return stat.read_text().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True   # no /proc: os.kill's answer stands


def die_with_parent() -> None:
    """In a worker process: be killed when the parent dies, however it dies (SIGKILL
    included), and end if the parent is already gone. Linux only; elsewhere a no-op."""
    if sys.platform != "linux":
        return
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:   # the parent died before the call above
        os.kill(os.getpid(), signal.SIGKILL)


def exit_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit in this process, so ``finally`` blocks run (MLflow runs are
    ended, worker processes stopped) before it exits with status 143."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
