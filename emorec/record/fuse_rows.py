"""Late-fusion rows (``emorec fuse``, a suite's ``[[fuse]]``): chosen rows' kept predictions
combined by :mod:`emorec.late_fusion`, recorded as rows of their own (model ``late_fusion``)
and ranked like any other. Components pair by seed: seed k of each seeded component with seed k
of the others and with the one row of a seed-free one."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from emorec import late_fusion
from emorec.cells import canonical_params, seed_label
from emorec.code_fingerprint import model_fingerprint
from emorec.display import format_value
from emorec.errors import EmorecError
from emorec.record import derived
from emorec.store import facts, predictions

MODEL = "late_fusion"
FAMILY = "late fusion"


def component_rows(current: pd.DataFrame, model: str, params: dict) -> pd.DataFrame:
    """The current untuned rows of ``model`` with ``params`` resolved by its registration."""
    from emorec.models import MODELS

    if model not in MODELS:
        raise EmorecError(f"late fusion: unknown model {model!r} (emorec models lists them)")
    resolved = canonical_params(MODELS.get(model).params(params))
    rows = current[(current["model"] == model) & (current["params"] == resolved)
                   & (current["tuned_by"] == "")]
    if rows.empty:
        raise EmorecError(f"late fusion: no rows of {model} {canonical_params(params)} for "
                          "this dataset; run its suite first")
    return rows


def fuse(results_dir: Path, dataset: str, suite: str, fusions: list[tuple[list, list]], *,
         tracking_uri: str, timeout: float) -> tuple[list[derived.DerivedRow], list[str]]:
    """Plan and record the late-fusion rows of ``fusions`` (each: (model, params) components
    and methods) on the dataset's current rows; returns the rows and the keys made now (a row
    recorded before is not made again)."""
    context, current = derived.current_context(results_dir, dataset, suite)
    models = facts.load_models(results_dir)
    rows = [row for components, methods in fusions
            for row in plan_rows(results_dir, dataset, current, components, methods, models)]
    return rows, derived.record(results_dir, context, rows, tracking_uri=tracking_uri,
                                timeout=timeout)


def plan_rows(results_dir, dataset: str, current: pd.DataFrame, components: list[tuple],
              methods: list[str], models: dict[str, facts.ModelFacts]
              ) -> list[derived.DerivedRow]:
    """The late-fusion rows of ``components`` ((model, params) pairs, at least two) for each
    method and seed; ``models``: the models' facts, which say whether a component reads
    future frames."""
    if len(components) < 2:
        raise EmorecError("late fusion needs at least two rows to fuse")
    unknown = sorted(set(methods) - set(late_fusion.METHODS))
    if unknown:
        raise EmorecError("late fusion: method must be one of "
                          f"{', '.join(late_fusion.METHODS)}, found {unknown[0]!r}")
    found = [component_rows(current, model, params) for model, params in components]
    seeded = [set(rows["seed"].dropna().astype(int)) for rows in found
              if rows["seed"].notna().any()]
    seeds = sorted(set.intersection(*seeded)) if seeded else [None]
    if not seeds:
        raise EmorecError("late fusion: the seeded rows share no seed")
    described = [[model, _shown_params(rows.iloc[0])]
                 for (model, _), rows in zip(components, found, strict=True)]
    offline = any(model in models and models[model].offline(json.loads(rows["params"].iloc[0]))
                  for (model, _), rows in zip(components, found, strict=True))
    modality = "+".join(sorted({rows["modality"].iloc[0] for rows in found}))
    fingerprint = model_fingerprint(late_fusion.__name__)
    planned = []
    for seed in seeds:
        keys = _keys(found, seed)
        kept = [predictions.load(results_dir, dataset, key) for key in keys]
        if any(part is None for part in kept):
            missing = keys[[part is None for part in kept].index(True)]
            raise EmorecError(f"late fusion: cell {missing} kept no predictions (rows written "
                              "before predictions were kept); rerun its suite")
        for method in methods:
            key = fused_key(method, keys, fingerprint)
            planned.append(derived.DerivedRow(
                model=MODEL, family=FAMILY, modality=modality, source="emorec",
                params={"method": method, "of": described}, seed=seed, cell_key=key,
                code_fingerprint=fingerprint, by_partition=late_fusion.combine(method, kept),
                offline=offline))
    return planned


def _keys(found: list[pd.DataFrame], seed: int | None) -> list[str]:
    """The components' cell keys for one seed (a seed-free component's one row)."""
    return [(rows[rows["seed"] == seed] if rows["seed"].notna().any() else rows)
            ["cell_key"].iloc[0] for rows in found]


def fused_key(method: str, keys: list[str], fingerprint: str) -> str:
    return hashlib.sha256(json.dumps([MODEL, method, keys, fingerprint]).encode()
                          ).hexdigest()[:16]


def staleness(current: pd.DataFrame, row: pd.Series) -> str:
    """Why a late-fusion row is not what its components' current rows and today's fusion code
    give, or ""."""
    params = json.loads(row["params"])
    try:
        found = [component_rows(current, model, given) for model, given in params["of"]]
        seed = None if pd.isna(row["seed"]) else int(row["seed"])
        keys = _keys(found, seed)
    except (EmorecError, IndexError, KeyError, ValueError):
        return "a fused row is no longer among the current rows"
    if fused_key(params["method"], keys, model_fingerprint(late_fusion.__name__)) != row[
            "cell_key"]:
        return ("its components were rerun or the fusion code changed; make it again "
                "(emorec fuse, or the suite's bench)")
    return ""


# Params a component is named by beside the ones that differ from its model's defaults.
NAMING_PARAMS = ("window", "pooling", "direction")


def _shown_params(row: pd.Series) -> dict:
    params, variant = json.loads(row["params"]), json.loads(row["variant"])
    return {name: value for name, value in params.items()
            if name in variant or name in NAMING_PARAMS}


def describe(row: derived.DerivedRow) -> str:
    """``late_fusion blend of gru (pooling=avg, window=1) + ... seed 0``."""
    return (f"{MODEL} {row.params['method']} of {format_value(row.params['of'])} "
            f"{seed_label(row.seed)}")
