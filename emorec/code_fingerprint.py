"""A fingerprint of the code that decides a model's numbers, part of every cell's key.

A model's numbers depend on its factory, what its module shares with it, everything that
module imports from emorec (views, the training loop, ...), the evaluation path, and the
numerical libraries. The fingerprint hashes exactly that, by content and not by name: the
syntax tree of each of those modules with docstrings left out (so comments, docstrings and
formatting do not count, any code change does), the paths in its imports of emorec modules
left out (so moving or renaming a module changes no key), and the installed versions of numpy,
scipy, scikit-learn, pandas and torch. The module digests are sorted before they are hashed
together, so neither module names nor paths enter.

One model's fingerprint leaves out the other models declared beside it: every ``@model``
factory of another name (unless some kept code refers to it) and, of its own ``@model(...)``,
the keywords that describe it without deciding a number (``grid``, ``description``,
``columns``, ``offline_when``, ``thesis_names``); of a ``Param(...)``, its help text and tuning
range. So a model's metadata sits in its declaration, and adding a model beside it, or editing
its description, re-keys nothing.

Changed code therefore means a new cell key, a rerun, and committed rows that no longer match
(``emorec verify`` names them); it cannot leave a stale row that looks fresh. A plugin model's
fingerprint covers its own module, the modules of its own package and the emorec modules they
import. It over-includes rather than misses: a change to a shared module (the training loop,
say) reruns every model that imports it. Left out are this module, the registry and a model's
facts, and the data layer's loading, validation and splitting: what they produce is covered
by the dataset's fingerprint and the split hash, which are part of the cell key too.
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
                               "emorec.store.facts", "emorec.data.dataset",
                               "emorec.data.validation", "emorec.data.splits"})
# Keyword arguments of a model's registration (``@model(...)``) and of a parameter declaration
# (``Param(...)``) that describe it without deciding any number it makes.
DESCRIBING = {"model": frozenset({"grid", "description", "columns", "offline_when",
                                  "thesis_names"}),
              "Param": frozenset({"help", "tune", "log"})}


@functools.cache
def model_fingerprint(factory_module: str, model_name: str | None = None) -> str:
    """16 hex digits for model ``model_name``, whose factory lives in ``factory_module`` (or
    for the code of ``factory_module`` alone, without a name: late fusion's rows)
    (computed once per process: a plan of thousands of cells asks for it per cell)."""
    modules = ({(name, model_name if name == factory_module else None)
                for name in _closure(factory_module, model_name)}
               | {(name, None) for name in _closure(EVALUATION_MODULE, None)})
    digest = hashlib.sha256()
    for module_digest in sorted(_digest(name, keep) for name, keep in modules):
        digest.update(f"{module_digest}\n".encode())
    for library in LIBRARIES:
        digest.update(f"{library}=={_version(library)}\n".encode())
    return digest.hexdigest()[:16]


@functools.cache
def _closure(module: str, keep: str | None) -> frozenset[str]:
    """``module`` and every emorec module it imports, directly or not (imports inside functions
    too), except the modules covered elsewhere and what only they import; in ``module`` only
    the imports of the code kept for model ``keep`` count (:func:`_tree`). ``from package
    import module`` counts the module, not the package's ``__init__``, so a model does not
    depend on every other model through ``emorec.models``."""
    seen, todo = set(), [(module, keep)]
    while todo:
        name, kept = todo.pop()
        if name in seen or name in COVERED_ELSEWHERE:
            continue
        seen.add(name)
        todo.extend((found, None) for found in _imports(name, kept) - seen)
    return frozenset(seen)


@functools.cache
def _imports(module: str, keep: str | None) -> frozenset[str]:
    found = set()
    for node in ast.walk(_tree(module, keep)):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names}
            submodules = {name for name in submodules if _path(name) is not None}
            found |= submodules or {node.module}
    own = {"emorec", module.split(".")[0]}   # emorec's modules, and a plugin package's own
    return frozenset(name for name in found
                     if name.split(".")[0] in own and _path(name) is not None)


@functools.cache
def _digest(module: str, keep: str | None) -> str:
    """Of ``module``'s code as kept for model ``keep``, without docstrings, describing keywords
    and the paths of its own imports."""
    tree = _tree(module, keep)
    own = {"emorec", module.split(".")[0]}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _called(node) in DESCRIBING:
            node.keywords = [k for k in node.keywords if k.arg not in DESCRIBING[_called(node)]]
        elif isinstance(node, ast.ImportFrom) and (node.level or (
                node.module and node.module.split(".")[0] in own)):
            node.module, node.level = None, 0
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in own:
                    alias.name = alias.name.rsplit(".", 1)[-1]
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)):
            node.body = body[1:] or [ast.Pass()]
    return hashlib.sha256(ast.dump(tree, include_attributes=False).encode()).hexdigest()


def _tree(module: str, keep: str | None) -> ast.Module:
    """``module`` parsed, less the models other than ``keep`` declared in it: each top-level
    function registered with ``@model(name, ...)`` for another name, unless the rest of the
    module refers to it."""
    tree = ast.parse(_path(module).read_text())
    others = [node for node in tree.body if _declared_model(node) not in (None, keep)]
    if others:
        rest = [node for node in tree.body if node not in others]
        used = {node.id if isinstance(node, ast.Name) else node.attr
                for part in rest for node in ast.walk(part)
                if isinstance(node, ast.Name | ast.Attribute)}
        tree.body = [node for node in tree.body if node not in others or node.name in used]
    return tree


def _declared_model(node: ast.stmt) -> str | None:
    """The name a top-level function is registered under with ``@model(name, ...)``, if it is."""
    if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        return None
    for decorator in node.decorator_list:
        if (isinstance(decorator, ast.Call) and _called(decorator) == "model" and decorator.args
                and isinstance(decorator.args[0], ast.Constant)
                and isinstance(decorator.args[0].value, str)):
            return decorator.args[0].value
    return None


def _called(call: ast.Call) -> str:
    function = call.func
    return (function.id if isinstance(function, ast.Name)
            else function.attr if isinstance(function, ast.Attribute) else "")


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
