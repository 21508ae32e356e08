"""How params and windows are written for people: one formatter for tables, figures and the
summary, so a variant reads the same everywhere."""

from __future__ import annotations

import json

# The reference rows, as every table names them.
FLOOR_NAMES = {"chance": "chance floor (training mean)",
               "oracle": "noise ceiling (noise-free rating)"}


def format_number(value: float) -> str:
    """3 decimals, and no "-0.000"."""
    return f"{round(float(value), 3) + 0.0:.3f}"


def describe_row(entry) -> str:
    """:func:`describe_variant` of a results row or leaderboard entry (model, params, variant)."""
    params = json.loads(entry["params"])
    return describe_variant(entry["model"], entry["variant"], params.get("window"),
                            params.get("pooling"))


def format_value(value) -> str:
    """Floats to 3 significant digits (1.0 as 1), everything else as written."""
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def format_params(params: dict | str, omit: tuple[str, ...] = ()) -> str:
    """``k=v, k=v`` sorted by name; ``params`` as a dict or its JSON text."""
    if isinstance(params, str):
        params = json.loads(params)
    return ", ".join(f"{k}={format_value(v)}" for k, v in sorted(params.items()) if k not in omit)


def format_window(window) -> str:
    """``2 s``, or empty for a model without a window."""
    return "" if window is None or window != window else f"{float(window):g} s"


def describe_variant(model: str, variant: dict | str, window=None, pooling=None) -> str:
    """``gru 2 s avg epochs=5``: model, window, pooling and the other non-default params."""
    if isinstance(variant, str):
        variant = json.loads(variant)
    window = variant.get("window") if window is None else window
    pooling = variant.get("pooling") if pooling is None else pooling
    others = format_params(variant, omit=("window", "pooling"))
    return " ".join(part for part in (model, format_window(window), pooling or "", others)
                    if part)
