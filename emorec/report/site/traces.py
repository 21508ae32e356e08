"""The trace view's data: for each test session, its rating and every entry's kept test
predictions (the entry's first run: its lowest seed, or its one seed-free run), one small
script per session that the page loads when that session is chosen, so a board page stays
small whatever the number of sessions and entries.

Predictions are kept at a resolution of :data:`emorec.store.predictions.STEP`; they travel as whole
multiples of it (the ratings, shown only, rounded to the same step), so nothing is lost."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from emorec.report.site.data import Entry
from emorec.store import predictions
from emorec.vocabulary import TARGETS

CALLBACK = "emorecSite.traceLoaded"   # what a session's script calls with its data


def test_predictions(results_dir: Path, dataset: str, entries: tuple[Entry, ...]
                     ) -> dict[str, pd.DataFrame]:
    """Entry id -> its first run's test frames with ratings and predictions (entries whose
    predictions are kept)."""
    out = {}
    for entry in entries:
        if entry.traced and entry.id not in out:
            table = predictions.load(results_dir, dataset, entry.runs[0].cell_key)
            out[entry.id] = table[table["partition"] == "test"].reset_index(drop=True)
    return out


def sessions(kept: dict[str, pd.DataFrame]) -> list[str]:
    """The test sessions, in the order of the frames (every model is scored on the same
    frames)."""
    if not kept:
        return []
    return list(dict.fromkeys(next(iter(kept.values()))["session"].astype(str)))


def default_session(kept: dict[str, pd.DataFrame], chosen: str | None) -> str | None:
    """The session the page opens on: the one the markdown's trace figure shows (the median
    session of the entry chosen on dev), else the first."""
    from emorec.report.pages import trace_session  # the figure's rule; pages imports this

    names = sessions(kept)
    if not names:
        return None
    if chosen in kept:
        return trace_session(kept[chosen])
    return names[0]


def session_script(kept: dict[str, pd.DataFrame], session: str) -> str:
    """The script of one session: ``emorecSite.traceLoaded({...})``."""
    first = next(iter(kept.values()))
    rows = (first["session"].astype(str) == session).to_numpy()   # the same frames in each
    data = {
        "session": session,
        "step": predictions.STEP,
        "t": np.round(first["timestamp"].to_numpy(dtype=np.float64)[rows], 3).tolist(),
        "rating": {target: _steps(first[target], rows) for target in TARGETS},
        "pred": {key: {target: _steps(table[f"{target}_pred"], rows) for target in TARGETS}
                 for key, table in kept.items()},
    }
    return f"{CALLBACK}({json.dumps(data, separators=(',', ':'))});\n"


def _steps(values: pd.Series, rows: np.ndarray) -> list[int]:
    return np.rint(values.to_numpy(dtype=np.float64)[rows] / predictions.STEP).astype(int).tolist()
