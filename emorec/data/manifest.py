"""A dataset's manifest (``manifest.json``): its name, origin (real | stand-in), frame rate,
label scale and range, embedding and audio dimensions, audio window lengths, the sessions the
feature extractor was trained on, how it was made and its content fingerprint; read from JSON and
checked field by field, so that a bad value is refused naming the field.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

from emorec.errors import DataError
from emorec.vocabulary import ORIGINS, TARGETS

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Manifest:
    name: str
    origin: str
    fps: float
    embedding_dim: int
    audio_dim: int
    audio_windows: tuple[float, ...]
    label_scale: float = 1.0
    label_range: tuple[float, float] = (-1.0, 1.0)
    targets: tuple[str, ...] = TARGETS
    has_oracle: bool = False
    extractor_train: tuple[str, ...] = ()   # sessions the feature extractor saw; () = not given
    fingerprint: str = ""
    source: dict = field(default_factory=dict)
    schema_version: int = SCHEMA_VERSION

    @property
    def is_stand_in(self) -> bool:
        return self.origin == "stand-in"

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str) -> Manifest:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as error:
            raise DataError(source, f"not valid JSON ({error})") from None
        if not isinstance(raw, dict):
            raise DataError(source, "not a manifest", expected="a JSON object",
                            found=type(raw).__name__)
        known = set(cls.__dataclass_fields__)
        missing = [name for name in ("name", "origin", "fps", "embedding_dim", "audio_dim",
                                     "audio_windows") if name not in raw]
        if missing:
            raise DataError(source, "missing manifest fields", expected=", ".join(missing))
        unknown = sorted(set(raw) - known)
        if unknown:
            raise DataError(source, "unknown manifest fields", found=", ".join(unknown))
        if raw.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
            raise DataError(source, "unsupported manifest schema_version",
                            expected=str(SCHEMA_VERSION), found=str(raw["schema_version"]))
        for name in ("audio_windows", "label_range", "targets", "extractor_train"):
            if name in raw and not isinstance(raw[name], list):
                raise DataError(source, "not a list", column=name, found=repr(raw[name]))
            if name in raw:
                raw[name] = tuple(raw[name])
        manifest = cls(**raw)
        manifest.check(source)
        return manifest

    def check(self, source: str) -> None:
        """Every field has a usable value; DataError naming the field otherwise."""
        def fail(field_name, expected):
            raise DataError(source, "bad manifest value", column=field_name, expected=expected,
                            found=repr(getattr(self, field_name)))

        if not isinstance(self.name, str) or not self.name.strip():
            fail("name", "a non-empty name")
        if self.origin not in ORIGINS:
            fail("origin", " or ".join(ORIGINS))
        for name in ("fps", "label_scale"):
            if not positive_number(getattr(self, name)):
                fail(name, "a finite number > 0")
        for name in ("embedding_dim", "audio_dim"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                fail(name, "a whole number >= 1")
        if not all(positive_number(w) for w in self.audio_windows):
            fail("audio_windows", "window lengths in seconds, finite and > 0")
        bounds = self.label_range
        if len(bounds) != 2 or not all(_number(v) for v in bounds) or bounds[0] >= bounds[1]:
            fail("label_range", "[low, high] with low < high")
        if tuple(self.targets) != TARGETS:
            fail("targets", f"{list(TARGETS)}")
        if not isinstance(self.source, dict):
            fail("source", "a JSON object")
        if not all(isinstance(session, str) for session in self.extractor_train):
            fail("extractor_train", "a list of session ids")


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def positive_number(value) -> bool:
    """A finite int or float above 0 (not a bool)."""
    return _number(value) and value > 0
