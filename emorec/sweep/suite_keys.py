"""A suite file's top-level keys checked (which keys there are, its name, seeds and plugins, and
that ``[[experiments]]`` and ``[[fuse]]`` are lists of tables), and what every check of a suite
file shares: a check records a problem by calling ``fail(where, problem)``, which ends that
check with :class:`Bad` while :func:`~emorec.sweep.suites.load_suite` goes on to the next."""

from __future__ import annotations

import re
from pathlib import Path

from emorec import plugins
from emorec.cells import MAX_SEED
from emorec.errors import EmorecError


class Bad(Exception):
    """A problem of a suite file, recorded; its check stops there."""


def whole_number(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_top_level(raw: dict, fail) -> None:
    unknown = sorted(set(raw) - {"name", "seeds", "dataset", "experiments", "plugins", "fuse"})
    if unknown:
        fail("top level", f"unknown keys {unknown} (expected name, seeds, dataset, experiments, "
                          "plugins, fuse)")


def check_plugins(raw: dict, path: Path, fail) -> None:
    named = raw.get("plugins", [])
    if not isinstance(named, list) or not all(isinstance(p, str) and p for p in named):
        fail("plugins", f"expected a list of .py files or module names, found {named!r}")
    for plugin in named:
        try:
            plugins.load(plugin, relative_to=path.parent if plugin.endswith(".py") else None)
        except EmorecError as error:
            fail("plugins", str(error))


def check_name(raw: dict, path: Path, fail) -> str:
    name = raw.get("name", path.stem)
    if (not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name)):
        fail("name", "expected letters, digits and . _ - (it names files and MLflow "
                     f"experiments), found {name!r}")
    return name


def check_seeds(raw: dict, fail) -> list[int]:
    seeds = raw.get("seeds", [0])
    if (not isinstance(seeds, list) or not seeds
            or not all(whole_number(seed) and 0 <= seed <= MAX_SEED for seed in seeds)):
        fail("seeds", f"expected a non-empty list of whole numbers from 0 to {MAX_SEED}, found "
                      f"{seeds!r}")
    if len(set(seeds)) < len(seeds):
        fail("seeds", f"a seed is listed twice: {seeds!r}")
    return seeds


def check_tables(entries, where: str, fail) -> list[dict]:
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        fail(where, f"expected [[{where}]] tables")
    return entries
