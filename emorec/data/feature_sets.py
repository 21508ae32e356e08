"""Feature sets of the same recordings in one suite (``[dataset] real = ["data/mine",
"data/mine-egemaps"]``): every folder an ``emorec extract`` dataset of its own name, of the same
recordings and ratings (their content hashes in the manifests), at the same frame rate and
rating delay unless the suite sets them, so that their results compare the features alone."""

from __future__ import annotations

from pathlib import Path

from emorec.data.dataset import MANIFEST_FILE
from emorec.data.manifest import Manifest
from emorec.data.resolve import existing_dataset
from emorec.errors import EmorecError


def check_feature_sets(folders: tuple[Path, ...], where: str, fps_given: bool,
                       delays_given: bool) -> None:
    """EmorecError (one line starting with ``where``) unless ``folders`` hold datasets that
    differ in their features alone."""
    manifests = {}
    for folder in folders:
        existing_dataset(folder, where)
        manifest = Manifest.from_json((folder / MANIFEST_FILE).read_text(encoding="utf-8"),
                                      str(folder / MANIFEST_FILE))
        if not manifest.source.get("extraction"):
            raise EmorecError(f"{where}: {folder} was not made by `emorec extract`; expected "
                              "datasets extracted from the same recordings (a list compares "
                              "their feature sets)")
        manifests[folder] = manifest
    (first, one), *others = manifests.items()
    names = {first: one.name}
    for folder, other in others:
        twin = next((f for f, name in names.items() if name == other.name), None)
        if twin is not None:
            raise EmorecError(f"{where}: {twin} and {folder} both hold a dataset named "
                              f"{other.name!r}; expected one name per feature set (extract "
                              "with --name)")
        names[folder] = other.name
        _same(where, first, folder, "recordings", _contents(one), _contents(other),
              "extractions of the same recordings")
        _same(where, first, folder, "ratings", _ratings(one), _ratings(other),
              "the same ratings")
        if not fps_given:
            _same(where, first, folder, "frame rates", f"{one.fps:g} fps", f"{other.fps:g} fps",
                  "the same, or fps = ... in [dataset]")
        if not delays_given:
            _same(where, first, folder, "rating delays", f"{_delay(one):g} s",
                  f"{_delay(other):g} s", "the same, or delay = [...] in [dataset]")


def _same(where: str, first: Path, folder: Path, what: str, found, other, expected: str):
    if found is not None and other is not None and found != other:
        detail = (_difference(found, other) if isinstance(found, dict)
                  else f"{found} and {other}")
        raise EmorecError(f"{where}: {first} and {folder} differ in their {what} ({detail}); "
                          f"expected {expected}")


def _contents(manifest: Manifest) -> dict | None:
    """Recording -> the sha256 of its media; None for an extraction that kept none."""
    recordings = manifest.source["extraction"].get("recordings") or {}
    contents = {name: facts.get("sha256") for name, facts in recordings.items()
                if isinstance(facts, dict)}
    return contents if contents and None not in contents.values() else None


def _ratings(manifest: Manifest) -> str | None:
    return manifest.source["extraction"].get("labels", {}).get("sha256")


def _delay(manifest: Manifest) -> float:
    return float(manifest.source["extraction"].get("labels", {}).get("delay_s", 0.0))


def _difference(first: dict, other: dict) -> str:
    only_first = sorted(set(first) - set(other))
    only_other = sorted(set(other) - set(first))
    changed = sorted(name for name in set(first) & set(other) if first[name] != other[name])
    parts = [f"{label}: {', '.join(names[:3])}{' ...' if len(names) > 3 else ''}"
             for label, names in (("only in the first", only_first),
                                  ("only in the other", only_other),
                                  ("other content", changed)) if names]
    return "; ".join(parts)
