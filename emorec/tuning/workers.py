"""The workers of a study: each runs trials until the study has exactly ``trials`` finished
ones however many take part, waiting while the remaining places are taken so that it can take
the place of a trial that fails, and stopping the study when too many have failed; several run
as spawned processes that die with their parent."""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import time

import optuna
from optuna.trial import TrialState

from emorec import plugins
from emorec.errors import EmorecError
from emorec.system.processes import die_with_parent, worker_id
from emorec.tuning.liveness import fail_dead_trials
from emorec.tuning.objective import Objective, TrialLine
from emorec.tuning.plan import FINISHED, LIVE, StudyPlan, count
from emorec.tuning.storage import create_study

WAIT_SECONDS = 5.0       # a worker with nothing to start polls this often for stragglers


def work(plan: StudyPlan, worker: int) -> None:
    """One worker: run trials until the study has ``plan.trials`` finished ones. While the
    remaining places are all taken by other workers' trials it waits, so that it can take the
    place of one that fails. Each trial it ends prints one line (a failed one with its
    reason: Optuna's own warning, with its traceback, is silenced, failures being expected)."""
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = create_study(plan, worker)
    objective = None
    deadline = None if plan.timeout is None else time.monotonic() + plan.timeout
    while count(study, FINISHED) < plan.trials:
        if deadline is not None and time.monotonic() > deadline:
            return
        failed = [t for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
                  if not t.user_attrs.get("surplus")]
        if len(failed) >= failure_limit(plan):
            raise EmorecError(
                f"study {plan.study}: {len(failed)} trials failed (the last"
                f"{failed[-1].user_attrs.get('fail_reason', ': see its line above')}), so it "
                "stops rather than try forever: narrow the search space (--param) or fix the "
                "model; the trials that finished are kept")
        fail_dead_trials(study)
        optuna.storages.fail_stale_trials(study)   # other hosts' trials (RDB heartbeat)
        if count(study, LIVE) >= plan.trials:
            time.sleep(WAIT_SECONDS)
            continue
        objective = objective or Objective(plan)
        study.optimize(objective, n_trials=1, catch=(EmorecError,),
                       callbacks=[TrialLine(plan, worker)])


def failure_limit(plan: StudyPlan) -> int:
    """Failed trials after which a study stops: twice the trials asked for, at least 10 (an
    assumption: enough for a space where some corners diverge, few enough to notice one
    where every trial does)."""
    return max(10, 2 * plan.trials)


def _worker_process(plan: StudyPlan, worker: int) -> None:
    die_with_parent()
    for name in plan.plugins:   # a spawned process starts with emorec's own models only
        plugins.load(name)
    work(plan, worker)


def run_workers(plan: StudyPlan, workers: int) -> tuple[set[str], list[int]]:
    """``workers`` workers numbered from ``plan.first_worker``: one in this process, several
    as spawned processes, each reaped as it ends. Returns their worker ids and the exit codes
    of those that failed."""
    if workers == 1:
        own = {worker_id()}
        work(plan, plan.first_worker)
        return own, []
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_worker_process, args=(plan, plan.first_worker + w))
                 for w in range(workers)]
    for process in processes:
        process.start()
    own = {worker_id(process.pid) for process in processes}
    running = {process.sentinel: process for process in processes}
    while running:   # reap each worker as it ends, so a killed one is seen dead at once
        for sentinel in multiprocessing.connection.wait(list(running)):
            running.pop(sentinel).join()
    return own, [p.exitcode for p in processes if p.exitcode != 0]
