"""Where a benchmark ran, for its report: the processor and its cores, and the code's commit
(``emorec.provenance.code_version``: ``+dirty`` when the code differed from it)."""

from __future__ import annotations

import os
import platform
from pathlib import Path

from emorec.provenance import code_version


def processor() -> str:
    """The processor's model name and the cores this process may use."""
    try:
        name = next(line.split(":", 1)[1].strip() for line in
                    Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name"))
    except (OSError, StopIteration):
        name = platform.processor() or "unknown processor"
    return f"{name}, {os.cpu_count()} cores"


def commit() -> str:
    return code_version()
