"""``emorec extract``: recordings -> a dataset folder.

For each recording: frames decoded at their timestamps and sampled at ``fps``; the largest face
of each frame detected, cropped and embedded (a frame without a face is a gap: counted, no
row); the sound decoded at the speech model's rate and embedded per window of each length
(hop L/2); the result cached (:mod:`emorec.extract.cache`). Then the ratings are aligned to the
frame times (:mod:`emorec.data.label_align`) and the dataset is written whole, with the raw
ratings and the provenance of every setting in its manifest (and fingerprint).
"""

from __future__ import annotations

import json
import logging
import platform
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from emorec.data.dataset import MANIFEST_FILE, Dataset, Manifest
from emorec.data.label_align import align
from emorec.data.thesis_csv import extractor_sessions
from emorec.data.validation import audio_columns, embedding_columns
from emorec.errors import DataError, EmorecError
from emorec.extract import cache, faces, labels, layouts, media
from emorec.extract.embed import (
    AUDIO_PASSES,
    CHUNK_S,
    CONTEXT_S,
    DEFAULT_AUDIO_MODEL,
    DEFAULT_FACE_MODEL,
    FaceModel,
    VoiceModel,
    resolve_device,
    window_starts,
)
from emorec.files import read_json, replace_folder
from emorec.vocabulary import TARGETS

log = logging.getLogger(__name__)

STAND_IN_SIDECAR = "emorec-media.json"   # written by `emorec data synth-media`
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
    audio: bool = True
    batch_size: int = 32
    device: str = "auto"
    labels: Path | None = None
    label_scale: float | None = None
    label_delay: float = 0.0
    source_fps: float | None = None     # frame-image folders: the rate they were taken at


def extract(input_dir: str | Path, out: str | Path, settings: Settings, *,
            name: str | None = None, extractor_train: str | Path | None = None,
            jobs: int = 1) -> Dataset:
    input_dir, out = Path(input_dir), Path(out)
    _check_settings(settings, jobs)
    detector = faces.detector(settings.detector)
    _check_out(out)
    sidecar = _read_sidecar(input_dir / STAND_IN_SIDECAR)
    with_audio = settings.audio and settings.layout != "afew-va"
    if settings.audio and not with_audio:
        log.info("layout afew-va: clips without sound; faces only")
    recordings = layouts.discover(input_dir, settings.layout, with_audio)
    raw, label_info = _ratings(input_dir, recordings, settings)

    device = resolve_device(settings.device)
    face_model = FaceModel(settings.face_model, device, settings.batch_size)
    voice_model = (VoiceModel(settings.audio_model, device, settings.layer, settings.batch_size)
                   if with_audio else None)
    made = _provenance(settings, face_model, voice_model, detector, device)
    key = cache.settings_hash(made)
    extraction = {**made, "labels": label_info}
    name = name or sidecar.get("name") or input_dir.resolve().name
    origin = sidecar.get("origin", "real")
    if _up_to_date(out, extraction, name):
        log.info("%s is up to date (same recordings, settings and labels): nothing to do", out)
        return Dataset.load(out)

    cache.mark(out, made)
    results, entries = _extract_all(recordings, out, key, settings, face_model, voice_model,
                                    detector, jobs)
    video, audio, counts = _tables(recordings, results, raw, settings, face_model, voice_model)
    trained_on = (extractor_sessions(extractor_train, video["session"].unique())
                  if extractor_train is not None else ())
    manifest = Manifest(
        name=name, origin=origin, fps=settings.fps, embedding_dim=face_model.dim,
        audio_dim=voice_model.dim if voice_model else 1, audio_windows=tuple(audio),
        label_scale=label_info["scale"], extractor_train=trained_on,
        source={"extraction": extraction, "counts": counts,
                **({"stand_in": sidecar} if sidecar else {})})
    dataset = Dataset.create(manifest, video, audio, source=str(out))
    dataset = _with_raw(dataset, raw)
    _save(dataset, out, entries)
    return dataset


def _check_settings(settings: Settings, jobs: int) -> None:
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


def _check_out(out: Path) -> None:
    """Refuse, before any work, a folder that is neither a dataset nor an extraction of ours."""
    if out.exists() and not out.is_dir():
        raise EmorecError(f"{out}: exists and is a file, not a folder")
    if (out.is_dir() and any(out.iterdir()) and not (out / MANIFEST_FILE).is_file()
            and not (out / cache.SETTINGS_FILE).is_file()):
        raise EmorecError(f"{out}: exists, is not empty and holds no {MANIFEST_FILE}; refusing to "
                          "replace it (give a new or empty folder)")


def _read_sidecar(path: Path) -> dict:
    if not path.is_file():
        return {}
    sidecar = read_json(path, "a synth-media sidecar")
    if not isinstance(sidecar, dict) or sidecar.get("origin") != "stand-in":
        raise DataError(path, "not a synth-media sidecar", expected='{"origin": "stand-in", ...}')
    return sidecar


