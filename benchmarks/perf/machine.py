"""Where a benchmark ran, for its report: the processor and its cores. (The code's commit is
``emorec.system.provenance.code_version``.)"""

from __future__ import annotations

import os
import platform
from pathlib import Path


def processor() -> str:
    """The processor's model name and the cores this process may use."""
    try:
        name = next(line.split(":", 1)[1].strip() for line in
                    Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name"))
    except (OSError, StopIteration):
        name = platform.processor() or "unknown processor"
    return f"{name}, {os.cpu_count()} cores"



def publish(text: str, out: Path | None) -> None:
    """A benchmark's report: printed, and written to ``out`` when given."""
    print(text, end="")
    if out is not None:
        Path(out).write_text(text)
