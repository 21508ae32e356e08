"""An extraction's per-recording arrays -> the dataset's video table (one row per sampled frame
with a face and a rating at its time, the ratings aligned to the frame times by
:mod:`emorec.data.label_align`) and audio tables (one per window length), with the counts the
manifest keeps: frames sampled, without a face, gaps, unlabelled, seconds of sound, recordings
cut short or with constant faces.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from emorec.data.label_align import align
from emorec.data.validation import audio_columns, embedding_columns
from emorec.errors import DataError
from emorec.vocabulary import TARGETS

log = logging.getLogger(__name__)


def dataset_tables(recordings, results, raw, settings, face_model, voice_model):
    """The video table, the audio tables by window length (a length no recording reaches left
    out) and the counts, from each recording's arrays."""
    video_parts, audio_parts = [], {float(w): [] for w in settings.windows} if voice_model else {}
    counts = {"recordings": len(recordings), "frames_sampled": 0, "frames_without_face": 0,
              "gaps": 0, "frames_unlabelled": 0, "audio_seconds": 0.0,
              "recordings_short": 0, "recordings_constant_faces": 0}
    short = {}
    for recording in recordings:
        arrays = results[recording.name]
        if len(arrays["notes"]):
            short[recording.name] = [str(note) for note in arrays["notes"]]
        _check_faces_differ(recording, arrays["faces"], face_model.reference, counts)
        video_parts.append(_video_part(recording.name, arrays, raw, settings.label_delay,
                                       face_model.dim, counts))
        if voice_model is not None:
            counts["audio_seconds"] += float(arrays["duration"])
            for length in audio_parts:
                audio_parts[length].append(_audio_part(recording.name, arrays, length,
                                                       voice_model.dim))
    _close_counts(counts, short, settings.fps)
    video = pd.concat(video_parts, ignore_index=True)
    if video.empty:
        raise DataError(recordings[0].source, "no labelled frame with a face in any recording",
                        expected="faces the detector finds (--detector) at rated times")
    return video, _audio_tables(audio_parts), counts


def _check_faces_differ(recording, faces: np.ndarray, model: str, counts: dict) -> None:
    """A warning, and a count, for a recording whose faces all have the same embedding."""
    if _constant(faces):
        counts["recordings_constant_faces"] += 1
        log.warning("%s: every face of its %d frames has the same embedding: the face model "
                    "(%s) sees nothing that differs between them (random weights?)",
                    recording.source, len(faces), model)


def _video_part(name: str, arrays: dict, raw: pd.DataFrame, label_delay: float, dim: int,
                counts: dict) -> pd.DataFrame:
    """One recording's video rows: its sampled frames with a face and a rating at their time
    (the ratings aligned to the frame times); the frames without either counted."""
    has_face = arrays["boxes"][:, 2] > 0
    counts["frames_sampled"] += int(len(has_face))
    counts["frames_without_face"] += int((~has_face).sum())
    counts["gaps"] += gap_count(has_face)
    times = arrays["times"][has_face]
    sessions = np.full(len(times), name, dtype=object)
    rated = align(sessions, times, raw, label_delay)
    labelled = np.isfinite(rated).all(axis=1)
    counts["frames_unlabelled"] += int((~labelled).sum())
    part = pd.DataFrame(arrays["faces"][labelled], columns=embedding_columns(dim))
    part.insert(0, "timestamp", times[labelled])
    part.insert(0, "session", name)
    for index, target in enumerate(TARGETS):
        part[target] = rated[labelled, index]
    return part


def _audio_part(name: str, arrays: dict, length: float, dim: int) -> pd.DataFrame:
    """One recording's audio windows of ``length`` seconds."""
    starts = arrays[f"starts_{length:g}"]
    table = pd.DataFrame(arrays[f"audio_{length:g}"], columns=audio_columns(dim))
    table.insert(0, "end", starts + length)
    table.insert(0, "start", starts)
    table.insert(0, "session", name)
    return table


def _close_counts(counts: dict, short: dict, fps: float) -> None:
    """The counts rounded and completed with the recordings cut short, and logged."""
    counts["audio_seconds"] = round(counts["audio_seconds"], 3)
    counts["recordings_short"] = len(short)
    if short:
        counts["short"] = short
    log.info("%d frames sampled at %g fps in %d recordings: %d without a face (%d gaps, no "
             "rows), %d with a face but no rating at their time (left out)",
             counts["frames_sampled"], fps, counts["recordings"],
             counts["frames_without_face"], counts["gaps"], counts["frames_unlabelled"])


def _audio_tables(audio_parts: dict[float, list]) -> dict[float, pd.DataFrame]:
    audio = {}
    for length, parts in audio_parts.items():
        table = pd.concat(parts, ignore_index=True)
        if table.empty:
            log.warning("no recording is %g s long: no audio windows of that length", length)
            continue
        audio[length] = table
    return audio


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
