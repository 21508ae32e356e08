"""Facts beside the result files, written by the bench, so that leaderboards render from the
results folder alone, without the model zoo, any parameter name or the datasets themselves:

- ``models.json``: each registered model's facts (family, modality, source, description, the
  params shown in their own columns, what makes it offline, the thesis's names for it);
- ``datasets.json``: each dataset's facts (origin, how it was made and, when it was extracted
  from recordings, its rating delay, frame rate, face and audio features and a digest of its
  recordings and ratings: datasets with the same digest are feature sets of the same data).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from emorec.errors import DataError
from emorec.system.files import read_json, replace_file

MODELS_FILE = "models.json"
DATASETS_FILE = "datasets.json"


@dataclass(frozen=True)
class ModelFacts:
    """A model's entry in ``models.json``: a registered model's
    (:meth:`emorec.models.base.ModelSpec.facts`) or that of rows made from kept predictions (late
    fusion, external predictions: :meth:`emorec.record.derived.DerivedRow.model_facts`)."""
    columns: tuple[str, ...] = ()
    offline_when: tuple[tuple[str, object], ...] = ()   # (param, value): reads future frames
    thesis_names: tuple[str, ...] = ()
    description: str = ""   # the registration's first paragraph; empty for derived rows' models
    family: str = ""
    modality: str = ""
    source: str = ""

    def shown(self, params: dict) -> dict:
        """The shown params' values (None where a row lacks one)."""
        return {name: params.get(name) for name in self.columns}

    def offline(self, params: dict) -> bool:
        return any(params.get(name) == value for name, value in self.offline_when)


def read_raw(results_dir: Path, name: str = MODELS_FILE) -> dict[str, dict]:
    path = Path(results_dir) / name
    if not path.is_file():
        return {}
    raw = read_json(path, "a facts file written by emorec bench")
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise DataError(path, "not a facts file", expected="an object of objects, one per name")
    return raw


def load_models(results_dir: Path) -> dict[str, ModelFacts]:
    """Model -> facts; a model without facts shows no params in columns of their own."""
    return {model: ModelFacts(tuple(raw.get("columns", ())),
                              tuple(tuple(pair) for pair in raw.get("offline_when", ())),
                              tuple(raw.get("thesis_names", ())),
                              *(str(raw.get(name, "")) for name in (
                                  "description", "family", "modality", "source")))
            for model, raw in read_raw(results_dir, MODELS_FILE).items()}


def write_models(results_dir: Path, models: dict[str, ModelFacts]) -> None:
    """Add or update ``models`` (name -> facts) in the folder's ``models.json``."""
    write(results_dir, {name: asdict(facts) for name, facts in models.items()}, MODELS_FILE)


def load_datasets(results_dir: Path) -> dict[str, dict]:
    """Dataset name -> its facts (``{}`` for datasets benched before facts were kept)."""
    return read_raw(results_dir, DATASETS_FILE)


def write(results_dir: Path, facts: dict[str, dict], name: str = MODELS_FILE) -> None:
    """Add or update ``facts`` (name -> facts) in the folder's file ``name``, atomically."""
    path = Path(results_dir) / name
    merged = {**read_raw(results_dir, name), **facts}
    text = json.dumps(dict(sorted(merged.items())), indent=1, sort_keys=True) + "\n"
    if path.is_file() and path.read_text() == text:
        return
    replace_file(path, lambda partial: partial.write_text(text))


def dataset_facts(manifest) -> dict:
    """What the leaderboard says about a dataset (a dataset Manifest): origin, how it was made
    and, for one extracted from recordings, its rating delay, frame rate, features and
    recordings."""
    source = manifest.source
    extraction = source.get("extraction")
    if extraction:
        made_by = "emorec extract"
    elif "generator" in source:
        made_by = "emorec data synth"
    else:
        made_by = "emorec data import"
    facts = {"origin": manifest.origin, "made_by": made_by}
    if extraction:
        facts["label_delay_s"] = float(extraction.get("labels", {}).get("delay_s", 0.0))
        facts["fps"] = float(manifest.fps)
        facts["face_features"] = model_name((extraction.get("face") or {}).get("model"))
        facts["audio_features"] = model_name((extraction.get("audio") or {}).get("model"))
        facts["recordings"] = recordings_digest(extraction)
    return facts


def model_name(provenance: dict | None) -> str:
    """A feature extractor as a person names it, from its provenance in a manifest: eGeMAPS
    with its level, a model's id with its layer when one was chosen, ``none`` when absent."""
    if not provenance:
        return "none"
    if "feature_set" in provenance:
        level = provenance.get("level")
        name = "egemaps" if level == "functionals" else f"egemaps-{level}"
        return f"{name} ({provenance['feature_set']} {LEVEL_NAMES.get(level, level)})"
    layer = provenance.get("layer")
    return f"{provenance.get('id', '?')}{f' layer {layer}' if layer is not None else ''}"


LEVEL_NAMES = {"functionals": "functionals", "lld": "low-level descriptors"}


def recordings_digest(extraction: dict) -> str:
    """16 hex digits of the recordings' content hashes and the ratings' hash: the same for every
    extraction of the same recordings and ratings, whatever the features."""
    contents = {name: facts.get("sha256") for name, facts in
                sorted(extraction.get("recordings", {}).items())}
    ratings = extraction.get("labels", {}).get("sha256")
    text = json.dumps({"recordings": contents, "ratings": ratings}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
