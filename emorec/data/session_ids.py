"""Session ids of an imported table: an explicit ``session`` column when there is one, else a
regular expression on the file name column (``path`` for video, ``filename`` for audio) whose
first group is the id. The default takes the file name up to its first ``_``, as the feature
extractor names files (``SEW1103_11_2.png`` and ``SEW1103.wav`` both give ``SEW1103``); ids
that come from files in more than one folder are refused, since frames of different videos
would be mixed.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from emorec.data.csv_files import CSV_FIRST_ROW, file_paths
from emorec.errors import DataError

DEFAULT_SESSION_REGEX = r"([^/_.]+)[^/]*$"   # on file names with / as the separator


def session_ids(raw: pd.DataFrame, path: Path, name_column: str,
              pattern: re.Pattern) -> np.ndarray:
    if "session" in raw.columns:
        return raw["session"].astype(str).to_numpy()
    if name_column not in raw.columns:
        raise DataError(path, "missing column", column=name_column,
                        expected=f"'{name_column}' (or 'session') to take the session id from")
    names = file_paths(raw[name_column])
    sessions = names.str.extract(pattern, expand=True).iloc[:, 0]
    bad = np.flatnonzero(sessions.isna().to_numpy())
    if bad.size:
        raise DataError(path, "cannot take a session id from the file name", column=name_column,
                        row=int(bad[0]) + CSV_FIRST_ROW,
                        expected=f"a match of --session-regex {pattern.pattern!r} with a "
                                 "non-empty first group",
                        found=repr(raw[name_column].iloc[bad[0]]))
    folders = names.str.replace(r"[^/]*$", "", regex=True)
    spread = pd.DataFrame({"session": sessions, "folder": folders}).groupby("session")[
        "folder"].nunique()
    if (spread > 1).any():
        session = spread[spread > 1].index[0]
        examples = folders[sessions == session].unique()[:2]
        raise DataError(path, f"session id {session!r} comes from files in {spread[session]} "
                        "folders, so the file names do not name the session (frames of "
                        "different videos would be mixed)", column=name_column,
                        expected="one folder per session, or a --session-regex that takes the "
                                 "id from the folder, e.g. '([^/]+)/[^/]+$'",
                        found=", ".join(map(repr, examples)))
    return sessions.to_numpy(str)


def compile_session_regex(text: str) -> re.Pattern:
    try:
        pattern = re.compile(text)
    except re.error as error:
        raise DataError("--session-regex", f"not a valid regular expression ({error})") from None
    if pattern.groups < 1:
        raise DataError("--session-regex", "needs a capture group for the session id",
                        found=text)
    return pattern
