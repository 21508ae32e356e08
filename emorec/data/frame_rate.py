"""A dataset at a lower frame rate, as the thesis's extractor sampled every dataset at 5 fps
(AFEW-VA's 25 fps film frames: every fifth, by time).

Per session, the frame nearest each grid time ``k / fps`` is kept when it lies within half a
source frame period of it; a grid time whose frame is missing (no face) stays a gap, as it
would had the frames been sampled before face detection. A kept frame keeps its own time and
every column of the video table (path, embeddings, labels, oracle). Audio tables are kept
whole: views pair audio windows with frames by time, at any frame rate. The derived dataset is
named ``<name>-<fps>fps``, says in its manifest what it was derived from, and is fingerprinted
from its own content.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from emorec.data.dataset import MANIFEST_FILE, Dataset
from emorec.data.manifest import Manifest
from emorec.data.views import TIME_EPS, microseconds
from emorec.errors import DataError, EmorecError

log = logging.getLogger(__name__)

SOURCE_KEY = "frame_rate"   # the manifest's source entry of a sampled dataset
RATE_SUFFIX = re.compile(r"-(\d+(?:\.\d+)?)fps$")


def rate_suffix(fps: float) -> str:
    """``-5fps``: how a rate extends the name of a dataset sampled to it."""
    return f"-{float(fps):g}fps"


def grid_slot(times, fps: float) -> np.ndarray:
    """The grid slot ``k`` nearest each time (grid times ``k / fps``; half-way: the earlier)."""
    return np.floor(np.asarray(times, np.float64) * fps + 0.5 - 1e-9).astype(np.int64)


def frame_step(source_fps: float, fps: float) -> int:
    """How many source frame periods one period at ``fps`` spans. EmorecError (a line for the
    caller to prefix with what was sampled) unless ``fps`` divides ``source_fps``."""
    step = source_fps / fps if fps > 0 else 0.0
    if not (round(step) >= 1 and abs(step - round(step)) <= 1e-6 * step):
        whole = [f"{source_fps / n:g}" for n in range(1, int(source_fps) + 1)
                 if (source_fps / n).is_integer()]
        examples = f"e.g. {', '.join(whole[:-1])} or {whole[-1]}: " if len(whole) > 1 else ""
        raise EmorecError(f"cannot sample {source_fps:g} fps to {fps:g} fps; expected a rate "
                          f"that divides {source_fps:g} fps ({examples}{source_fps:g} / n for a "
                          f"whole n), found {fps:g}")
    return int(round(step))


def on_grid(sessions: pd.Series, times: pd.Series, source_fps: float, fps: float) -> np.ndarray:
    """Which rows to keep: per session and grid time, the frame nearest it within half a source
    frame period (of two as near to the microsecond, the earlier)."""
    times = times.to_numpy(np.float64)
    slot = grid_slot(times, fps)
    error = np.abs(times - slot / fps)
    near = np.flatnonzero(error <= 0.5 / source_fps + TIME_EPS)
    candidates = pd.DataFrame({"session": sessions.to_numpy()[near], "slot": slot[near],
                               "error": microseconds(error[near]), "row": near})
    nearest = (candidates.sort_values("error", kind="stable")
               .drop_duplicates(["session", "slot"], keep="first")["row"].to_numpy())
    keep = np.zeros(len(times), bool)
    keep[nearest] = True
    return keep


def at_frame_rate(dataset: Dataset, fps: float) -> Dataset:
    """``dataset`` sampled to ``fps`` (itself when it is at that rate already)."""
    where = dataset.root or dataset.name
    source_fps = dataset.manifest.fps
    try:
        step = frame_step(source_fps, fps)
    except EmorecError as error:
        raise EmorecError(f"{where}: {error}") from None
    if step == 1:
        return dataset
    video = dataset.video
    kept = video[on_grid(video["session"], video["timestamp"], source_fps, fps)]
    if kept.empty:
        raise DataError(where, f"no frame lies on the {fps:g} fps grid", column="timestamp",
                        expected=f"frames within half a frame period of k / {fps:g} s")
    gone = sorted(set(dataset.sessions) - set(kept["session"]))
    split_table = dataset.split_table
    if gone:
        log.warning("%s at %g fps: %d sessions have no frame on the grid and are left out: %s",
                    dataset.name, fps, len(gone), ", ".join(gone[:5]))
        split = dataset.split().table
        split_table = split[~split["session"].isin(gone)].reset_index(drop=True)
    manifest = replace(
        dataset.manifest, name=dataset.name + rate_suffix(fps), fps=float(fps),
        extractor_train=tuple(s for s in dataset.manifest.extractor_train if s not in gone),
        source={**dataset.manifest.source, SOURCE_KEY: {
            "from": dataset.name, "from_fingerprint": dataset.manifest.fingerprint,
            "from_fps": source_fps, "fps": float(fps), "every": step}})
    derived = Dataset.create(manifest, kept.reset_index(drop=True), dataset.audio, split_table,
                             source=f"{dataset.name} at {fps:g} fps")
    log.info("%s at %g fps: %d of %d frames kept (every %d, by time)", dataset.name, fps,
             len(kept), len(video), step)
    return replace(derived, labels_raw=dataset.labels_raw)


def frame_rate_folder(base: Path, fps: float | None, out: Path | None = None) -> Path:
    """The folder of the dataset in ``base`` at ``fps``: ``base`` itself when it is at that rate
    already (or ``fps`` is None), else ``out`` (default: ``<base>-<fps>fps`` beside it), written
    when missing or out of date."""
    base = Path(base)
    if fps is None or _rate_of(base) == fps:
        return base
    dataset = Dataset.load(base)
    derived = at_frame_rate(dataset, fps)
    if derived is dataset:
        return base
    folder = Path(out) if out is not None else base.with_name(base.name + rate_suffix(fps))
    if derived.save_if_changed(folder):
        log.info("wrote %s: %s at %g fps", folder, dataset.name, fps)
    return folder


def _rate_of(folder: Path) -> float | None:
    """The frame rate a dataset folder's manifest gives (None without one), read without the
    tables."""
    path = folder / MANIFEST_FILE
    return Manifest.from_json(path.read_text(), str(path)).fps if path.is_file() else None
