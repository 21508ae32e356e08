"""A cell: one model with one set of params and one seed on one dataset and split, the unit a
sweep plans, fits and records; and its key, a hash of everything its numbers depend on."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Cell:
    model: str
    params: dict
    seed: int
    key: str
    tuned_by: str = ""    # the Optuna study whose best params these are
    tuning_trials: int = 0   # that study's finished trials


def canonical_params(params: dict) -> str:
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


def cell_key(fingerprint: str, split_hash: str, model: str, params: dict, seed: int,
             code_fingerprint: str, tuned_by: str = "") -> str:
    """What a cell's numbers depend on: data, split, model, params, seed and code."""
    text = (f"{fingerprint}|{split_hash}|{model}|{canonical_params(params)}|{seed}"
            f"|code {code_fingerprint}")
    if tuned_by:
        text += f"|tuned by {tuned_by}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]
