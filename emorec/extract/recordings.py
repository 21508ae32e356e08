"""Each recording of an extraction turned into arrays: its media opened and checked first
(``probe``), then frames decoded at their timestamps and sampled at ``fps``, the largest face of
each frame detected and cropped, the sound decoded (in ``jobs`` threads); the crops and the
sound's windows embedded (in the calling thread); the arrays cached per recording
(:mod:`emorec.extract.cache`), and a recording found in the cache not extracted again.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from tqdm import tqdm

from emorec.errors import DataError, EmorecError
from emorec.extract import cache, faces, layouts, media
from emorec.extract.settings import Settings
from emorec.extract.voice_model import window_starts

log = logging.getLogger(__name__)


def recording_sources(recording) -> list[Path]:
    """The files a recording's content hash covers: its source and a separate sound file."""
    return [recording.source] + ([recording.audio] if recording.audio
                                 and recording.audio != recording.video else [])


def probe(recording, settings: Settings) -> dict:
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


def extract_all(recordings, out, key, contents, probes, settings, face_model, voice_model,
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
