"""What an input folder holds, per layout: its recordings (a video, or a folder of frame images)
with where their sound comes from, and where their ratings are.

- ``sewa``: videos ``<recording>.mp4|avi|mkv|webm`` (sound from the video, or from
  ``<recording>.wav`` beside it); one annotation file per recording in ``--labels`` (default:
  ``INPUT/labels``, else INPUT itself);
- ``afew-va``: one folder per clip with numbered PNG frames and ``<clip>.json`` (no sound);
- ``files``: videos as in ``sewa`` and/or folders of numbered frame images (sound from
  ``<name>.wav`` beside the folder); ratings from one CSV ``session,time,valence,arousal``
  (``--labels``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from emorec.errors import DataError
from emorec.extract.media import AUDIO_EXTENSIONS, IMAGE_EXTENSIONS, VIDEO_EXTENSIONS, has_audio

log = logging.getLogger(__name__)

LAYOUTS = ("sewa", "afew-va", "files")
AFEW_VA_SOURCE_FPS = 25.0


@dataclass(frozen=True)
class Recording:
    name: str
    video: Path | None = None      # a video file ...
    frames: Path | None = None     # ... or a folder of numbered frame images
    audio: Path | None = None      # where its sound is decoded from (None: no sound used)

    @property
    def source(self) -> Path:
        return self.video if self.video is not None else self.frames


def discover(root: str | Path, layout: str, with_audio: bool) -> list[Recording]:
    """The recordings of ``root`` in name order. With ``with_audio``, each must have sound (its
    video's track or a wav file); DataError naming the first that has none."""
    root = Path(root)
    if layout not in LAYOUTS:
        raise DataError("--layout", "unknown layout", expected=" or ".join(LAYOUTS),
                        found=repr(layout))
    if not root.is_dir():
        raise DataError(root, "not a folder" if root.exists() else "input folder not found",
                        expected="a folder of recordings")
    entries = sorted(root.iterdir())
    wavs = {p.stem: p for p in entries if p.suffix.lower() in AUDIO_EXTENSIONS}
    recordings = []
    if layout != "afew-va":
        recordings += [Recording(p.stem, video=p, audio=wavs.get(p.stem, p))
                       for p in entries if p.is_file() and p.suffix.lower() in VIDEO_EXTENSIONS]
    if layout != "sewa":
        for folder in (p for p in entries if p.is_dir() and not p.name.startswith(".")):
            if not any(f.suffix.lower() in IMAGE_EXTENSIONS for f in folder.iterdir()):
                continue
            if layout == "afew-va" and not (folder / f"{folder.name}.json").is_file():
                raise DataError(folder / f"{folder.name}.json", "recording without labels",
                                expected="AFEW-VA's <clip>/<clip>.json beside the frames")
            recordings.append(Recording(folder.name, frames=folder,
                                        audio=wavs.get(folder.name)))
    names = [r.name for r in recordings]
    if len(set(names)) < len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise DataError(root, "two recordings with one name", expected="each name once",
                        found=", ".join(repeated[:4]))
    if not recordings:
        expected = {"sewa": f"videos ({', '.join(VIDEO_EXTENSIONS)})",
                    "afew-va": "one folder per clip with PNG frames and <clip>.json",
                    "files": f"videos ({', '.join(VIDEO_EXTENSIONS)}) or folders of numbered "
                             "frame images"}[layout]
        raise DataError(root, f"no recordings for layout {layout}", expected=expected,
                        found=", ".join(p.name for p in entries[:5]) or "an empty folder")
    unused = sorted(set(wavs) - set(names))
    if unused:
        log.warning("%s: %d wav files match no video or frame folder by name and are not used: "
                    "%s", root, len(unused), ", ".join(unused[:5]))
    if with_audio:
        for recording in recordings:
            if recording.audio is None or (recording.audio == recording.video
                                           and not has_audio(recording.video)):
                raise DataError(recording.source, "recording without sound",
                                expected=f"an audio track, or {recording.name}.wav beside it "
                                         "(or extract faces only with --no-audio)",
                                found="no audio track" if recording.video else "no wav file")
    return recordings if with_audio else [Recording(r.name, r.video, r.frames, None)
                                          for r in recordings]
