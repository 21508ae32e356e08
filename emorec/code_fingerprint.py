"""A fingerprint of the code that decides a model's numbers, part of every cell's key.

A model's numbers depend on its factory's module, everything that module imports from emorec
(views, the training loop, ...), the evaluation path, and the numerical libraries. The
fingerprint hashes exactly that: the syntax trees of those modules with docstrings left out (so
comments, docstrings and formatting do not count, any code change does) and the installed
versions of numpy, scipy, scikit-learn, pandas and torch. Changed code therefore means a new cell
key, a rerun, and committed rows that no longer match (``emorec verify`` names them); it cannot
leave a stale row that looks fresh. A plugin model's fingerprint covers its own module, the
modules of its own package and the emorec modules they import. It over-includes rather than
misses: a change to a shared module (the training loop, say) reruns every model that imports
it. Left out are this module and the data layer's loading, validation and splitting: what they
produce is covered by the dataset's fingerprint and the split hash, which are part of the cell
key too.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib.util
import sys
from importlib import metadata
from pathlib import Path

LIBRARIES = ("numpy", "scipy", "scikit-learn", "pandas", "torch")
EVALUATION_MODULE = "emorec.evaluation"
# Imported by the models but deciding no number beyond what the dataset fingerprint and split
# hash already pin down.
COVERED_ELSEWHERE = frozenset({__name__, "emorec.errors", "emorec.registry",
                               "emorec.data.dataset", "emorec.data.validation",
                               "emorec.data.splits"})


@functools.cache
def model_fingerprint(factory_module: str) -> str:
    """16 hex digits for the model whose factory lives in ``factory_module`` (computed once per
    process: a plan of thousands of cells asks for it per cell)."""
    modules = sorted(_closure(factory_module) | _closure(EVALUATION_MODULE))
    digest = hashlib.sha256()
    for name in modules:
        digest.update(f"{name}\n{_normalised_source(name)}\n".encode())
    for library in LIBRARIES:
        digest.update(f"{library}=={_version(library)}\n".encode())
    return digest.hexdigest()[:16]


@functools.cache
def _closure(module: str) -> frozenset[str]:
    """``module`` and every emorec module it imports, directly or not (imports inside functions
    too), except the modules covered elsewhere and what only they import. ``from package import
    module`` counts the module, not the package's ``__init__``, so a model does not depend on
    every other model through ``emorec.models``."""
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name in seen or name in COVERED_ELSEWHERE:
            continue
        seen.add(name)
        todo.extend(_imports(name) - seen)
    return frozenset(seen)


@functools.cache
def _imports(module: str) -> frozenset[str]:
    found = set()
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names}
            submodules = {name for name in submodules if _path(name) is not None}
            found |= submodules or {node.module}
    own = {"emorec", module.split(".")[0]}   # emorec's modules, and a plugin package's own
    return frozenset(name for name in found
                     if name.split(".")[0] in own and _path(name) is not None)


# Keyword arguments of a parameter declaration (``Param(...)``) that describe it without
# deciding any number a model makes.
DESCRIBING = frozenset({"help", "tune", "log"})
DECLARATIONS = frozenset({"Param"})


@functools.cache
def _normalised_source(module: str) -> str:
    tree = _tree(module)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _called(node) in DECLARATIONS:
            node.keywords = [k for k in node.keywords if k.arg not in DESCRIBING]
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree, include_attributes=False)


def _called(call: ast.Call) -> str:
    function = call.func
    return (function.id if isinstance(function, ast.Name)
            else function.attr if isinstance(function, ast.Attribute) else "")


def _tree(module: str) -> ast.Module:
    return ast.parse(_path(module).read_text())


@functools.cache
def _path(module: str) -> Path | None:
    if module in sys.modules and getattr(sys.modules[module], "__file__", None):
        return Path(sys.modules[module].__file__)
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    return Path(spec.origin) if spec is not None and spec.origin else None


def _version(library: str) -> str:
    try:
        return metadata.version(library)
    except metadata.PackageNotFoundError:
        return "absent"
