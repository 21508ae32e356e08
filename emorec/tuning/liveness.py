"""Trials of workers that are gone: every trial records ``host:pid`` of its worker; a RUNNING
trial whose process no longer runs on this host is failed and its params queued again, so a
killed worker loses nothing. Trials of other hosts are left to the RDB storage's heartbeat."""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

import optuna
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

log = logging.getLogger(__name__)

MAX_RETRY = 2            # a dead worker's trial is run again at most this often


def retry_callback() -> RetryHeartbeatStaleTrialCallback:
    return RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)


def worker_id(pid: int | None = None) -> str:
    """``host:pid`` of a worker process (default: this one), as trials record it."""
    return f"{socket.gethostname()}:{os.getpid() if pid is None else pid}"


def gone_from_this_host(worker: str) -> bool:
    """Whether a trial's ``host:pid`` names a process of this host that no longer runs."""
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


def fail_dead_trials(study: optuna.Study) -> list[int]:
    """Fail the RUNNING trials whose worker process on this host is gone, queue their params
    again, and return their numbers."""
    storage = study._storage   # the storage object this process opened
    failed = []
    study_id = storage.get_study_id_from_name(study.study_name)
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if not gone_from_this_host(str(trial.user_attrs.get("worker", ""))):
            continue
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
        try:
            if not storage.set_trial_state_values(trial_id, state=TrialState.FAIL):
                continue
        except optuna.exceptions.UpdateFinishedTrialError:
            continue   # another process got there first
        retry_callback()(study, storage.get_trial(trial_id))
        log.warning("study %s: trial %d's worker %s is gone; failed it and queued its params "
                    "again", study.study_name, trial.number, trial.user_attrs["worker"])
        failed.append(trial.number)
    return failed
