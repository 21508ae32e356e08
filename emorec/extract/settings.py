"""The settings of one ``emorec extract`` run: the input layout, the frame rate, the face
detector, crop margin and gap bridging, the face and speech models (layer, pass over the sound,
audio features), the window lengths, batch size and device, and the ratings (file, scale,
delay); checked before any work, an EmorecError in one line otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from emorec.errors import EmorecError
from emorec.extract.face_model import DEFAULT_FACE_MODEL
from emorec.extract.voice_model import AUDIO_PASSES, DEFAULT_AUDIO_MODEL

DEFAULT_WINDOWS = (1.0, 2.0, 3.0, 4.0)


@dataclass(frozen=True)
class Settings:
    layout: str
    fps: float = 5.0
    detector: str = "mtcnn"
    bridge: float = 0.0     # seconds: a frame without a face between two faces this near takes
                            # the box interpolated between them (0: off)
    margin: float = 0.2
    face_model: str = DEFAULT_FACE_MODEL
    audio_model: str = DEFAULT_AUDIO_MODEL
    layer: int = -1
    windows: tuple[float, ...] = DEFAULT_WINDOWS
    audio_pass: str = "per-window"
    audio_features: str = "embedding"   # or egemaps, egemaps-lld (emorec.extract.egemaps)
    audio: bool = True
    batch_size: int = 32
    device: str = "auto"
    labels: Path | None = None
    label_scale: float | None = None
    label_delay: float = 0.0
    source_fps: float | None = None     # frame-image folders: the rate they were taken at


def check_settings(settings: Settings, jobs: int) -> None:
    if not settings.fps > 0:
        raise EmorecError(f"--fps must be more than 0, found {settings.fps}")
    if settings.audio_pass not in AUDIO_PASSES:
        raise EmorecError(f"--audio-pass: expected {' or '.join(AUDIO_PASSES)}, found "
                          f"{settings.audio_pass!r}")
    if not settings.windows or not all(w > 0 for w in settings.windows):
        raise EmorecError(f"--windows: expected window lengths in seconds > 0, found "
                          f"{settings.windows}")
    if settings.batch_size < 1 or jobs < 1:
        raise EmorecError("--batch-size and --jobs must be at least 1")
    if settings.margin < 0:
        raise EmorecError("--margin must be at least 0")
    if not settings.bridge >= 0:
        raise EmorecError(f"--bridge must be at least 0 seconds, found {settings.bridge}")
