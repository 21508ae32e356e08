"""``emorec extract``: recordings -> a dataset folder.

For each recording: frames decoded at their timestamps and sampled at ``fps``; the largest face
of each frame detected, cropped and embedded (a frame without a face is a gap: counted, no
row); the sound decoded at the speech model's rate and embedded per window of each length
(hop L/2); the result cached (:mod:`emorec.extract.cache`). Then the ratings are aligned to the
frame times (:mod:`emorec.data.label_align`) and the dataset is written whole, with the raw
ratings and the provenance of every setting in its manifest (and fingerprint).
"""

from __future__ import annotations

import hashlib
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

from emorec.data.dataset import MANIFEST_FILE, Dataset
from emorec.data.label_align import align
from emorec.data.manifest import Manifest
from emorec.data.splits import extractor_sessions
from emorec.data.validation import audio_columns, embedding_columns
from emorec.errors import DataError, EmorecError
from emorec.extract import cache, egemaps, faces, labels, layouts, media
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
from emorec.system.files import read_json, replace_folder
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
    audio_features: str = "embedding"   # or egemaps, egemaps-lld (emorec.extract.egemaps)
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
    raw, label_info, rating_files = _ratings(input_dir, recordings, settings)
    # every input opened and checked before anything is embedded
    probes = {r.name: _probe(r, settings) for r in recordings}
    _check_rating_times(raw, recordings, probes, rating_files)
    trained_on = (extractor_sessions(extractor_train, [r.name for r in recordings])
                  if extractor_train is not None else ())

    device = resolve_device(settings.device)
    face_model = FaceModel(settings.face_model, device, settings.batch_size)
    voice_model = (egemaps.voice_model(settings.audio_features, settings.audio_pass,
                                       settings.audio_model, device, settings.layer,
                                       settings.batch_size)
                   if with_audio else None)
    made = _provenance(settings, face_model, voice_model, detector, device)
    key = cache.settings_hash(made)
    contents = {r.name: cache.content_hash(_sources(r)) for r in recordings}
    extraction = {**made, "labels": label_info,
                  "recordings": {r.name: _recording_facts(contents[r.name], probes[r.name],
                                                          r, settings)
                                 for r in recordings}}
    name = name or sidecar.get("name") or input_dir.resolve().name
    origin = sidecar.get("origin", "real")
    if _up_to_date(out, extraction, name, trained_on):
        log.info("%s is up to date (same recordings, ratings and settings): nothing to do", out)
        return Dataset.load(out)

    created = not out.exists()
    cache.mark(out, made)
    try:
        results, entries = _extract_all(recordings, out, key, contents, probes, settings,
                                        face_model, voice_model, detector, jobs)
    except BaseException:
        _leave_nothing_half_written(out, created)
        raise
    video, audio, counts = _tables(recordings, results, raw, settings, face_model, voice_model)
    manifest = Manifest(
        name=name, origin=origin, fps=settings.fps, embedding_dim=face_model.dim,
        audio_dim=voice_model.dim if voice_model else 1, audio_windows=tuple(audio),
        label_scale=label_info["scale"], extractor_train=trained_on,
        source={"extraction": extraction, "counts": counts,
                **({"stand_in": sidecar} if sidecar else {})})
    dataset = Dataset.create(manifest, video, audio, source=str(out))
    dataset = _with_kept_split(_with_raw(dataset, raw), out)
    _save(dataset, out, entries)
    return dataset


def _sources(recording) -> list[Path]:
    return [recording.source] + ([recording.audio] if recording.audio
                                 and recording.audio != recording.video else [])


def _probe(recording, settings: Settings) -> dict:
    """The recording's media opened and its first frames decoded (a DataError naming the file
    otherwise); its source frame rate checked against ``--fps``."""
    if recording.video is not None:
        found = media.probe(recording.video)
        if found.video_start is None:
            raise DataError(recording.video, "no video stream", expected=media.VIDEO_EXPECTED)
        rate, span = found.video_rate, found.duration
    else:
        numbered = media.frame_images(recording.frames)
        rate = settings.source_fps or layouts.AFEW_VA_SOURCE_FPS
        span = (numbered[-1][0] + 1) / rate
        found = None
    if rate and settings.fps > rate * 1.001:
        raise EmorecError(f"--fps {settings.fps:g} is above the frame rate of "
                          f"{recording.source} ({rate:g} fps): frames cannot be sampled more "
                          f"often than they were taken; expected --fps {rate:g} or less")
    sound = None
    if recording.audio is not None and recording.audio != recording.video:
        sound = media.probe(recording.audio, expected="a wav file")
        if sound.audio_start is None:
            raise DataError(recording.audio, "no audio track", expected="a wav file")
    offset = found.audio_offset if found is not None and sound is None else 0.0
    return {"rate": rate, "span": span, "offset": offset}


