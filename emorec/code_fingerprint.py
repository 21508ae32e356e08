"""A fingerprint of the code that decides a model's numbers, part of every cell's key.

A model's numbers depend on its factory, what its module shares with it, everything that
module imports from emorec (views, the training loop, ...), the evaluation path, and the
numerical libraries. The fingerprint hashes exactly that, by content and not by name: the
syntax tree of each of those modules with docstrings left out (so comments, docstrings and
formatting do not count, any code change does), the paths in its imports of emorec modules
left out (so moving or renaming a module changes no key), and the installed versions of numpy,
scipy, scikit-learn, pandas and torch. The module digests are sorted before they are hashed
together, so neither module names nor paths enter.

One model's fingerprint leaves out what its module holds for other models: of the module that
declares it, only its factory, what the factory refers to (helpers, constants, imports,
directly or not) and the statements that bind no name are kept, so another model's factory,
imports and constants are not; of its own ``@model(...)``, the keywords that describe it
without deciding a number (``grid``, ``description``, ``columns``, ``offline_when``,
``thesis_names``) are left out, as a ``Param(...)``'s help text and tuning range. So a model's
metadata sits in its declaration, and adding a model beside it, with imports of its own, or
editing its description re-keys nothing.

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
        if isinstance(node, ast.ImportFrom) and (node.level or (
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
    """``module`` parsed, less what does not decide model ``keep``'s numbers. In the module that
    declares ``keep``: its factory, the statements that bind no name (they run for every
    model), and every top-level definition, assignment or import the kept code refers to,
    directly or not: another model's factory, its imports and constants are left out unless
    the kept code uses them. In any other module: all but the functions registered with
    ``@model(name, ...)`` that the rest of the module does not refer to."""
    tree = ast.parse(_path(module).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _called(node) in DESCRIBING:
            node.keywords = [k for k in node.keywords if k.arg not in DESCRIBING[_called(node)]]
    declared = {node: _declared_model(node) for node in tree.body}
    if keep is not None and keep in declared.values():
        kept = [node for node in tree.body if declared[node] == keep or not _bound(node)]
        while True:
            used = _names_used(kept)
            more = [node for node in tree.body if node not in kept and _bound(node) & used]
            if not more:
                break
            kept += more
        for node in kept:
            if isinstance(node, ast.Import | ast.ImportFrom) and _bound(node):
                node.names = [alias for alias in node.names if _bound_by(alias, node) in used]
        tree.body = [node for node in tree.body if node in kept]
        return tree
    others = [node for node in tree.body if declared[node] not in (None, keep)]
    if others:
        used = _names_used(node for node in tree.body if node not in others)
        tree.body = [node for node in tree.body if node not in others or node.name in used]
    return tree


def _names_used(nodes) -> set[str]:
    return {found.id for node in nodes for found in ast.walk(node) if isinstance(found, ast.Name)}


def _bound(node: ast.stmt) -> set[str]:
    """The names a top-level statement binds: a definition's, an assignment's or an import's
    (none for anything else, which therefore always runs: a ``from __future__`` import, a
    loop, a call)."""
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return {node.name}
    if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return {found.id for target in targets for found in ast.walk(target)
                if isinstance(found, ast.Name) and isinstance(found.ctx, ast.Store)}
    if isinstance(node, ast.Import) or (isinstance(node, ast.ImportFrom)
                                        and node.module != "__future__"):
        return {_bound_by(alias, node) for alias in node.names}
    return set()


def _bound_by(alias: ast.alias, statement: ast.Import | ast.ImportFrom) -> str:
    if alias.asname:
        return alias.asname
    return alias.name.split(".")[0] if isinstance(statement, ast.Import) else alias.name


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
