"""A cell: one model with one set of params and one seed on one dataset and split, the unit a
sweep plans, fits and records; and its key, a hash of everything its numbers depend on.

A seed-free model (registered with ``seeded=False``) has one cell per dataset and params, whose
seed is ``None``: its key names no seed, so suites with other seeds share it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

SEED_FREE = "seed-free"
MAX_SEED = 2**32 - 1   # the largest seed NumPy's and PyTorch's generators all take


@dataclass(frozen=True)
class Cell:
    model: str
    params: dict
    seed: int | None      # None: a seed-free model's one cell
    key: str
    tuned_by: str = ""    # the Optuna study whose best params these are
    tuning_trials: int = 0   # that study's finished trials


def canonical_params(params: dict) -> str:
    return json.dumps(params, sort_keys=True, separators=(",", ":"))


def seed_value(seed: int | None) -> int | str:
    """A cell's seed as its key and its MLflow params record it: the number, or ``seed-free``."""
    return SEED_FREE if seed is None else seed


def seed_label(seed: int | None) -> str:
    """``seed 0``, or ``seed-free`` for a seed-free model's cell: how people read a seed."""
    return SEED_FREE if seed is None else f"seed {seed}"


def cell_key(fingerprint: str, split_hash: str, model: str, params: dict, seed: int | None,
             code_fingerprint: str, tuned_by: str = "") -> str:
    """What a cell's numbers depend on: data, split, model, params, seed (none for a seed-free
    model) and code."""
    text = (f"{fingerprint}|{split_hash}|{model}|{canonical_params(params)}"
            f"|{seed_value(seed)}|code {code_fingerprint}")
    if tuned_by:
        text += f"|tuned by {tuned_by}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]