def _ratings(root: Path, recordings: list, settings: Settings) -> tuple[pd.DataFrame, dict]:
    """Every recording's ratings, scaled; DataError naming a recording that has none."""
    names = [r.name for r in recordings]
    if settings.layout == "afew-va":
        scale = settings.label_scale or 10.0
        source_fps = settings.source_fps or layouts.AFEW_VA_SOURCE_FPS
        raw, source, kind = labels.read_afew_va(root, source_fps), str(root), "afew-va json"
    elif settings.layout == "sewa":
        folder = settings.labels or (root / "labels" if (root / "labels").is_dir() else root)
        scale, source, kind = settings.label_scale or 1.0, str(folder), "sewa annotation files"
        raw = pd.concat([labels.read_sewa_file(labels.sewa_file(folder, n), n) for n in names],
                        ignore_index=True)
    else:
        if settings.labels is None:
            raise DataError(root, "no labels given", expected="--labels CSV with session,time,"
                                                               "valence,arousal (layout files)")
        scale, source, kind = settings.label_scale or 1.0, str(settings.labels), "csv"
        raw = labels.read_generic(settings.labels)
    present = set(raw["session"])
    for recording in recordings:
        if recording.name not in present:
            raise DataError(source, "recording without labels", column="session",
                            expected=f"ratings of {recording.name} ({recording.source})")
    raw = labels.scaled(raw[raw["session"].isin(names)], scale, source)
    return raw, {"source": kind, "scale": scale, "delay_s": float(settings.label_delay),
                 "files": Path(source).name}


def _provenance(settings: Settings, face_model, voice_model, detector, device: str) -> dict:
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
        "libraries": {"av": av.__version__, "cv2": cv2.__version__,
                      "transformers": transformers.__version__, "torch": torch.__version__,
                      "numpy": np.__version__, "python": platform.python_version()},
    }
    if settings.source_fps:
        made["source_fps"] = settings.source_fps
    if voice_model is not None:
        made["audio"] = {"model": voice_model.provenance,
                         "windows": [float(w) for w in settings.windows], "hop": "L/2",
                         "pass": settings.audio_pass, "pooling": "mean over time"}
        if settings.audio_pass == "whole":
            made["audio"]["chunk_s"], made["audio"]["context_s"] = CHUNK_S, CONTEXT_S
    return made


def _up_to_date(out: Path, extraction: dict, name: str) -> bool:
    path = out / MANIFEST_FILE
    if not path.is_file():
        return False
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError:
        return False
    # The manifest went through JSON; so must the new settings to compare (tuples -> lists).
    return (manifest.get("name") == name
            and manifest.get("source", {}).get("extraction") == json.loads(
                json.dumps(extraction)))


# ----------------------------------------------------------------- per recording
def _extract_all(recordings, out, key, settings, face_model, voice_model, detector, jobs):
    """Each recording's arrays, from the cache or extracted (decoding and detection in ``jobs``
    threads, embedding in this one) and cached at once."""
    entries = {}
    for recording in recordings:
        sources = [recording.source] + ([recording.audio] if recording.audio
                                        and recording.audio != recording.video else [])
        entries[recording.name] = cache.entry(out, recording.name, key,
                                              cache.content_hash(sources))
    results = {r.name: cache.load(entries[r.name]) for r in recordings}
    todo = [r for r in recordings if results[r.name] is None]
    if len(todo) < len(recordings):
        log.info("%d of %d recordings are in the cache of an earlier run", len(recordings) -
                 len(todo), len(recordings))
    bar = tqdm(total=len(recordings), initial=len(recordings) - len(todo), unit="recording",
               desc="recordings", dynamic_ncols=True, disable=None)
    frames_bar = tqdm(unit="frame", desc="frames", dynamic_ncols=True, disable=None)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        pending = deque()
        queue = iter(todo)
        for recording in queue:   # at most `jobs` decoded recordings wait in memory
            pending.append((recording, pool.submit(_decode, recording, settings, face_model,
                                                   voice_model, detector)))
            if len(pending) >= jobs:
                break
        while pending:
            recording, future = pending.popleft()
            decoded = future.result()
            following = next(queue, None)
            if following is not None:
                pending.append((following, pool.submit(_decode, following, settings,
                                                       face_model, voice_model, detector)))
            arrays = _embed(decoded, settings, face_model, voice_model, frames_bar)
            cache.store(entries[recording.name], arrays)
            results[recording.name] = arrays
            bar.update()
    frames_bar.close()
    bar.close()
    return results, list(entries.values())


def _decode(recording, settings: Settings, face_model, voice_model, detector) -> dict:
    started = time.perf_counter()
    if recording.video is not None:
        frames = media.video_frames(recording.video, settings.fps)
    else:
        source_fps = settings.source_fps or layouts.AFEW_VA_SOURCE_FPS
        frames = media.image_frames(recording.frames, source_fps, settings.fps)
    found = ((stamp, image, faces.largest(detector(image))) for stamp, image in frames)
    times, boxes, crops = [], [], []
    for stamp, image, box in faces.bridge(found, settings.bridge):
        times.append(stamp)
        boxes.append(box if box is not None else (-1, -1, 0, 0))
        if box is not None:
            crops.append(faces.crop(image, box, settings.margin, face_model.input_size))
    signal = (media.read_audio(recording.audio, voice_model.rate)
              if voice_model is not None and recording.audio is not None else None)
    return {"name": recording.name, "times": np.asarray(times, np.float64),
            "boxes": np.asarray(boxes, np.int64).reshape(-1, 4),
            "crops": (np.stack(crops) if crops else
                      np.zeros((0, *face_model.input_size, 3), np.uint8)),
            "signal": signal, "decode_s": time.perf_counter() - started}