def _recording_facts(content: str, probe: dict, recording, settings: Settings) -> dict:
    facts = {"sha256": content, "source_fps": round(probe["rate"], 6) if probe["rate"] else None}
    if recording.audio is not None and settings.audio:
        facts["audio_offset_s"] = probe["offset"]
    return facts


def _check_rating_times(raw: pd.DataFrame, recordings, probes: dict,
                        sources: dict[str, str]) -> None:
    """Ratings must lie within their recording's span: times in milliseconds (or another
    recording's ratings) are refused by name; a few past the end are counted in a warning."""
    by_recording = dict(tuple(raw.groupby("session")["time"]))
    for recording in recordings:
        span = probes[recording.name]["span"]
        rated = by_recording.get(recording.name)
        if span is None or rated is None:
            continue
        times, slack = rated.to_numpy(), max(2.0, 0.1 * span)
        beyond = (times > span + slack) | (times < -1.0)
        source = sources[recording.name]
        if beyond.mean() > 0.5:
            raise DataError(source, f"rating times of {recording.name} lie outside its "
                            f"recording", column="time (seconds)",
                            expected=f"seconds within the recording's {span:.1f} s (times in "
                                     "milliseconds? divide them by 1000)",
                            found=f"times from {rated.min():g} to {rated.max():g}")
        if beyond.any():
            log.warning("%s: %d ratings of %s lie more than %g s outside its %.1f s (no frame "
                        "is there to take them)", source, int(beyond.sum()), recording.name,
                        slack, span)


def _leave_nothing_half_written(out: Path, created: bool) -> None:
    """After a failed run: a cache holding no finished recording is removed (and the output
    folder, if this run made it); finished recordings stay for the next run to resume from."""
    import shutil

    folder = out / cache.FOLDER
    finished = list(folder.glob("*.npz")) if folder.is_dir() else []
    if finished:
        log.info("%s: %d finished recordings kept for the next run to resume from", folder,
                 len(finished))
        return
    shutil.rmtree(folder, ignore_errors=True)
    if created and out.is_dir() and not any(out.iterdir()):
        out.rmdir()


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


def _ratings(root: Path, recordings: list, settings: Settings
             ) -> tuple[pd.DataFrame, dict, dict[str, str]]:
    """Every recording's ratings, scaled; the labels' facts for the manifest; where each
    recording's ratings were read from. DataError naming a recording that has none."""
    names = [r.name for r in recordings]
    if settings.layout == "afew-va":
        scale = settings.label_scale or 10.0
        source_fps = settings.source_fps or layouts.AFEW_VA_SOURCE_FPS
        raw, source, kind = labels.read_afew_va(root, source_fps), str(root), "afew-va json"
        sources = {r.name: str(r.frames / f"{r.name}.json") for r in recordings}
    elif settings.layout == "sewa":
        folder = settings.labels or (root / "labels" if (root / "labels").is_dir() else root)
        scale, source, kind = settings.label_scale or 1.0, str(folder), "sewa annotation files"
        sources = {r.name: str(labels.sewa_file(folder, r.name, r.source)) for r in recordings}
        _warn_unused_rating_files(folder, names, set(sources.values()))
        raw = pd.concat([labels.read_sewa_file(Path(sources[n]), n) for n in names],
                        ignore_index=True)
    else:
        if settings.labels is None:
            raise DataError(root, "no labels given", expected="--labels CSV with session,time,"
                                                               "valence,arousal (layout files)")
        scale, source, kind = settings.label_scale or 1.0, str(settings.labels), "csv"
        raw = labels.read_generic(settings.labels)
        sources = {n: source for n in names}
        unused = sorted(set(raw["session"]) - set(names))
        if unused:
            log.warning("%s: ratings of %d sessions that match no recording are not used: %s",
                        source, len(unused), ", ".join(unused[:5]))
    present = set(raw["session"])
    for recording in recordings:
        if recording.name not in present:
            raise DataError(source, "recording without labels", column="session",
                            expected=f"ratings of {recording.name} ({recording.source})")
    raw = labels.scaled(raw[raw["session"].isin(names)], scale, source, files=sources)
    return raw, {"source": kind, "scale": scale, "delay_s": float(settings.label_delay),
                 "files": Path(source).name, "sha256": _ratings_hash(raw)}, sources


