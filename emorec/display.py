"""How params and windows are written for people: one formatter for tables, figures and the
summary, so a variant reads the same everywhere."""

from __future__ import annotations

import json

# The chance and oracle rows, as every table names them.
FLOOR_NAMES = {"chance": "chance floor (training mean)",
               "session_mean": "session mean (each test session's own mean rating, an oracle)",
               "oracle": "noise ceiling (noise-free rating)"}


def format_number(value: float) -> str:
    """3 decimals, and no "-0.000"; a dash for a value a row lacks (NaN)."""
    value = float(value)
    return "—" if value != value else f"{round(value, 3) + 0.0:.3f}"


def format_value(value) -> str:
    """Floats to 3 significant digits (1.0 as 1); a late fusion's components (``[[model,
    params], ...]``) as ``gru (window=1) + audio_ffnn (window=1)``; everything else as
    written."""
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, list) and all(isinstance(v, list) and len(v) == 2 for v in value):
        return " + ".join(f"{model} ({format_params(params)})" if params else str(model)
                          for model, params in value)
    return str(value)


def format_params(params: dict | str, omit: tuple[str, ...] = ()) -> str:
    """``k=v, k=v`` sorted by name; ``params`` as a dict or its JSON text."""
    if isinstance(params, str):
        params = json.loads(params)
    return ", ".join(f"{k}={format_value(v)}" for k, v in sorted(params.items()) if k not in omit)


def format_window(window) -> str:
    """``2 s``, or empty for a model without a window."""
    return "" if window is None or window != window else f"{float(window):g} s"


# Shown params whose values read without their name (``2 s``, ``avg``); any other is written
# ``name=value``.
NAMELESS_SHOWN = ("window", "pooling")


def format_shown(name: str, value) -> str:
    """A shown param's value as its column writes it: a window in seconds, a pooling as
    written, any other param as ``name=value``."""
    if name == "window":
        return format_window(value)
    if value is None:
        return ""
    return str(value) if name in NAMELESS_SHOWN else f"{name}={format_value(value)}"


def describe_variant(model: str, variant: dict | str, shown: dict | None = None) -> str:
    """``gru 2 s avg epochs=5``: the model, its shown params' values (``shown``: name -> value,
    as the model's facts list them), then the other params that differ from the defaults."""
    if isinstance(variant, str):
        variant = json.loads(variant)
    shown = shown or {}
    others = format_params(variant, omit=tuple(shown))
    return " ".join(part for part in (model, *(format_shown(name, value)
                                               for name, value in shown.items()), others)
                    if part)
