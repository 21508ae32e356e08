"""Extraction throughput with the thesis's model geometry: frames/s for faces and audio-seconds/s
for speech, against decoding alone (the floor), and the speech model's two passes (per window,
or one pass over the whole recording pooled per window) with how far their features differ; or,
with ``--audio-features egemaps`` / ``egemaps-lld``, openSMILE's eGeMAPS functionals per window
or its low-level descriptors in one pass pooled per window (the sound only: no face stage). An
audio throughput in audio-s/s is the real-time factor: seconds of sound processed per second.

The models are EfficientNet-B1 and wav2vec2-base built from their configs with random weights
(`emorec data tiny-models --geometry full`; nothing is downloaded), so the timings are those of
the real networks; the feature differences between passes are those of random weights, a
rough guide to the trained model's. Media: `emorec data synth-media` (320x240 at 10 fps, speech
at 22.05 kHz), sampled at 5 fps as `emorec extract` does.

    .venv/bin/python benchmarks/perf/extraction_speed.py [--sessions 2] [--duration 30]
        [--device auto|cpu|cuda] [--batch-size 32] [--out REPORT.md]
        [--audio-features embedding|egemaps|egemaps-lld ...]

With ``--out`` the tables are also written as a markdown report with the machine they were
measured on (processor, cores, load average at the start, torch and its device), the report the
docs link: ``benchmarks/perf/results/extraction-<device>.md`` (``extraction-egemaps-cpu.md``
for eGeMAPS).
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from tabulate import tabulate

from emorec.system.provenance import code_version

sys.path.insert(0, str(Path(__file__).parent))
from machine import processor  # noqa: E402

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from emorec.data.synth_media import MediaSpec, generate  # noqa: E402
from emorec.extract import faces, media  # noqa: E402
from emorec.extract.build_models import build  # noqa: E402
from emorec.extract.egemaps import AUDIO_FEATURES, LEVELS, Egemaps  # noqa: E402
from emorec.extract.face_model import FaceModel  # noqa: E402
from emorec.extract.model_loading import resolve_device  # noqa: E402
from emorec.extract.voice_model import VoiceModel, window_starts  # noqa: E402

WINDOWS = (1.0, 2.0, 3.0, 4.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=2)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", type=Path, default=None, help="also write a markdown report")
    parser.add_argument("--audio-features", nargs="+", choices=AUDIO_FEATURES,
                        default=["embedding"],
                        help="embedding: faces and the speech model (the default); egemaps, "
                             "egemaps-lld: openSMILE's eGeMAPS levels, sound only")
    args = parser.parse_args()
    if "embedding" not in args.audio_features:
        egemaps_speed(args, os.getloadavg()[0])
        return
    load = os.getloadavg()[0]
    device = resolve_device(args.device)
    import torch

    with tempfile.TemporaryDirectory(prefix="emorec-speed-") as scratch:
        scratch = Path(scratch)
        root = generate(scratch / "media", MediaSpec(sessions=args.sessions,
                                                     duration_s=args.duration), seed=0)
        models = build(scratch / "models", "full", seed=0)
        face = FaceModel(str(models / "face"), device, args.batch_size)
        voice = VoiceModel(str(models / "voice"), device, -1, args.batch_size)
        videos = sorted(root.glob("*.mp4"))
        seconds = args.sessions * args.duration
        rows = []

        def timed(what, unit, amount, work):
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            result = work()
            if device == "cuda":
                torch.cuda.synchronize()
            elapsed = time.perf_counter() - start
            rows.append([what, f"{amount / elapsed:,.1f} {unit}/s", f"{elapsed:.2f}"])
            return result

        frames = timed("decode + sample at 5 fps (floor)", "frames",
                       sum(1 for v in videos for _ in media.video_frames(v, 5.0)),
                       lambda: [img for v in videos for _, img in media.video_frames(v, 5.0)])
        sampled = len(frames)
        rows[-1][1] = f"{sampled / float(rows[-1][2]):,.1f} frames/s"
        detect = faces.detector("haar")
        crops = timed("Haar detection + crop", "frames", sampled, lambda: np.stack([
            faces.crop(img, box, 0.2, face.input_size) for img in frames
            if (box := faces.largest(detect(img))) is not None]))
        timed(f"EfficientNet-B1 embedding ({face.dim}-d, {device})", "frames", len(crops),
              lambda: face.embed(crops))
        face_total = sum(float(r[2]) for r in rows)
        rows.append(["faces end to end", f"{sampled / face_total:,.1f} frames/s",
                     f"{face_total:.2f}"])

        signals = timed("audio decode + resample to 16 kHz (floor)", "audio-s", seconds,
                        lambda: [media.read_audio(v, voice.rate) for v in videos])

        def per_window():
            return [{L: voice.per_window(s, window_starts(len(s) / voice.rate, L), L)
                     for L in WINDOWS} for s in signals]

        def whole():
            out = []
            for s in signals:
                states, centres = voice.frames(s)
                out.append({L: voice.pool(states, centres,
                                          window_starts(len(s) / voice.rate, L), L)
                            for L in WINDOWS})
            return out

        separate = timed(f"wav2vec2-base per window, {len(WINDOWS)} lengths ({device})",
                         "audio-s", seconds, per_window)
        pooled = timed(f"wav2vec2-base whole pass, pooled to {len(WINDOWS)} lengths ({device})",
                       "audio-s", seconds, whole)
        setting = (f"device {device}, torch threads {torch.get_num_threads()}, {args.sessions} "
                   f"recordings of {args.duration:g} s ({sampled} frames sampled, {len(crops)} "
                   "with a face)")
        print(setting)
        print(tabulate(rows, headers=["stage", "throughput", "seconds"]))
        print()
        differ = []
        for length in WINDOWS:
            a = np.concatenate([s[length] for s in separate])
            b = np.concatenate([p[length] for p in pooled])
            cosine = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
            relative = np.linalg.norm(a - b, axis=1) / np.linalg.norm(a, axis=1)
            differ.append([f"{length:g} s", len(a), f"{cosine.mean():.4f}",
                           f"{cosine.min():.4f}", f"{relative.mean():.3f}",
                           f"{relative.max():.3f}"])
        differ_headers = ["window", "windows", "cosine mean", "cosine min", "rel. error mean",
                          "rel. error max"]
        print("whole pass against per window, per window (random weights):")
        print(tabulate(differ, headers=differ_headers))
        if args.out:
            write_report(args.out, setting, load, torch.__version__, rows,
                         (differ_headers, differ))


def egemaps_speed(args, load: float) -> None:
    """Decoding (the floor) and each eGeMAPS level asked for, over every window length."""
    import opensmile

    with tempfile.TemporaryDirectory(prefix="emorec-speed-") as scratch:
        root = generate(Path(scratch) / "media", MediaSpec(sessions=args.sessions,
                                                           duration_s=args.duration), seed=0)
        videos = sorted(root.glob("*.mp4"))
        seconds, rows = args.sessions * args.duration, []
        for features in ("egemaps", "egemaps-lld"):
            if features not in args.audio_features:
                continue
            model = Egemaps(LEVELS[features])
            start = time.perf_counter()
            signals = [media.read_audio(v, model.rate) for v in videos]
            decode = time.perf_counter() - start
            start = time.perf_counter()
            windows = 0
            for signal in signals:
                duration = len(signal) / model.rate
                if model.level == "lld":
                    states, centres = model.frames(signal)
                for length in WINDOWS:
                    starts = window_starts(duration, length)
                    windows += len(starts)
                    if model.level == "lld":
                        model.pool(states, centres, starts, length)
                    else:
                        model.per_window(signal, starts, length)
            elapsed = time.perf_counter() - start
            how = ("functionals of each window" if model.level == "functionals"
                   else "low-level descriptors in one pass, pooled")
            rows.append([f"audio decode + resample to {model.rate // 1000} kHz (floor)",
                         f"{seconds / decode:,.1f} audio-s/s", f"{decode:.2f}"])
            rows.append([f"{features}: {model.dim} {how} ({windows} windows of "
                         f"{len(WINDOWS)} lengths)", f"{seconds / elapsed:,.1f} audio-s/s",
                         f"{elapsed:.2f}"])
    setting = (f"opensmile {opensmile.__version__} (eGeMAPSv02), one process, "
               f"{args.sessions} recordings of {args.duration:g} s, windows "
               f"{', '.join(f'{w:g}' for w in WINDOWS)} s with hop L/2")
    print(setting)
    print(tabulate(rows, headers=["stage", "throughput", "seconds"]))
    if args.out:
        write_report(args.out, setting, load, None, rows, None)


def write_report(path: Path, setting: str, load: float, torch_version: str | None, rows: list,
                 differ: tuple[list, list] | None) -> None:
    machine = (f"{processor()}, load average {load:.2f} at the start; "
               f"Python {platform.python_version()}"
               + (f", torch {torch_version}" if torch_version else "")
               + f"; emorec commit {code_version()}")
    if differ is None:
        made = ("openSMILE's eGeMAPSv02 through the `opensmile` package, on the speech of media "
                "from `emorec data synth-media`")
        title = "eGeMAPS extraction throughput"
        tail = []
    else:
        made = ("EfficientNet-B1 and wav2vec2-base geometry, random weights; media from `emorec "
                "data synth-media`")
        title = "Extraction throughput"
        tail = ["Whole pass against per window, per window (random weights):", "",
                tabulate(differ[1], headers=differ[0], tablefmt="github"), ""]
    text = "\n".join([
        f"# {title}", "",
        f"Measured {datetime.date.today():%Y-%m-%d} by `benchmarks/perf/extraction_speed.py` "
        f"({made}).", "", f"Machine: {machine}.", "", f"Setting: {setting}.", "",
        tabulate(rows, headers=["stage", "throughput", "seconds"], tablefmt="github"), "",
        *tail])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
