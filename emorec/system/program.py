"""How a command that emorec prints for people to copy names emorec: as it was started this time,
so that the command runs where it is printed, with or without an activated virtual environment.

- ``.venv/bin/emorec`` (a path relative to the current folder) when the running ``emorec`` lies
  under it, as the project's ``.venv`` does (``make`` runs it so, and an activated environment's
  ``emorec`` is the same file);
- ``emorec`` when the running one lies elsewhere and is the one ``PATH`` finds;
- otherwise the path it was started by, whole;
- ``PYTHON -m emorec.cli`` when started so, ``PYTHON`` named by the same rules.

Other programs of the same environment (``mlflow``) are named by the same rules as well.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

NAME = "emorec"


def emorec_command() -> str:
    """The start of a printed emorec command: ``.venv/bin/emorec``, ``emorec``, a whole path, or
    ``.venv/bin/python -m emorec.cli``; ``emorec`` when emorec runs inside another program (a
    test, a notebook)."""
    started = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if started is not None and started.name == NAME:
        return _named(started)
    if started is not None and started.name == "__main__.py" and started.parent.name == "cli" \
            and started.parent.parent.name == NAME:
        return f"{_named(Path(sys.executable))} -m emorec.cli"
    return NAME


def beside(name: str) -> str:
    """A program installed beside the running emorec (``mlflow`` of the same environment; beside
    the running Python when emorec was not started as ``emorec``), as a person at this folder
    types it: ``.venv/bin/mlflow``."""
    started = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    folder = (started.parent if started is not None and started.name == NAME
              else Path(sys.executable).parent)
    return _named(folder / name)


def _named(program: Path) -> str:
    """``program`` as a person at this folder types it."""
    whole = Path(os.path.abspath(program))
    here = Path.cwd()
    for path, folder in ((whole, here), (whole.resolve(), here.resolve())):
        if path.is_relative_to(folder):
            relative = path.relative_to(folder)
            return str(relative) if len(relative.parts) > 1 else f"./{relative}"
    on_path = shutil.which(program.name)
    if on_path is not None and Path(on_path).resolve() == whole.resolve():
        return program.name
    return str(whole)
