"""Decoding: video frames at their own timestamps (PyAV), sampled onto a frame-rate grid; folders
of frame images; audio tracks or wav files as mono float32 at a model's rate (PyAV's resampler).

Frame times are seconds since the start of the video stream; a muxed audio track's own start
relative to it is :attr:`Probe.audio_offset` (a track that starts 1.5 s after the picture has
offset 1.5). A file that cannot be decoded is a :class:`~emorec.errors.DataError` naming it and
what was expected.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emorec.data.frame_rate import grid_slot
from emorec.errors import DataError

VIDEO_EXTENSIONS = (".mp4", ".avi", ".mkv", ".webm", ".mov")
AUDIO_EXTENSIONS = (".wav",)
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp")
VIDEO_EXPECTED = "a video file with a video stream (mp4, avi, mkv, webm)"


def sample_slots(times: Iterator[tuple[float, object]], fps: float) -> Iterator[tuple[float,
                                                                                     object]]:
    """From ``(time, item)`` in time order, the item nearest to each slot ``k / fps`` (slot
    ``round(time * fps)``), once per slot; slots no item falls into are skipped (no frame is
    repeated to fill a grid the source does not have)."""
    pending, pending_slot, pending_error = None, None, None
    for time, item in times:
        slot = int(grid_slot(time, fps))
        error = abs(time - slot / fps)
        if slot == pending_slot:
            if error < pending_error:
                pending, pending_error = (time, item), error
            continue
        if pending is not None:
            yield pending
        pending, pending_slot, pending_error = (time, item), slot, error
    if pending is not None:
        yield pending


@dataclass(frozen=True)
class Probe:
    """What a media file's header and first frames say, read before anything is extracted."""

    duration: float | None        # the container's stated duration (s), None if it states none
    video_start: float | None     # the video stream's start time (s); None: no video stream
    video_rate: float | None      # its average frame rate
    audio_start: float | None     # the first audio stream's start time (s); None: no audio

    @property
    def audio_offset(self) -> float:
        """Seconds from the first picture to the first sound of a muxed file."""
        if self.audio_start is None or self.video_start is None:
            return 0.0
        return round(self.audio_start - self.video_start, 6)


def probe(path: str | Path, expected: str = VIDEO_EXPECTED) -> Probe:
    """Open ``path`` and decode the first frame of its video and audio streams; DataError naming
    the file when it cannot be opened or either stream decodes nothing."""
    import av

    path = Path(path)
    container = _open(path, expected)
    with container:
        starts = {}
        for kind, streams in (("video", container.streams.video),
                              ("audio", container.streams.audio)):
            if not streams:
                continue
            stream = streams[0]
            try:
                first = next(iter(container.decode(stream)), None)
            except av.FFmpegError as error:
                raise DataError(path, f"cannot decode its {kind} ({_reason(error)})",
                                expected=expected) from None
            if first is None:
                raise DataError(path, f"no {kind} frame decoded", expected=expected)
            # where the stream's first frame lies (a header's start time can be a guess)
            starts[kind] = (float(first.time) if first.time is not None
                            else float((stream.start_time or 0) * stream.time_base))
            container.seek(0)
        video = container.streams.video[0] if container.streams.video else None
        stated = [container.duration / 1_000_000] if container.duration else []
        if video is not None and video.frames and video.average_rate:
            stated.append(video.frames / float(video.average_rate))   # AVI's header counts them
        return Probe(
            duration=max(stated) if stated else None,
            video_start=starts.get("video"),
            video_rate=float(video.average_rate) if video is not None and video.average_rate
            else None,
            audio_start=starts.get("audio"))


def _open(path: Path, expected: str):
    import av

    try:
        return av.open(str(path))
    except (av.FFmpegError, OSError, UnicodeDecodeError) as error:
        raise DataError(path, f"cannot decode ({_reason(error)})", expected=expected) from None


def _reason(error: Exception) -> str:
    text = getattr(error, "strerror", None) or str(error)
    return text.split(": '")[0].strip() or type(error).__name__


def video_frames(path: str | Path, fps: float) -> Iterator[tuple[float, np.ndarray]]:
    """``(time, RGB uint8 image)`` of the video's frames nearest to each ``k / fps``; the times
    are the frames' own presentation times relative to the stream's start."""
    import av

    path = Path(path)
    container = _open(path, VIDEO_EXPECTED)
    with container:
        if not container.streams.video:
            raise DataError(path, "no video stream", expected=VIDEO_EXPECTED,
                            found=f"{len(container.streams.audio)} audio streams only")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        start = float(stream.start_time * stream.time_base) if stream.start_time else 0.0
        rate = float(stream.average_rate or 25)

        def timed():
            for index, frame in enumerate(container.decode(stream)):
                time = frame.time - start if frame.time is not None else index / rate
                yield round(time, 6), frame

        decoded = 0
        try:
            for time, frame in sample_slots(timed(), fps):
                decoded += 1
                yield time, frame.to_ndarray(format="rgb24")
        except av.FFmpegError as error:
            raise DataError(path, f"cannot decode frame {decoded + 1} ({_reason(error)})",
                            expected=VIDEO_EXPECTED) from None
        if decoded == 0:
            raise DataError(path, "no frames decoded", expected=VIDEO_EXPECTED)


def frame_number(path: Path) -> int | None:
    found = re.findall(r"\d+", path.stem)
    return int(found[-1]) if found else None


def frame_images(folder: str | Path) -> list[tuple[int, Path]]:
    """A folder's frame images as (frame number, path) in frame order (the last number in the
    file name, as AFEW-VA's ``00012.png``)."""
    folder = Path(folder)
    numbered = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in IMAGE_EXTENSIONS:
            number = frame_number(path)
            if number is None:
                raise DataError(path, "no frame number in the file name",
                                expected="frame images numbered like 00012.png")
            numbered.append((number, path))
    if not numbered:
        raise DataError(folder, "no frame images",
                        expected=f"images ({', '.join(IMAGE_EXTENSIONS)}) numbered in order")
    numbered.sort()
    return numbered


def image_frames(folder: str | Path, source_fps: float,
                 fps: float) -> Iterator[tuple[float, np.ndarray]]:
    """``(time, RGB uint8 image)`` of a folder of numbered frame images taken at
    ``source_fps`` (frame n at n / source_fps), sampled at ``fps``."""
    import cv2

    for time, path in sample_slots(((round(n / source_fps, 6), p)
                                    for n, p in frame_images(folder)), fps):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise DataError(path, "cannot read the image", expected="a PNG or JPEG frame")
        yield time, cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def has_audio(path: str | Path) -> bool:
    container = _open(Path(path), VIDEO_EXPECTED)
    with container:
        return bool(container.streams.audio)


def read_audio(path: str | Path, rate: int) -> np.ndarray:
    """The first audio stream of ``path`` (a video with sound or a wav file), mixed to mono and
    resampled to ``rate`` Hz, as float32 samples."""
    import av

    path = Path(path)
    expected = "a wav file or a video with an audio track"
    container = _open(path, expected)
    chunks = []
    with container:
        if not container.streams.audio:
            raise DataError(path, "no audio track", expected=expected + " (or --no-audio)",
                            found="video only")
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
        try:
            for frame in container.decode(stream):
                frame.pts = None   # the resampler keeps its own running time
                chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]
            chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
        except av.FFmpegError as error:
            raise DataError(path, f"cannot decode the audio ({_reason(error)})",
                            expected=expected) from None
    if not chunks:
        raise DataError(path, "empty audio track", expected=expected)
    return np.concatenate(chunks).astype(np.float32)
