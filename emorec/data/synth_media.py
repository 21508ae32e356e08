"""``emorec data synth-media``: a small set of real media files made from a known valence/arousal
trace, for testing ``emorec extract`` end to end. A stand-in: ``emorec-media.json`` in the
folder says so (origin ``stand-in``, name ``media-synth``), and every dataset extracted from it
carries that origin and name.

Each recording (``media01.mp4`` ...) has
- video: a real face (scikit-image's public-domain ``astronaut`` photograph) drifting slowly
  over a background of the session's own colour, at a size of its own; its look follows
  **valence** (warmer and brighter colour, mouth corners warped up for positive valence;
  colder, darker, corners down for negative), with a few spells where the face leaves the
  picture (gaps);
- sound: speech from Debian's ``espeak-ng`` in turns with pauses, whose pitch, rate and
  loudness follow **arousal**;
- ratings in the SEWA layout, ``labels/<recording>.csv`` (``timestamp, arousal, valence`` at
  10 Hz, with a little rater noise);
- the truth tests check against: ``truth/<recording>.json`` (each video frame's face box or
  none, each speech turn's start and end).

Everything is drawn from ``numpy.random.default_rng((seed, session))``: the same seed gives the
same files.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emorec.errors import EmorecError
from emorec.system.files import replace_folder

GENERATOR_VERSION = 1
NAME = "media-synth"
SIDECAR = "emorec-media.json"
RATING_RATE = 10.0          # Hz
HEAD = (150, 30, 150, 170)  # x, y, w, h of the head in the astronaut photograph
FACE = (177, 67, 93, 93)    # the face box OpenCV's Haar cascade finds in it
MOUTH = (195, 128, 60, 28)  # x, y, w, h of the mouth region in it
WORDS = ("hello there the weather was lovely today and we went for a long walk by the river "
         "then we talked about music and films over dinner with some friends from work").split()
AUDIO_MODES = ("muxed", "wav", "none")


@dataclass(frozen=True)
class MediaSpec:
    sessions: int = 12
    duration_s: float = 30.0
    video_fps: float = 10.0
    width: int = 320
    height: int = 240
    audio_rate: int = 22050   # espeak-ng's own rate; extraction resamples it
    audio: str = "muxed"      # muxed in the mp4, a wav file beside it, or none
    gaps_per_session: int = 2
    codec: str = "libx264"


def espeak() -> str:
    found = shutil.which("espeak-ng")
    if found is None:
        raise EmorecError("espeak-ng not found: synth-media speaks with it; install it with "
                          "`apt-get install espeak-ng`")
    return found


def generate(out: str | Path, spec: MediaSpec = MediaSpec(), seed: int = 0) -> Path:
    """Write the media folder whole (or leave what was there)."""
    if spec.audio not in AUDIO_MODES:
        raise EmorecError(f"--audio: expected one of {', '.join(AUDIO_MODES)}, found "
                          f"{spec.audio!r}")
    if spec.sessions < 1 or not spec.duration_s >= 4:
        raise EmorecError("synth-media needs at least 1 session of at least 4 s")
    program = espeak() if spec.audio != "none" else None
    from skimage import data

    photo = np.ascontiguousarray(data.astronaut())

    def write(folder: Path) -> None:
        (folder / "labels").mkdir()
        (folder / "truth").mkdir()
        for index in range(spec.sessions):
            _recording(folder, f"media{index + 1:02d}", index, photo, spec, seed, program)
        (folder / SIDECAR).write_text(json.dumps({
            "origin": "stand-in", "name": NAME, "generator_version": GENERATOR_VERSION,
            "seed": seed, "spec": spec.__dict__,
            "note": "generated media (synthetic face video and espeak-ng speech); not real "
                    "data"}, indent=1, sort_keys=True) + "\n")

    replace_folder(Path(out), write, keep_if=SIDECAR)
    return Path(out)


def trace(rng: np.random.Generator, count: int, tau_s: float = 4.0,
          std: float = 0.45) -> np.ndarray:
    """A slow Ornstein-Uhlenbeck trace at RATING_RATE in (-0.9, 0.9)."""
    a = np.exp(-1.0 / (tau_s * RATING_RATE))
    x = np.empty(count)
    x[0] = rng.normal(0, std)
    noise = rng.normal(0, std * np.sqrt(1 - a * a), count)
    for i in range(1, count):
        x[i] = a * x[i - 1] + noise[i]
    return np.clip(x + rng.normal(0, 0.1), -0.9, 0.9)


def _recording(folder: Path, name: str, index: int, photo: np.ndarray, spec: MediaSpec,
               seed: int, program: str | None) -> None:
    rng = np.random.default_rng((seed, index))
    ratings = int(spec.duration_s * RATING_RATE) + 1
    rating_times = np.arange(ratings) / RATING_RATE
    valence, arousal = trace(rng, ratings), trace(rng, ratings)
    noisy = {t: np.clip(v + rng.normal(0, 0.03, ratings), -1, 1)
             for t, v in (("valence", valence), ("arousal", arousal))}
    with (folder / "labels" / f"{name}.csv").open("w") as handle:
        handle.write("timestamp,arousal,valence\n")
        for i in range(ratings):
            handle.write(f"{rating_times[i]:.1f},{noisy['arousal'][i]:.4f},"
                         f"{noisy['valence'][i]:.4f}\n")

    frames, boxes = _frames(rng, photo, spec, rating_times, valence)
    audio, turns = (_speech(rng, spec, rating_times, arousal, program)
                    if spec.audio != "none" else (None, []))
    _mux(folder / f"{name}.mp4", frames, audio if spec.audio == "muxed" else None, spec)
    if spec.audio == "wav":
        with wave.open(str(folder / f"{name}.wav"), "wb") as handle:
            handle.setnchannels(1)
            handle.setsampwidth(2)
            handle.setframerate(spec.audio_rate)
            handle.writeframes((np.clip(audio, -1, 1) * 32767).astype("<i2").tobytes())
    (folder / "truth" / f"{name}.json").write_text(json.dumps({
        "video_fps": spec.video_fps, "size": [spec.width, spec.height],
        "faces": [{"time": round(i / spec.video_fps, 6), "box": box}
                  for i, box in enumerate(boxes)],
        "speech": [{"start": round(a, 4), "end": round(b, 4)} for a, b in turns]}) + "\n")


def _frames(rng, photo, spec: MediaSpec, rating_times, valence):
    """The video frames and each one's face box (None in a gap)."""
    import cv2

    x, y, w, h = HEAD
    scale = rng.uniform(0.95, 1.15)
    head = cv2.resize(photo[y:y + h, x:x + w], (round(w * scale), round(h * scale)),
                      interpolation=cv2.INTER_AREA).astype(np.float32)
    background = rng.uniform(30, 110, 3).astype(np.float32)   # Haar finds faces on these
    gain = rng.uniform(0.92, 1.08)
    count = int(spec.duration_s * spec.video_fps)
    times = np.arange(count) / spec.video_fps
    gaps = np.zeros(count, bool)
    for _ in range(spec.gaps_per_session):
        start = rng.uniform(1, max(spec.duration_s - 3, 1.5))
        gaps |= (times >= start) & (times < start + rng.uniform(0.8, 2.0))
    room_x, room_y = spec.width - head.shape[1], spec.height - head.shape[0]
    phase = rng.uniform(0, 2 * np.pi, 2)
    frames, boxes = [], []
    for i, t in enumerate(times):
        canvas = np.empty((spec.height, spec.width, 3), np.float32)
        canvas[:] = background
        if gaps[i]:
            frames.append(canvas.astype(np.uint8))
            boxes.append(None)
            continue
        v = float(np.interp(t, rating_times, valence))
        face = _expression(head, v, scale) * gain
        px = round(room_x * (0.5 + 0.4 * np.sin(0.21 * t + phase[0])))
        py = round(room_y * (0.5 + 0.4 * np.sin(0.17 * t + phase[1])))
        canvas[py:py + face.shape[0], px:px + face.shape[1]] = face
        frames.append(np.clip(canvas, 0, 255).astype(np.uint8))
        boxes.append([px + round((FACE[0] - HEAD[0]) * scale),
                      py + round((FACE[1] - HEAD[1]) * scale),
                      round(FACE[2] * scale), round(FACE[3] * scale)])
    return frames, boxes


