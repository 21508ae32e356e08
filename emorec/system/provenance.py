"""Which code produced a number: the git commit of the checkout emorec runs from, and whether
its code differed from that commit."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path

from emorec import __version__

# The checkout holding the emorec package: emorec/system/provenance.py -> the repository root.
ROOT = Path(__file__).resolve().parents[2]
# What decides a result: the package, the suites and the pinned libraries. Result files and
# leaderboards change during a run and do not make the code dirty.
CODE_PATHS = ("emorec", "benchmarks", "pyproject.toml", "constraints.txt")


@functools.cache
def code_version() -> str:
    """``<commit>`` or ``<commit>+dirty`` (12 hex digits) of the git checkout holding this
    package; ``<package version>+nogit`` when it is not in a git checkout (an installed copy)."""
    try:
        if Path(_git("rev-parse", "--show-toplevel")).resolve() != ROOT:
            return f"{__version__}+nogit"   # a copy installed inside some other checkout
        commit = _git("rev-parse", "--short=12", "HEAD")
        changed = _git("status", "--porcelain", "--untracked-files=no", "--", *CODE_PATHS)
    except (OSError, subprocess.CalledProcessError):
        return f"{__version__}+nogit"
    return f"{commit}+dirty" if changed else commit


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                          check=True, timeout=30).stdout.strip()
