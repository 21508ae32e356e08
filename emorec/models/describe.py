"""A registered model described for people and programs (``emorec models`` and its ``--json``):
metadata (whether its fit depends on the seed included), what its leaderboard rows show, each
parameter's default, accepted values and tuned range, and the thesis grid."""

from __future__ import annotations

import textwrap

from tabulate import tabulate


def model_record(spec) -> dict:
    """A model's metadata, defaults and search space as plain data."""
    return {"name": spec.name, "family": spec.family, "modality": spec.modality,
            "view": spec.view, "source": spec.source, "seeded": spec.seeded,
            "description": spec.description, "columns": list(spec.columns),
            "offline_when": [list(pair) for pair in spec.offline_when],
            "thesis_names": list(spec.thesis_names),
            "params": {name: {"default": param.default, "accepts": param.describe(),
                              "tune": search_range(param)}
                       for name, param in spec.declared.items()},
            "grid": spec.grid}


def search_range(param) -> dict | None:
    """What a tuning study samples: {low, high, log} for numbers, {choices} for a choice."""
    if param.tune in (None, False):
        return None
    if param.kind == "choice":
        return {"choices": list(param.choices if param.tune is True else param.tune)}
    low, high = param.tune
    return {"low": low, "high": high, "log": param.log}


def render_model(record: dict) -> str:
    """One model's block: a header, its description and grid, and a table of its params."""
    origin = "" if record["source"] == "emorec" else f", from {record['source']}"
    seed_free = "" if record["seeded"] else ", seed-free: fitted once for all seeds"
    lines = [f"{record['name']}  (family {record['family']}, modality {record['modality']}, "
             f"input {record['view']}{seed_free}{origin})",
             textwrap.fill(record["description"], width=100, initial_indent="  ",
                           subsequent_indent="  ")]
    shows = [f"columns for {', '.join(record['columns'])}" if record["columns"] else "",
             "offline when " + " or ".join(f"{param} = {_text(value)}"
                                           for param, value in record["offline_when"])
             if record["offline_when"] else "",
             f"the thesis calls it {', '.join(record['thesis_names'])}" if record["thesis_names"]
             else ""]
    if any(shows):
        lines.append("  leaderboard: " + "; ".join(part for part in shows if part))
    if record["grid"]:
        lines.append("  suite grid: " + "; ".join(
            f"{name} = {', '.join(map(_text, values))}" for name, values in record["grid"].items()))
    if not record["params"]:
        return "\n".join([*lines, "  no parameters"])
    rows = [[name, _text(p["default"]), p["accepts"], _range_text(p["tune"])]
            for name, p in record["params"].items()]
    table = tabulate(rows, headers=["param", "default", "accepts", "tuned range"],
                     disable_numparse=True)
    return "\n".join([*lines, "", textwrap.indent(table, "  ")])


def _range_text(search: dict | None) -> str:
    if search is None:
        return "-"
    if "choices" in search:
        return ", ".join(map(_text, search["choices"]))
    return f"{search['low']:g} .. {search['high']:g}" + (" (log)" if search["log"] else "")


def _text(value) -> str:
    return "null" if value is None else str(value)