def _expression(head: np.ndarray, valence: float, scale: float) -> np.ndarray:
    """The head with the look of ``valence``: colour temperature and brightness, and the mouth
    corners warped up (positive) or down (negative)."""
    import cv2

    tint = np.array([1 + 0.25 * valence, 1 + 0.05 * valence, 1 - 0.25 * valence], np.float32)
    face = head * tint + 25 * valence
    mx, my, mw, mh = ((MOUTH[0] - HEAD[0]) * scale, (MOUTH[1] - HEAD[1]) * scale,
                      MOUTH[2] * scale, MOUTH[3] * scale)
    rows, cols = np.mgrid[0:face.shape[0], 0:face.shape[1]].astype(np.float32)
    across = np.clip((cols - (mx + mw / 2)) / (mw / 2), -1.5, 1.5)
    inside = np.exp(-(((rows - (my + mh / 2)) / mh) ** 2)) * (np.abs(across) <= 1.5)
    shift = 6 * scale * valence * across ** 2 * inside
    return cv2.remap(face, cols, (rows + shift).astype(np.float32), cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REFLECT)


def _speech(rng, spec: MediaSpec, rating_times, arousal, program: str):
    """The sound track: speech turns of 1.5-3.5 s and pauses of 0.4-1.5 s, each turn spoken
    with the pitch, rate and loudness of the arousal at its middle; quiet noise between."""
    total = int(spec.duration_s * spec.audio_rate)
    audio = rng.normal(0, 0.002, total).astype(np.float32)
    turns, t = [], rng.uniform(0.2, 1.0)
    with tempfile.TemporaryDirectory(prefix="emorec-speech-") as scratch:
        while t < spec.duration_s - 1.0:
            slot = min(rng.uniform(1.5, 3.5), spec.duration_s - t)
            a = float(np.interp(t + slot / 2, rating_times, arousal))
            level = (a + 1) / 2   # 0..1
            words = " ".join(rng.choice(WORDS, size=12))
            path = Path(scratch) / "turn.wav"
            subprocess.run([program, "-v", "en", "-p", str(round(20 + 70 * level)),
                            "-s", str(round(110 + 160 * level)),
                            "-a", str(round(40 + 140 * level)), "-w", str(path), words],
                           check=True, capture_output=True)
            speech = _read_wav(path, spec.audio_rate)
            begin = int(t * spec.audio_rate)
            speech = speech[:min(int(slot * spec.audio_rate), total - begin)]
            audio[begin:begin + len(speech)] += speech
            turns.append((t, t + len(speech) / spec.audio_rate))
            t += slot + rng.uniform(0.4, 1.5)
    return audio, turns


