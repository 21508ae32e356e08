"""One stand-in session drawn from the generative model (:mod:`emorec.data.synth_spec`): the
embedding space shared by all sessions (the feature extractor), then per session its timing, a
subject (baseline, expressivity, identity), the latent valence/arousal as Ornstein-Uhlenbeck
processes, the raters' labels and the oracle, the face embeddings with bursts of frames without
a face, and the turn-taking voice's audio windows; as the rows of its video and audio tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from emorec.data import portable_math
from emorec.data.dataset import ORACLE_COLUMNS
from emorec.data.synth_spec import (
    AUDIO_DIM,
    AUDIO_RATE,
    EMBEDDING_DIM,
    MAX_LAG_S,
    SEWA_AUDIO_WINDOWS,
    StandInSpec,
)
from emorec.data.validation import audio_columns, embedding_columns
from emorec.vocabulary import TARGETS


class Extractor:
    """The parts of the embedding space shared by all sessions (the feature extractor)."""

    def __init__(self, rng: np.random.Generator, spec: StandInSpec):
        d, w = EMBEDDING_DIM, spec.emotion_weight
        self.face_valence = rng.normal(0, w, d)
        self.face_arousal = rng.normal(0, w, d)
        self.face_interaction = rng.normal(0, w, d)   # a non-linear (v * a) trace
        self.face_pose = rng.normal(0, spec.pose_weight, (3, d))
        self.face_illumination = rng.normal(0, spec.illumination_weight, d)
        k = AUDIO_DIM
        self.voice_arousal = rng.normal(0, spec.voice_arousal_weight, k)
        self.voice_valence = rng.normal(0, spec.voice_valence_weight, k)
        self.noise_floor = rng.normal(0, 0.05, k)


def session_tables(rng: np.random.Generator, spec: StandInSpec, extractor: Extractor,
                   session: str, duration_scale: float
                   ) -> tuple[pd.DataFrame, dict[float, pd.DataFrame]]:
    """One session's video table and its audio tables (one per window length), every draw from
    ``rng`` in a fixed order: its timing, the subject, the latent emotion and its ratings, the
    face, the frames without one, the voice."""
    n_base, lag, burn = _timeline(rng, spec, duration_scale)
    baseline = rng.normal(spec.baseline_mean, spec.baseline_std)
    expressivity = float(portable_math.exp(rng.normal(0, spec.expressivity_std)))
    emotion, labels, oracle = _emotion_and_ratings(rng, spec, baseline, n_base, lag, burn)
    frame_steps = np.arange(0, n_base, int(round(spec.base_rate / spec.fps)))
    embedding = _face_embeddings(rng, spec, extractor, emotion, baseline, expressivity,
                                 frame_steps)
    has_face = _face_visible(rng, len(frame_steps), spec)
    video = _video_table(spec, session, embedding, has_face, frame_steps, labels, oracle)
    audio = _audio(rng, spec, extractor, session, emotion, n_base) if spec.with_audio else {}
    return video, audio


def _timeline(rng: np.random.Generator, spec: StandInSpec, duration_scale: float
              ) -> tuple[int, int, int]:
    """The session's length, its raters' lag and the burn-in of its latent processes, in steps
    of the base rate."""
    low, high = spec.duration_s
    rate = spec.base_rate
    duration = max(spec.min_duration_s, round(rng.uniform(low, high) * duration_scale, 1))
    n_base = int(round(duration * rate))
    lag = int(round(np.clip(rng.normal(*spec.rater_lag_s), 0.0, MAX_LAG_S) * rate))
    # The burn-in does not depend on the lag, so every draw after it (the latent emotion, the
    # face, the audio) is the same at every lag: a lag study changes the ratings' timing only.
    burn = int((10 * max(spec.tau_s) + MAX_LAG_S) * rate)
    return n_base, lag, burn


def _emotion_and_ratings(rng: np.random.Generator, spec: StandInSpec, baseline: np.ndarray,
                         n_base: int, lag: int, burn: int
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The latent emotion after the burn-in, the raters' labels and the noise-free oracle, on
    the base grid (columns valence, arousal)."""
    rate = spec.base_rate
    # Latent emotion on the base grid, from -burn to the end: baseline + slow OU deviation.
    deviation = np.stack([amp * _ou(rng, n_base + burn, tau * rate)
                          for amp, tau in zip(spec.amplitude, spec.tau_s, strict=True)], axis=1)
    emotion = portable_math.tanh(baseline + deviation)
    # Raters: sluggish (exponential smoothing), late by `lag`, noisy.
    smoothed = _smooth(emotion, spec.rater_smoothing_s * rate)
    rating = smoothed[burn - lag:burn - lag + n_base]
    noise = (spec.rater_noise_slow * np.stack([_ou(rng, n_base, 1.5 * rate)
                                               for _ in range(2)], axis=1)
             + spec.rater_noise_fast * rng.standard_normal((n_base, 2)))
    oracle = np.clip(rating, -1.0, 1.0)
    labels = np.clip(rating + noise, -1.0, 1.0)
    if spec.integer_labels:
        labels = np.round(labels * spec.label_scale) / spec.label_scale
    return emotion[burn:], labels, oracle


