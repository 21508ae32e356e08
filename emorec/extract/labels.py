"""Rating series of recordings, per layout, as ``session, time, valence, arousal`` divided by the
label scale (alignment to frames: :mod:`emorec.data.label_align`).

- ``sewa``: one annotation file per recording in the labels folder, ``<recording>.csv`` or
  ``<recording>_<anything>.csv`` (e.g. ``SEW1101_gold_shifted.csv``), with a time column
  (``timestamp`` or ``time``, seconds) and ``valence``, ``arousal`` (any case; ``,`` or ``;``
  separated; other columns such as ``liking`` are ignored);
- ``afew-va``: AFEW-VA's ``<clip>/<clip>.json`` (read by :mod:`emorec.data.extractor`), frame
  numbers at the clips' frame rate, integer labels in [-10, 10] (scale 10);
- ``files``: one CSV ``session,time,valence,arousal`` for all recordings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from emorec.data import extractor
from emorec.data.csv_files import CSV_FIRST_ROW, column_names, read_csv
from emorec.data.label_align import RAW_COLUMNS
from emorec.data.validation import finite_numbers, preview
from emorec.errors import DataError
from emorec.vocabulary import TARGETS

TIME_COLUMNS = ("timestamp", "time", "frametime")
LABEL_EXTENSIONS = (".csv", ".txt")


def sewa_file(folder: Path, recording: str, media: Path | None = None) -> Path:
    """The annotation file of ``recording`` in ``folder``; DataError when none (naming the
    recording's ``media`` file where given) or several."""
    found = sorted(p for p in folder.glob(f"{recording}*")
                   if p.suffix.lower() in LABEL_EXTENSIONS
                   and (p.stem == recording or p.stem.startswith(recording + "_")))
    if not found:
        raise DataError(media or folder / f"{recording}.csv",
                        "recording without labels" + (" (no annotation file)" if media else ""),
                        expected=f"an annotation file {recording}.csv or {recording}_*.csv "
                                 f"(timestamp, valence, arousal) in {folder}")
    if len(found) > 1:
        raise DataError(folder, f"several annotation files for {recording}",
                        expected="one per recording",
                        found=", ".join(p.name for p in found[:4]))
    return found[0]


def read_sewa_file(path: Path, recording: str) -> pd.DataFrame:
    first = path.read_text(encoding="utf-8", errors="replace").splitlines()[:1]
    separator = ";" if first and first[0].count(";") > first[0].count(",") else ","
    try:
        table = pd.read_csv(path, sep=separator)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise DataError(path, f"cannot parse the annotation file ({error})") from None
    lower = {str(c).strip().lower(): c for c in table.columns}
    time = next((lower[c] for c in TIME_COLUMNS if c in lower), None)
    missing = [t for t in TARGETS if t not in lower]
    if time is None or missing:
        raise DataError(path, "missing columns", column=missing[0] if missing else "timestamp",
                        expected="a time column (timestamp or time, seconds), valence, arousal",
                        found=f"columns {preview(column_names(table), 6)}")
    renamed = table.rename(columns={time: "time", **{lower[t]: t for t in TARGETS}})
    out = pd.DataFrame({"session": [recording] * len(renamed)})
    for column in ("time", *TARGETS):
        out[column] = finite_numbers(renamed, column, str(path), CSV_FIRST_ROW)
    return out


def read_afew_va(root: Path, source_fps: float) -> pd.DataFrame:
    table = extractor.read_afew_va_annotations(root)
    parts = table["file"].str.extract(r"^(?P<session>[^/]+)/(?P<frame>[^/]+)\.png$")
    frames = pd.to_numeric(parts["frame"], errors="coerce")
    return pd.DataFrame({"session": parts["session"], "time": frames / source_fps,
                         **{t: table[t].to_numpy(float) for t in TARGETS}})


def read_generic(path: Path) -> pd.DataFrame:
    table = read_csv(path)
    missing = [c for c in RAW_COLUMNS if c not in table.columns]
    if missing:
        raise DataError(path, "missing columns", column=missing[0],
                        expected=", ".join(RAW_COLUMNS),
                        found=f"columns {preview(column_names(table), 6)}")
    return pd.DataFrame({"session": table["session"].astype(str),
                         **{c: finite_numbers(table, c, str(path), CSV_FIRST_ROW)
                            for c in RAW_COLUMNS[1:]}})


def scaled(raw: pd.DataFrame, scale: float, source: str,
           label_range: tuple[float, float] = (-1.0, 1.0),
           files: dict[str, str] | None = None) -> pd.DataFrame:
    """Ratings divided by ``scale``; DataError naming the source (the recording's own file in
    ``files``, where given) when one is out of range."""
    out = raw.copy()
    for target in TARGETS:
        out[target] = out[target].to_numpy(float) / scale
        values = out[target].to_numpy()
        outside = np.flatnonzero((values < label_range[0]) | (values > label_range[1]))
        if outside.size:
            largest = float(np.abs(raw[target]).max())
            session = raw["session"].iloc[outside[0]]
            raise DataError((files or {}).get(session, source),
                            f"rating out of range in {outside.size} rows", column=target,
                            expected=f"[{label_range[0]:g}, {label_range[1]:g}] after "
                                     f"dividing by the label scale {scale:g} (--label-scale)",
                            found=f"{largest:g} (recording {raw['session'].iloc[outside[0]]})")
    return out.sort_values(["session", "time"], kind="stable").reset_index(drop=True)
