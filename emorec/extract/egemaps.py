"""eGeMAPS acoustic features (openSMILE's eGeMAPSv02, as AVEC 2018/2019 and the MuSe baselines
ship them) per audio window, behind the same interface as the speech model
(:class:`emorec.extract.voice_model.VoiceModel`: ``rate``, ``dim``, ``provenance``, ``pooling``,
``per_window`` or ``frames`` + ``pool``), so that extraction's window loop serves both.

- ``egemaps``: the 88 functionals of each window, openSMILE run on the window's samples alone
  (``per-window`` pass);
- ``egemaps-lld``: the 25 low-level descriptors (10 ms hop) computed once over the whole
  recording, then averaged over the frames whose centre lies in each window (``whole`` pass).

openSMILE (the ``opensmile`` package, emorec's ``egemaps`` extra) is free for research and
non-commercial use only, so no default install brings it.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emorec.errors import EmorecError
from emorec.extract.model_loading import sha256_file
from emorec.extract.voice_model import VoiceModel, window_slices
from emorec.system import extras

AUDIO_FEATURES = ("embedding", "egemaps", "egemaps-lld")
FEATURE_SET = "eGeMAPSv02"
LEVELS = {"egemaps": "functionals", "egemaps-lld": "lld"}
PASSES = {"embedding": None, "egemaps": "per-window", "egemaps-lld": "whole"}   # None: either
RATE = 16000   # Hz: the signal openSMILE hears, decoded and mixed to mono at this rate
# Shortest window: openSMILE gives no functionals (NaN) for a segment of 0.05 s, and a window
# under 10 ms holds no descriptor frame; 0.1 s leaves room above both.
MIN_WINDOW_S = 0.1
_INCLUDE = re.compile(r"^\\\{([^\\}]+)\}", re.MULTILINE)   # \{file} in an openSMILE config


def audio_pass(features: str, given: str | None) -> str:
    """The audio pass ``features`` use: ``given`` (default per-window) for the speech model,
    the one way each eGeMAPS level is computed otherwise; EmorecError for another."""
    if features not in AUDIO_FEATURES:
        raise EmorecError(f"--audio-features: expected {', '.join(AUDIO_FEATURES)}, found "
                          f"{features!r}")
    fixed = PASSES[features]
    if fixed is None:
        return given or "per-window"
    if given not in (None, fixed):
        raise EmorecError(f"--audio-features {features} is computed with --audio-pass {fixed} "
                          f"only, found --audio-pass {given}")
    return fixed


def check_windows(features: str, windows) -> None:
    """EmorecError for an eGeMAPS window shorter than :data:`MIN_WINDOW_S`."""
    short = [w for w in windows if w < MIN_WINDOW_S]
    if features != "embedding" and short:
        raise EmorecError(f"--windows {min(short):g}: eGeMAPS windows must be at least "
                          f"{MIN_WINDOW_S:g} s long (openSMILE gives no functionals for "
                          "shorter ones)")


def voice_model(features: str, given_pass: str, reference: str, device: str, layer: int,
                batch_size: int):
    """What turns a recording's sound into window rows: the speech model or eGeMAPS (checked
    against the audio pass before any work)."""
    audio_pass(features, given_pass)
    if features == "embedding":
        return VoiceModel(reference, device, layer, batch_size)
    return Egemaps(LEVELS[features])


@dataclass
class Egemaps:
    """openSMILE's eGeMAPSv02 at one level (``functionals`` or ``lld``) per window."""

    level: str
    rate: int = RATE
    smile: object = field(init=False, repr=False)

    def __post_init__(self):
        extras.require("opensmile", "eGeMAPS features (--audio-features egemaps)")
        import opensmile

        levels = {"functionals": opensmile.FeatureLevel.Functionals,
                  "lld": opensmile.FeatureLevel.LowLevelDescriptors}
        self.smile = opensmile.Smile(feature_set=opensmile.FeatureSet.eGeMAPSv02,
                                     feature_level=levels[self.level])
        self.names = list(self.smile.feature_names)
        self.dim = len(self.names)
        self.pooling = ("openSMILE functionals of the window" if self.level == "functionals"
                        else "mean over the frames centred in the window")
        self.provenance = {"id": f"opensmile:{FEATURE_SET}", "feature_set": FEATURE_SET,
                           "level": self.level, "rate": self.rate, "dim": self.dim,
                           **smile_provenance(self.smile), "features": self.names}

    def per_window(self, signal: np.ndarray, starts: np.ndarray, length: float) -> np.ndarray:
        """Functionals: openSMILE run on each window's samples alone."""
        if self.level != "functionals":
            raise EmorecError("eGeMAPS low-level descriptors are pooled from one pass over the "
                              "recording (--audio-pass whole)")
        out = np.zeros((len(starts), self.dim), np.float32)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "Segment too short", UserWarning)
            for row, piece in enumerate(window_slices(signal, self.rate, starts, length)):
                out[row] = self.smile.process_signal(piece, self.rate).to_numpy()[0]
        if not np.isfinite(out).all():
            raise EmorecError(f"--windows {length:g}: openSMILE gives no eGeMAPS functionals "
                              f"for windows this short (at least {MIN_WINDOW_S:g} s)")
        return out

    def frames(self, signal: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Low-level descriptors of the whole recording: every frame's values and centre time."""
        if self.level != "lld":
            raise EmorecError("eGeMAPS functionals are computed per window (--audio-pass "
                              "per-window)")
        table = self.smile.process_signal(signal, self.rate)
        start = table.index.get_level_values("start").total_seconds().to_numpy()
        end = table.index.get_level_values("end").total_seconds().to_numpy()
        return table.to_numpy(np.float32), (start + end) / 2

    pool = staticmethod(VoiceModel.pool)


def smile_provenance(smile) -> dict:
    """The opensmile package's version, and the sha256 of its native library and of the config
    files the feature set reads (the Python package does not report the library's own
    version)."""
    import opensmile

    root = Path(smile.default_config_root).resolve()
    config = Path(smile.config_path).resolve()
    library = sorted(Path(opensmile.__file__).parent.glob("core/bin/*/*SMILEapi*"))
    return {"opensmile": opensmile.__version__,
            "library_sha256": {p.name: sha256_file(p) for p in library},
            "config": config.relative_to(root).as_posix(),
            "config_sha256": {p.relative_to(root).as_posix(): sha256_file(p)
                              for p in _config_files(config)}}


def _config_files(config: Path) -> list[Path]:
    """The config file and the files it includes, recursively (``\\{file}`` lines)."""
    seen, todo = [], [config.resolve()]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.append(path)
        todo += [(path.parent / name).resolve() for name in
                 _INCLUDE.findall(path.read_text(encoding="utf-8", errors="replace"))]
    return sorted(seen)
