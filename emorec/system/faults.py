"""Named points where a test can kill emorec (SIGKILL, no cleanup), to check that nothing is
lost or done twice whatever moment a sweep dies at.

``EMOREC_KILL_AT=<point>:<n>`` kills the process the n-th time it reaches ``<point>``. Unset,
each checkpoint is one dictionary lookup."""

from __future__ import annotations

import os
import signal

POINTS = ("fitted", "mlflow-logged", "predictions-written", "row-written", "run-finished")
_reached: dict[str, int] = {}


def checkpoint(point: str) -> None:
    wanted = os.environ.get("EMOREC_KILL_AT")
    if not wanted:
        return
    name, _, count = wanted.partition(":")
    if name != point:
        return
    _reached[point] = _reached.get(point, 0) + 1
    if _reached[point] == int(count or 1):
        os.kill(os.getpid(), signal.SIGKILL)