def _warn_unused_rating_files(folder: Path, names: list[str], used: set[str]) -> None:
    unused = sorted(p.name for p in folder.iterdir() if p.is_file()
                    and p.suffix.lower() in labels.LABEL_EXTENSIONS and str(p) not in used)
    if unused:
        log.warning("%s: %d annotation files match no recording and are not used: %s", folder,
                    len(unused), ", ".join(unused[:5]) + (", ..." if len(unused) > 5 else ""))


def _ratings_hash(raw: pd.DataFrame) -> str:
    """A hash of the ratings' content (sessions, times and values, as used)."""
    table = raw.sort_values(["session", "time"], kind="stable").reset_index(drop=True)
    hashed = pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes()
    return hashlib.sha256(hashed).hexdigest()[:16]


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


def _up_to_date(out: Path, extraction: dict, name: str, trained_on: tuple) -> bool:
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


# ----------------------------------------------------------------- per recording
def _extract_all(recordings, out, key, contents, probes, settings, face_model, voice_model,
                 detector, jobs):
    """Each recording's arrays, from the cache or extracted (decoding and detection in ``jobs``
    threads, embedding in this one) and cached at once."""
    entries = {r.name: cache.entry(out, r.name, key, contents[r.name]) for r in recordings}
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
            pending.append((recording, pool.submit(_decode, recording, probes[recording.name],
                                                   settings, face_model, voice_model, detector)))
            if len(pending) >= jobs:
                break
        while pending:
            recording, future = pending.popleft()
            decoded = future.result()
            following = next(queue, None)
            if following is not None:
                pending.append((following, pool.submit(_decode, following,
                                                       probes[following.name], settings,
                                                       face_model, voice_model, detector)))
            arrays = _embed(decoded, settings, face_model, voice_model, frames_bar)
            cache.store(entries[recording.name], arrays)
            results[recording.name] = arrays
            bar.update()
    frames_bar.close()
    bar.close()
    return results, list(entries.values())


def _decode(recording, probe: dict, settings: Settings, face_model, voice_model,
            detector) -> dict:
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
    sound = (probe["offset"], len(signal) / voice_model.rate) if signal is not None else None
    notes = _shortfalls(recording, probe, times, settings.fps, sound)
    for note in notes:
        log.warning("%s: %s", recording.source, note)
    return {"name": recording.name, "times": np.asarray(times, np.float64),
            "offset": probe["offset"], "notes": notes,
            "boxes": np.asarray(boxes, np.int64).reshape(-1, 4),
            "crops": (np.stack(crops) if crops else
                      np.zeros((0, *face_model.input_size, 3), np.uint8)),
            "signal": signal, "decode_s": time.perf_counter() - started}


def _shortfalls(recording, probe: dict, times: list[float], fps: float,
                sound: tuple[float, float] | None) -> list[str]:
    """What was decoded short of what the files state: a cut file (the streams end before the
    container's duration) or sound that ends long before the picture."""
    slack = 1.0 + 1.0 / fps
    picture_end = (times[-1] + 1.0 / fps) if times else 0.0
    sound_end = sound[0] + sound[1] if sound is not None else None
    notes = []
    stated = probe["span"] if recording.video is not None else None
    decoded_end = max(picture_end, sound_end if recording.audio == recording.video
                      and sound_end is not None else 0.0)
    if stated and decoded_end < stated - slack:
        notes.append(f"decoded {decoded_end:.1f} s of the {stated:.1f} s its container states "
                     "(a cut or damaged file?): the rest is not extracted")
    if sound_end is not None and sound_end < picture_end - slack:
        notes.append(f"the sound ends at {sound_end:.1f} s, the picture at {picture_end:.1f} s: "
                     "frames after the sound's end get no audio window")
    return notes


