"""Models from outside emorec: a plugin registers models with the same ``@model`` decorator.

Two ways in:

- an installed package declares an entry point in the ``emorec.models`` group, e.g. in its
  ``pyproject.toml``::

      [project.entry-points."emorec.models"]
      my_models = "my_package.models"

  Every such module is imported when the ``emorec`` command starts;
- a file or an importable module named with ``--plugin`` (bench, tune, models, verify) or in a
  suite's ``plugins = ["models/my_model.py"]`` (paths relative to the suite file).

A plugin model is a model like any other (views, training loop, tracking, leaderboard rows;
``seeded=False`` declares a seed-free one, fitted once for all of a suite's seeds);
its ``source`` says where it came from: the package and its version, or the file and the hash
of its contents. Its code fingerprint covers the plugin's own code as it does emorec's.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
from dataclasses import replace
from importlib import metadata
from pathlib import Path

from emorec.errors import EmorecError
from emorec.models import MODELS
from emorec.models.inputs import VIEW_PARAMS

ENTRY_POINT_GROUP = "emorec.models"
_LOADED: dict[str, str] = {}     # what was named -> the source its models got


def load(name: str, relative_to: Path | None = None) -> str:
    """Import the plugin ``name`` (a ``.py`` file, or a module importable from ``sys.path``)
    once and tag the models it registers with their source. Returns that source.
    EmorecError when it cannot be found or fails to import."""
    path = Path(name) if relative_to is None else Path(relative_to) / name
    key = str(path.resolve()) if name.endswith(".py") else name
    if key in _LOADED:
        return _LOADED[key]
    before = set(MODELS)
    if name.endswith(".py"):
        if not path.is_file():
            raise EmorecError(f"plugin {name}: no such file ({path})")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        source = f"file {path.name} sha256:{digest}"
        module = f"emorec_plugin_{path.stem}_{digest}"
        spec = importlib.util.spec_from_file_location(module, path)
        _import(name, lambda: _exec_file(module, spec))
    else:
        _import(name, lambda: importlib.import_module(name))
        source = _package_source(name)
    _tag(set(MODELS) - before, source, name)
    _LOADED[key] = source
    return source


def load_installed() -> list[str]:
    """Import every module of the ``emorec.models`` entry point group (installed packages)."""
    sources = []
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.value in _LOADED:
            continue
        before = set(MODELS)
        _import(f"{entry.value} (entry point {entry.name} of {ENTRY_POINT_GROUP})", entry.load)
        source = (f"package {entry.dist.name} {entry.dist.version} ({entry.value})"
                  if entry.dist is not None else f"module {entry.value}")
        _tag(set(MODELS) - before, source, entry.value)
        _LOADED[entry.value] = source
        sources.append(source)
    return sources


def loaded() -> tuple[str, ...]:
    """Everything loaded so far, as :func:`load` takes it (for worker processes)."""
    return tuple(_LOADED)


def _exec_file(module: str, spec) -> None:
    code = importlib.util.module_from_spec(spec)
    sys.modules[module] = code   # the code fingerprint finds its source here
    try:
        spec.loader.exec_module(code)
    except BaseException:
        del sys.modules[module]
        raise


def _import(name: str, action) -> None:
    try:
        action()
    except ModuleNotFoundError as error:
        raise EmorecError(f"plugin {name}: cannot import it ({error})") from None
    except EmorecError:
        raise
    except Exception as error:   # a plugin's own bug: say whose, keep it to one line
        raise EmorecError(f"plugin {name} failed to load: {type(error).__name__}: "
                          f"{error}") from None


def _package_source(module: str) -> str:
    top = module.split(".")[0]
    for distribution in metadata.packages_distributions().get(top, []):
        return f"package {distribution} {metadata.version(distribution)} ({module})"
    return f"module {module}"


def _tag(names: set[str], source: str, plugin: str) -> None:
    if not names:
        raise EmorecError(f"plugin {plugin} registered no model (decorate a factory with "
                          "emorec.models.model)")
    try:
        for name in sorted(names):
            check_factory(MODELS.get(name), plugin)
    except EmorecError:
        for name in names:      # a refused plugin leaves no model of its own behind
            MODELS.remove(name)
        raise
    for name in names:
        MODELS.replace(name, replace(MODELS.get(name), source=source))


def check_factory(spec, plugin: str) -> None:
    """A plugin's factory must take ``seed`` and every declared parameter but those that
    choose its input view (``window``: emorec builds the view, the factory never sees it), and
    require nothing else: said in one line when the plugin loads, not by a worker's traceback
    mid-bench."""
    signature = inspect.signature(spec.factory)
    named = signature.parameters
    open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in named.values())
    given = ["seed", *sorted(k for k in spec.declared if k not in VIEW_PARAMS)]
    lacks = [] if open_ended else [k for k in given if k not in named]
    extra = [k for k, p in named.items() if k not in given
             and p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
             and p.default is inspect.Parameter.empty]
    if lacks or extra:
        wrong = "; ".join(filter(None, [lacks and f"lacks {', '.join(lacks)}",
                                        extra and f"also requires {', '.join(extra)}"]))
        raise EmorecError(
            f"plugin {plugin}: model {spec.name!r}: its factory {spec.factory.__name__}"
            f"{signature} {wrong}: a factory is called with {', '.join(given)} (its declared "
            f"parameters less {', '.join(VIEW_PARAMS)}, which chooses the input view emorec "
            "builds)")