def _embed(decoded: dict, settings: Settings, face_model, voice_model, frames_bar) -> dict:
    arrays = {"times": decoded["times"], "boxes": decoded["boxes"]}
    embeddings = []
    for begin in range(0, len(decoded["crops"]), settings.batch_size):
        batch = decoded["crops"][begin:begin + settings.batch_size]
        embeddings.append(face_model.embed(batch))
        frames_bar.update(len(batch))
    arrays["faces"] = (np.concatenate(embeddings) if embeddings
                       else np.zeros((0, face_model.dim), np.float32))
    signal = decoded["signal"]
    if signal is not None:
        duration = len(signal) / voice_model.rate
        arrays["duration"] = np.asarray(duration)
        if settings.audio_pass == "whole":
            states, centres = voice_model.frames(signal)
        for length in settings.windows:
            starts = window_starts(duration, length)
            arrays[f"starts_{length:g}"] = starts
            arrays[f"audio_{length:g}"] = (
                voice_model.pool(states, centres, starts, length)
                if settings.audio_pass == "whole"
                else voice_model.per_window(signal, starts, length))
    return arrays


# ----------------------------------------------------------------- tables
def _tables(recordings, results, raw, settings, face_model, voice_model):
    video_parts, audio_parts = [], {float(w): [] for w in settings.windows} if voice_model else {}
    counts = {"recordings": len(recordings), "frames_sampled": 0, "frames_without_face": 0,
              "gaps": 0, "frames_unlabelled": 0, "audio_seconds": 0.0}
    for recording in recordings:
        arrays = results[recording.name]
        has_face = arrays["boxes"][:, 2] > 0
        counts["frames_sampled"] += int(len(has_face))
        counts["frames_without_face"] += int((~has_face).sum())
        counts["gaps"] += gap_count(has_face)
        times = arrays["times"][has_face]
        sessions = np.full(len(times), recording.name, dtype=object)
        rated = align(sessions, times, raw, settings.label_delay)
        labelled = np.isfinite(rated).all(axis=1)
        counts["frames_unlabelled"] += int((~labelled).sum())
        part = pd.DataFrame(arrays["faces"][labelled], columns=embedding_columns(face_model.dim))
        part.insert(0, "timestamp", times[labelled])
        part.insert(0, "session", recording.name)
        for index, target in enumerate(TARGETS):
            part[target] = rated[labelled, index]
        video_parts.append(part)
        if voice_model is not None:
            counts["audio_seconds"] += float(arrays["duration"])
            for length in audio_parts:
                starts = arrays[f"starts_{length:g}"]
                table = pd.DataFrame(arrays[f"audio_{length:g}"],
                                     columns=audio_columns(voice_model.dim))
                table.insert(0, "end", starts + length)
                table.insert(0, "start", starts)
                table.insert(0, "session", recording.name)
                audio_parts[length].append(table)
    counts["audio_seconds"] = round(counts["audio_seconds"], 3)
    log.info("%d frames sampled at %g fps in %d recordings: %d without a face (%d gaps, no "
             "rows), %d with a face but no rating at their time (left out)",
             counts["frames_sampled"], settings.fps, len(recordings),
             counts["frames_without_face"], counts["gaps"], counts["frames_unlabelled"])
    video = pd.concat(video_parts, ignore_index=True)
    if video.empty:
        raise DataError(recordings[0].source, "no labelled frame with a face in any recording",
                        expected="faces the detector finds (--detector) at rated times")
    audio = {}
    for length, parts in audio_parts.items():
        table = pd.concat(parts, ignore_index=True)
        if table.empty:
            log.warning("no recording is %g s long: no audio windows of that length", length)
            continue
        audio[length] = table
    return video, audio, counts


def gap_count(has_face: np.ndarray) -> int:
    """Runs of consecutive sampled frames without a face."""
    missing = ~np.asarray(has_face, bool)
    return int(np.sum(missing & ~np.concatenate([[False], missing[:-1]])))


def _with_raw(dataset: Dataset, raw: pd.DataFrame) -> Dataset:
    return replace(dataset, labels_raw=raw.reset_index(drop=True))


def _save(dataset: Dataset, out: Path, entries: list[Path]) -> None:
    """The dataset folder, whole, with this run's cache entries carried over."""
    keep_if = MANIFEST_FILE if (out / MANIFEST_FILE).is_file() else cache.SETTINGS_FILE

    def write(folder: Path) -> None:
        dataset._write_files(folder)
        cache.link_into(out, folder, entries)

    replace_folder(out, write, keep_if=keep_if)
