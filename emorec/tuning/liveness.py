"""Trials of workers that are gone: every trial records ``host:pid`` of its worker; a RUNNING
trial whose process no longer runs on this host is failed and its params queued again, so a
killed worker loses nothing. Trials of other hosts are left to the RDB storage's heartbeat."""

from __future__ import annotations

import logging

import optuna
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState

from emorec.system.processes import gone_from_this_host

log = logging.getLogger(__name__)

MAX_RETRY = 2            # a dead worker's trial is run again at most this often


def retry_callback() -> RetryHeartbeatStaleTrialCallback:
    return RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)


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
