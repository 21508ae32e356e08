"""Ratings to frames: a rating series (``session, time, valence, arousal``, in the model's scale)
interpolated at frame times, within the rating's own sample period and never across a gap or
past its ends; and datasets derived with another rating delay from the raw series an extracted
dataset keeps (``labels_raw.parquet``).

A rating delay ``d`` says raters were ``d`` seconds late: the frame at ``t`` gets the rating
made at ``t + d``.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from emorec.data.dataset import Dataset, format_seconds
from emorec.errors import DataError
from emorec.vocabulary import TARGETS

log = logging.getLogger(__name__)

RAW_COLUMNS = ("session", "time", *TARGETS)
GAP_FACTOR = 1.5   # consecutive ratings further apart than this many sample periods: a gap


def align(sessions: np.ndarray, times: np.ndarray, raw: pd.DataFrame,
          delay: float = 0.0) -> np.ndarray:
    """(n, 2) valence/arousal at each frame time (+ ``delay``); NaN where no rating covers it."""
    out = np.full((len(times), len(TARGETS)), np.nan)
    groups = {session: part for session, part in raw.groupby("session", sort=False)}
    for session in pd.unique(sessions):
        rows = np.flatnonzero(sessions == session)
        part = groups.get(session)
        if part is None or part.empty:
            continue
        part = part.sort_values("time")
        tau = part["time"].to_numpy(float)
        values = part[list(TARGETS)].to_numpy(float)
        t = times[rows] + delay
        if len(tau) == 1:
            hit = np.isclose(t, tau[0])
            out[rows[hit]] = values[0]
            continue
        period = float(np.median(np.diff(tau)))
        right = np.clip(np.searchsorted(tau, t, side="right"), 1, len(tau) - 1)
        left = right - 1
        span = tau[right] - tau[left]
        on_sample = np.isclose(t, tau[left]) | np.isclose(t, tau[right])
        inside = (t >= tau[0]) & (t <= tau[-1]) & ((span <= GAP_FACTOR * period) | on_sample)
        weight = np.where(span > 0, (t - tau[left]) / np.where(span > 0, span, 1), 0)[:, None]
        interpolated = (1 - weight) * values[left] + weight * values[right]
        out[rows[inside]] = interpolated[inside]
    return out


def with_label_delay(dataset: Dataset, delay: float) -> Dataset:
    """The dataset with its labels aligned again from its raw ratings at ``delay`` seconds:
    named ``<name>-delay<d>`` (unless ``d`` is the dataset's own delay), with its own
    fingerprint. Frames the shifted ratings no longer cover are dropped and counted."""
    raw = dataset.labels_raw
    extraction = dataset.manifest.source.get("extraction")
    if raw is None or not extraction:
        raise DataError(dataset.root or dataset.name, "no raw rating series to align again",
                        expected="a dataset made by `emorec extract` (labels_raw.parquet)")
    own = float(extraction["labels"]["delay_s"])
    video = dataset.video
    labels = align(video["session"].to_numpy(), video["timestamp"].to_numpy(float), raw, delay)
    keep = np.isfinite(labels).all(axis=1)
    if not keep.any():
        raise DataError(dataset.root or dataset.name, f"no frame has a rating at delay "
                        f"{delay:g} s", expected="a delay shorter than the recordings")
    if (~keep).sum():
        log.info("%s at delay %g s: %d frames are past the shifted ratings and left out",
                 dataset.name, delay, int((~keep).sum()))
    video = video.assign(**{t: labels[:, i] for i, t in enumerate(TARGETS)})[keep]
    extraction = copy.deepcopy(extraction)
    extraction["labels"]["delay_s"] = float(delay)
    name = dataset.name if delay == own else f"{dataset.name}-delay{format_seconds(delay)}"
    manifest = replace(dataset.manifest, name=name,
                       source={**dataset.manifest.source, "extraction": extraction})
    derived = Dataset.create(manifest, video.reset_index(drop=True), dataset.audio,
                             dataset.split_table, source=f"{dataset.name} at delay {delay:g} s")
    return replace(derived, labels_raw=raw)


def delayed_datasets(base: Path, delays: tuple[float, ...]) -> list[Path]:
    """The folders of the dataset in ``base`` aligned at each delay (``base`` itself at its own
    delay; others ``<base>-delay<d>`` beside it, written when missing or out of date). No
    delays: [base]."""
    if not delays:
        return [base]
    dataset = Dataset.load(base)
    own = float(dataset.manifest.source.get("extraction", {}).get("labels", {})
                .get("delay_s", -1))
    folders = []
    for delay in delays:
        if delay == own:
            folders.append(base)
            continue
        folder = base.with_name(f"{base.name}-delay{format_seconds(delay)}")
        if with_label_delay(dataset, delay).save_if_changed(folder):
            log.info("wrote %s: %s with ratings %g s later", folder, dataset.name, delay)
        folders.append(folder)
    return folders