def _face_embeddings(rng: np.random.Generator, spec: StandInSpec, extractor: Extractor,
                     emotion: np.ndarray, baseline: np.ndarray, expressivity: float,
                     frame_steps: np.ndarray) -> np.ndarray:
    """Face: identity + expressed emotion + pose + illumination + extractor noise, squashed;
    one float32 row per video frame."""
    n_frames = len(frame_steps)
    expressed = baseline * spec.baseline_in_face + expressivity * (emotion - baseline)
    expressed = expressed[frame_steps]
    pose = np.stack([_ou(rng, n_frames, 8.0 * spec.fps) for _ in range(3)], axis=1)
    illumination = _ou(rng, n_frames, 20.0 * spec.fps) + rng.normal(0, 1.0)
    pre = (rng.normal(0, spec.identity_std, EMBEDDING_DIM)[None, :]
           + np.outer(expressed[:, 0], extractor.face_valence)
           + np.outer(expressed[:, 1], extractor.face_arousal)
           + np.outer(expressed[:, 0] * expressed[:, 1], extractor.face_interaction)
           + _times_rows(pose, extractor.face_pose)
           + np.outer(illumination, extractor.face_illumination)
           + spec.frame_noise * rng.standard_normal((n_frames, EMBEDDING_DIM)))
    return portable_math.tanh(pre).astype(np.float32)


