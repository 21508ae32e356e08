"""Face detectors (by name, pluggable) and the crop of the largest face of a frame.

A detector maps an RGB image to boxes ``(x, y, width, height)``. Built in: ``haar`` (OpenCV's
frontal-face Haar cascade, shipped in the opencv-python-headless wheel), ``haar-alt2`` (its
alt2 cascade) and ``full-frame`` (the whole image is the face: for frames already cropped to
one face). Others: ``module:function``, a callable taking ``(image)`` and returning boxes, or
register one in :data:`DETECTORS`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from emorec.errors import EmorecError

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
        found = _cascade(self.cascade).detectMultiScale(
            gray, scaleFactor=self.scale_factor, minNeighbors=self.min_neighbors,
            minSize=(self.min_size, self.min_size))
        return [tuple(int(v) for v in box) for box in np.asarray(found).reshape(-1, 4)]


_CASCADES: dict = {}


def _cascade(name: str):
    """One classifier per cascade and thread (OpenCV's classifier is not thread-safe)."""
    import threading

    import cv2

    key = (name, threading.get_ident())
    if key not in _CASCADES:
        classifier = cv2.CascadeClassifier(cv2.data.haarcascades + name)
        if classifier.empty():
            raise EmorecError(f"OpenCV's Haar cascade {name} is missing from "
                              f"{cv2.data.haarcascades} (reinstall opencv-python-headless)")
        _CASCADES[key] = classifier
    return _CASCADES[key]


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
        return [tuple(int(v) for v in box) for box in self.function(image)]


DETECTORS: dict[str, Callable[[], object]] = {
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
