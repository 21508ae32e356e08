"""``models.json`` beside the result files: each model's facts (family, modality, source, the
params shown in their own columns, what makes it offline, the thesis's names for it), written by
the bench for every registered model, so that the leaderboard renders from the results folder
alone, without the model zoo or any parameter name."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from emorec.errors import DataError
from emorec.files import read_json, replace_file

FACTS_FILE = "models.json"


@dataclass(frozen=True)
class ModelFacts:
    columns: tuple[str, ...] = ()
    offline_when: tuple[tuple[str, object], ...] = ()
    thesis_names: tuple[str, ...] = ()

    def shown(self, params: dict) -> dict:
        """The shown params' values (None where a row lacks one)."""
        return {name: params.get(name) for name in self.columns}

    def offline(self, params: dict) -> bool:
        return any(params.get(name) == value for name, value in self.offline_when)


def facts_path(results_dir: Path) -> Path:
    return Path(results_dir) / FACTS_FILE


def read_raw(results_dir: Path) -> dict[str, dict]:
    path = facts_path(results_dir)
    if not path.is_file():
        return {}
    raw = read_json(path, "a model facts file written by emorec bench")
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise DataError(path, "not a model facts file", expected="an object of model objects")
    return raw


def load(results_dir: Path) -> dict[str, ModelFacts]:
    """Model -> facts; a model without facts shows no params in columns of their own."""
    return {model: ModelFacts(tuple(raw.get("columns", ())),
                              tuple(tuple(pair) for pair in raw.get("offline_when", ())),
                              tuple(raw.get("thesis_names", ())))
            for model, raw in read_raw(results_dir).items()}


def write(results_dir: Path, facts: dict[str, dict]) -> None:
    """Add or update ``facts`` (model -> facts) in the folder's file, atomically."""
    merged = {**read_raw(results_dir), **facts}
    text = json.dumps(dict(sorted(merged.items())), indent=1, sort_keys=True) + "\n"
    if facts_path(results_dir).is_file() and facts_path(results_dir).read_text() == text:
        return
    replace_file(facts_path(results_dir), lambda partial: partial.write_text(text))