def _times_rows(weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``weights @ rows`` as a sum of outer products in a fixed order (a BLAS product's
    summation order, and so its last bits, depends on the processor)."""
    total = np.outer(weights[:, 0], rows[0])
    for column in range(1, weights.shape[1]):
        total = total + np.outer(weights[:, column], rows[column])
    return total


def _video_table(spec: StandInSpec, session: str, embedding: np.ndarray, has_face: np.ndarray,
                 frame_steps: np.ndarray, labels: np.ndarray, oracle: np.ndarray
                 ) -> pd.DataFrame:
    """The rows of the frames with a face: time, frame path, embedding, labels, oracle."""
    frame_index = np.flatnonzero(has_face)
    timestamps = np.round(frame_index / spec.fps, 6)
    video = pd.DataFrame({
        "session": session,
        "timestamp": timestamps,
        "path": [f"{session}/{session}_{i:06d}.jpg" for i in frame_index],
    })
    video = pd.concat([video, pd.DataFrame(embedding[frame_index],
                                           columns=embedding_columns(EMBEDDING_DIM))], axis=1)
    steps = frame_steps[frame_index]
    for column, name in enumerate(TARGETS):
        video[name] = labels[steps, column]
    for column, name in enumerate(ORACLE_COLUMNS):
        video[name] = oracle[steps, column]
    return video


def _audio(rng: np.random.Generator, spec: StandInSpec, extractor: Extractor, session: str,
           emotion: np.ndarray, n_base: int) -> dict[float, pd.DataFrame]:
    """wav2vec2-like window embeddings: the mean of 100 ms frames over each window."""
    speaker = _turns(rng, n_base)   # 0 silence, 1 subject, 2 partner
    partner_arousal = 0.15 * _ou(rng, n_base, 5.0 * AUDIO_RATE) + rng.normal(0.2, 0.15)
    channel = rng.normal(0, spec.voice_identity_std, AUDIO_DIM)
    subject_voice = rng.normal(0, spec.voice_identity_std, AUDIO_DIM)
    partner_voice = rng.normal(0, spec.voice_identity_std, AUDIO_DIM)
    frames = np.broadcast_to(channel + extractor.noise_floor, (n_base, AUDIO_DIM)).copy()
    subject, partner = speaker == 1, speaker == 2
    voiced = emotion[subject] * spec.audio_emotion
    frames[subject] += (subject_voice
                        + np.outer(voiced[:, 1], extractor.voice_arousal)
                        + np.outer(voiced[:, 0], extractor.voice_valence))
    frames[partner] += partner_voice + np.outer(partner_arousal[partner], extractor.voice_arousal)
    talking = subject | partner
    phonetics = rng.standard_normal((int(talking.sum()), AUDIO_DIM))
    frames[talking] += spec.phonetic_noise * phonetics
    frames += 0.05 * rng.standard_normal(frames.shape)
    cumulative = np.vstack([np.zeros(AUDIO_DIM), np.cumsum(frames, axis=0)])
    tables = {}
    duration = n_base / AUDIO_RATE
    for length in SEWA_AUDIO_WINDOWS:
        hop = length / 2
        starts = np.arange(0.0, duration - length + 1e-9, hop)
        first = np.rint(starts * AUDIO_RATE).astype(int)
        last = np.rint((starts + length) * AUDIO_RATE).astype(int)
        means = (cumulative[last] - cumulative[first]) / (last - first)[:, None]
        table = pd.DataFrame({"session": session, "start": np.round(starts, 6),
                              "end": np.round(starts + length, 6),
                              "filename": f"{session}.wav"})
        tables[length] = pd.concat(
            [table, pd.DataFrame(means.astype(np.float32), columns=audio_columns(AUDIO_DIM))],
            axis=1)
    return tables


def _turns(rng: np.random.Generator, n: int) -> np.ndarray:
    """Turn-taking: subject and partner alternate, with pauses; 100 ms steps."""
    speaker = np.zeros(n, dtype=np.int8)
    position, current = 0, int(rng.integers(1, 3))
    while position < n:
        mean_s = 0.8 if current == 0 else 3.5
        length = max(1, int(round((rng.exponential(mean_s) + 0.3) * AUDIO_RATE)))
        speaker[position:position + length] = current
        position += length
        current = int(rng.integers(1, 3)) if current == 0 else (
            0 if rng.random() < 0.4 else 3 - current)
    return speaker


def _face_visible(rng: np.random.Generator, n_frames: int, spec: StandInSpec) -> np.ndarray:
    """Bursts of frames without a detected face; the first and last frame always have one."""
    visible = np.ones(n_frames, dtype=bool)
    n_bursts = rng.poisson(spec.face_loss_rate_per_min * n_frames / spec.fps / 60.0)
    for _ in range(n_bursts):
        start = int(rng.integers(1, max(2, n_frames - 1)))
        length = max(1, int(round(rng.exponential(spec.face_loss_mean_s) * spec.fps)))
        visible[start:min(start + length, n_frames - 1)] = False
    return visible


def _ou(rng: np.random.Generator, n: int, tau_steps: float) -> np.ndarray:
    """A unit-variance Ornstein-Uhlenbeck (AR(1)) series with time constant ``tau_steps``."""
    phi = float(portable_math.exp(-1.0 / tau_steps))
    first = rng.standard_normal()
    series, _ = lfilter([np.sqrt(1 - phi * phi)], [1.0, -phi], rng.standard_normal(n),
                        zi=[phi * first])
    return series


def _smooth(values: np.ndarray, tau_steps: float) -> np.ndarray:
    """Causal exponential smoothing along axis 0, started at the first value."""
    alpha = 1.0 - float(portable_math.exp(-1.0 / tau_steps))
    out, _ = lfilter([alpha], [1.0, alpha - 1.0], values, axis=0,
                     zi=(1.0 - alpha) * values[:1])
    return out
