"""Deterministic stand-ins for the licensed SEWA and AFEW-VA feature sets.

``sewa-synth`` and ``afew-va-synth`` have the shape of the real features (256-d face embeddings
in (-1, 1), SEWA at 5 fps, AFEW-VA at its films' 25 fps; 768-d wav2vec2-like audio windows of
1-4 s with hop L/2, SEWA only) and the properties
that make the real task hard:

- each session is one subject with a baseline, an expressivity (how strongly the face shows the
  emotion) and an identity component in the face embedding that carries no emotion;
- slow pose and illumination nuisance in the face embedding, frame-level extractor noise, and
  bursts of frames with no face (missing rows, gaps in time);
- latent valence/arousal are slow continuous processes (Ornstein-Uhlenbeck, seconds-scale);
  raters follow them sluggishly (SEWA: on time, as in its delay-compensated labels; the ``lag``
  factor makes them late), with slow and fast rater noise;
- audio follows turn-taking: while the subject speaks it carries arousal (strongly) and valence
  (weakly); silence and the partner's voice carry nothing about the subject;
- label ranges like SEWA's (arousal about -0.4..1.0, valence about -0.4..0.8 with its mode near
  0.2-0.4) or AFEW-VA's (600 short clips, integer labels in [-10, 10], video only);
- an oracle: ``valence_oracle`` / ``arousal_oracle`` hold the noise-free rating, the best any
  model could do.

Everything is drawn from ``numpy.random.default_rng`` seeded by (seed, stream, session), so the
same seed gives byte-identical files. ``GENERATOR_VERSION`` is bumped whenever the generative
model changes. The model's numbers: :mod:`emorec.data.synth_spec`; its named factors:
:mod:`emorec.data.synth_factors`; one session's draws: :mod:`emorec.data.synth_session`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from emorec.data.dataset import Dataset
from emorec.data.manifest import Manifest
from emorec.data.synth_factors import factor_suffix, with_factors
from emorec.data.synth_session import Extractor, session_tables
from emorec.data.synth_spec import (
    AUDIO_DIM,
    AUDIO_RATE,
    EMBEDDING_DIM,
    MIN_SESSIONS,
    SEWA_AUDIO_WINDOWS,
    SIZES,
    SPECS,
)

GENERATOR_VERSION = 3


def generate(kind: str, size: str = "full", seed: int = 0, factors: dict | None = None
             ) -> Dataset:
    """Build the stand-in ``kind`` ('sewa' or 'afew-va') at ``size`` from ``seed``, with the
    generator ``factors`` (:data:`emorec.data.synth_factors.FACTORS`) that differ from the kind's
    own named in the dataset's name and manifest."""
    if kind not in SPECS:
        raise ValueError(f"unknown stand-in {kind!r}; expected one of {sorted(SPECS)}")
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; expected one of {list(SIZES)}")
    spec, changed = with_factors(SPECS[kind], factors)
    if spec.with_audio and spec.base_rate != AUDIO_RATE:
        raise ValueError(f"{spec.name}: a stand-in with audio runs at the audio rate")
    n_sessions = max(MIN_SESSIONS, round(spec.sessions * SIZES[size]["sessions"]))
    extractor = Extractor(np.random.default_rng([seed, 0]), spec)
    video_parts, audio_parts = [], {length: [] for length in SEWA_AUDIO_WINDOWS}
    digits = len(str(n_sessions))
    prefix = "S" if kind == "sewa" else "C"
    for index in range(n_sessions):
        rng = np.random.default_rng([seed, 1, index])
        session = f"{prefix}{index + 1:0{max(3, digits)}d}"
        video, audio = session_tables(rng, spec, extractor, session,
                                      SIZES[size]["duration"])
        video_parts.append(video)
        for length, table in audio.items():
            audio_parts[length].append(table)
    video = pd.concat(video_parts, ignore_index=True)
    audio = ({length: pd.concat(parts, ignore_index=True) for length, parts in audio_parts.items()}
             if spec.with_audio else {})
    manifest = Manifest(
        name=(spec.name if size == "full" else f"{spec.name}-{size}") + factor_suffix(changed),
        origin="stand-in",
        fps=spec.fps, embedding_dim=EMBEDDING_DIM,
        audio_dim=AUDIO_DIM, audio_windows=tuple(audio), label_scale=spec.label_scale,
        source={"generator": kind, "size": size, "seed": seed,
                "generator_version": GENERATOR_VERSION,
                **({"factors": changed} if changed else {})},
    )
    return Dataset.create(manifest, video, audio, source=spec.name)