def _read_wav(path: Path, rate: int) -> np.ndarray:
    with wave.open(str(path), "rb") as handle:
        if handle.getframerate() != rate or handle.getsampwidth() != 2:
            raise EmorecError(f"espeak-ng wrote {handle.getframerate()} Hz, "
                              f"{8 * handle.getsampwidth()}-bit audio; expected {rate} Hz 16-bit")
        samples = np.frombuffer(handle.readframes(handle.getnframes()), "<i2")
    return samples.astype(np.float32) / 32768.0


def _mux(path: Path, frames: list, audio: np.ndarray | None, spec: MediaSpec) -> None:
    import av

    with av.open(str(path), "w") as container:
        video = container.add_stream(spec.codec, rate=round(spec.video_fps))
        video.width, video.height, video.pix_fmt = spec.width, spec.height, "yuv420p"
        video.codec_context.thread_count = 1   # the same bytes every time
        if spec.codec == "libx264":
            video.options = {"preset": "veryfast", "crf": "20"}
        sound = None
        if audio is not None:
            sound = container.add_stream("aac", rate=spec.audio_rate, layout="mono")
        for index, image in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = index
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if sound is not None:
            size = sound.codec_context.frame_size or 1024
            for begin in range(0, len(audio), size):
                chunk = np.zeros((1, size), np.float32)
                piece = audio[begin:begin + size]
                chunk[0, :len(piece)] = np.clip(piece, -1, 1)
                frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                frame.sample_rate, frame.pts = spec.audio_rate, begin
                container.mux(sound.encode(frame))
            container.mux(sound.encode(None))
