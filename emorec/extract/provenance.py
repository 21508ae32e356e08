"""What made an extracted dataset, as its manifest records it (and its fingerprint covers): the
frame rate, the face model and detector settings, the speech model and its windows and pass, the
batch size and device, the library versions (FFmpeg inside PyAV included), and each recording's
content hash and source frame rate; and whether an output folder already holds the dataset these
would make.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import numpy as np

from emorec.data.dataset import MANIFEST_FILE
from emorec.extract.settings import Settings
from emorec.extract.voice_model import CHUNK_S, CONTEXT_S, VoiceModel


def provenance(settings: Settings, face_model, voice_model, detector, device: str) -> dict:
    """How the run makes its dataset: the record the cache key and the manifest hold."""
    import av
    import cv2
    import torch
    import transformers

    detection = detector.settings()
    if settings.bridge:     # recorded only when on: datasets made before it stay up to date
        detection["bridge_s"] = settings.bridge
    made = {
        "fps": settings.fps,
        "face": {"model": face_model.provenance, "detector": detection,
                 "margin": settings.margin, "one_face": "largest"},
        "audio": None,
        "batch_size": settings.batch_size,
        "device": device,
        "libraries": {"av": av.__version__, "ffmpeg": _ffmpeg_build(av), "cv2": cv2.__version__,
                      "transformers": transformers.__version__, "torch": torch.__version__,
                      "numpy": np.__version__, "python": platform.python_version()},
    }
    if settings.source_fps:
        made["source_fps"] = settings.source_fps
    if voice_model is not None:
        made["audio"] = {"model": voice_model.provenance,
                         "windows": [float(w) for w in settings.windows], "hop": "L/2",
                         "pass": settings.audio_pass, "pooling": voice_model.pooling}
        if settings.audio_pass == "whole" and isinstance(voice_model, VoiceModel):
            made["audio"]["chunk_s"], made["audio"]["context_s"] = CHUNK_S, CONTEXT_S
    return made


def _ffmpeg_build(av) -> str:
    """The FFmpeg inside PyAV: its version and its libraries' versions."""
    libraries = ", ".join(f"{name} {'.'.join(map(str, version))}"
                          for name, version in sorted(av.library_versions.items()))
    return f"{getattr(av, 'ffmpeg_version_info', '?')} ({libraries})"


def up_to_date(out: Path, extraction: dict, name: str, trained_on: tuple) -> bool:
    """Whether ``out`` holds this very dataset: the same name, settings, recordings (their
    content hashes), ratings (content) and extractor-train sessions."""
    path = out / MANIFEST_FILE
    if not path.is_file():
        return False
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError:
        return False
    # The manifest went through JSON; so must the new settings to compare (tuples -> lists).
    return (manifest.get("name") == name
            and list(manifest.get("extractor_train", [])) == list(trained_on)
            and manifest.get("source", {}).get("extraction") == json.loads(
                json.dumps(extraction)))


def recording_facts(content: str, probe: dict, recording, settings: Settings) -> dict:
    facts = {"sha256": content, "source_fps": round(probe["rate"], 6) if probe["rate"] else None}
    if recording.audio is not None and settings.audio:
        facts["audio_offset_s"] = probe["offset"]
    return facts