def _embed(decoded: dict, settings: Settings, face_model, voice_model, frames_bar) -> dict:
    arrays = {"times": decoded["times"], "boxes": decoded["boxes"],
              "notes": np.asarray(decoded["notes"], dtype=str)}
    embeddings = []
    for begin in range(0, len(decoded["crops"]), settings.batch_size):
        batch = decoded["crops"][begin:begin + settings.batch_size]
        embeddings.append(face_model.embed(batch))
        frames_bar.update(len(batch))
    arrays["faces"] = (np.concatenate(embeddings) if embeddings
                       else np.zeros((0, face_model.dim), np.float32))
    signal = decoded["signal"]
    if signal is not None:
        duration, offset = len(signal) / voice_model.rate, decoded["offset"]
        arrays["duration"] = np.asarray(duration)
        arrays["offset"] = np.asarray(offset)
        if settings.audio_pass == "whole":
            states, centres = voice_model.frames(signal)
        for length in settings.windows:
            # windows on the picture's clock; the model reads the signal at start - offset
            starts = window_starts(duration, length, offset)
            arrays[f"starts_{length:g}"] = starts
            arrays[f"audio_{length:g}"] = (
                voice_model.pool(states, centres, starts - offset, length)
                if settings.audio_pass == "whole"
                else voice_model.per_window(signal, starts - offset, length))
    return arrays


# ----------------------------------------------------------------- tables
def _tables(recordings, results, raw, settings, face_model, voice_model):
    video_parts, audio_parts = [], {float(w): [] for w in settings.windows} if voice_model else {}
    counts = {"recordings": len(recordings), "frames_sampled": 0, "frames_without_face": 0,
              "gaps": 0, "frames_unlabelled": 0, "audio_seconds": 0.0,
              "recordings_short": 0, "recordings_constant_faces": 0}
    short = {}
    for recording in recordings:
        arrays = results[recording.name]
        if len(arrays["notes"]):
            short[recording.name] = [str(note) for note in arrays["notes"]]
        if _constant(arrays["faces"]):
            counts["recordings_constant_faces"] += 1
            log.warning("%s: every face of its %d frames has the same embedding: the face model "
                        "(%s) sees nothing that differs between them (random weights?)",
                        recording.source, len(arrays["faces"]), face_model.reference)
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
    counts["recordings_short"] = len(short)
    if short:
        counts["short"] = short
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


def _constant(embeddings: np.ndarray) -> bool:
    """Whether two or more face embeddings are all the same (within float32 noise)."""
    if len(embeddings) < 2:
        return False
    spread = np.ptp(embeddings, axis=0)
    return bool(np.all(spread <= 1e-6 * (1.0 + np.abs(embeddings).max())))


def gap_count(has_face: np.ndarray) -> int:
    """Runs of consecutive sampled frames without a face."""
    missing = ~np.asarray(has_face, bool)
    return int(np.sum(missing & ~np.concatenate([[False], missing[:-1]])))


def _with_kept_split(dataset: Dataset, out: Path) -> Dataset:
    """The split file of the dataset ``out`` held before (``emorec data split``), kept when it
    names the same recordings; a warning when it no longer fits and is dropped."""
    from emorec.data.dataset import SPLIT_FILE
    from emorec.data.splits import read_split_file

    path = out / SPLIT_FILE
    if not path.is_file():
        return dataset
    try:
        return dataset.with_split(read_split_file(path), str(path))
    except EmorecError as error:
        log.warning("%s no longer fits the recordings (%s): dropped; make a new one with "
                    "emorec data split", path, error)
        return dataset


def _with_raw(dataset: Dataset, raw: pd.DataFrame) -> Dataset:
    return replace(dataset, labels_raw=raw.reset_index(drop=True))


def _save(dataset: Dataset, out: Path, entries: list[Path]) -> None:
    """The dataset folder, whole, with this run's cache entries carried over."""
    keep_if = MANIFEST_FILE if (out / MANIFEST_FILE).is_file() else cache.SETTINGS_FILE

    def write(folder: Path) -> None:
        dataset._write_files(folder)
        cache.link_into(out, folder, entries)

    replace_folder(out, write, keep_if=keep_if)
