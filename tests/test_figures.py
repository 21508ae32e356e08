"""The leaderboard's trace figure: a line never joins frames across a stretch with no frames."""

import numpy as np
import pandas as pd

from emorec.report import figures


def session_with_a_gap() -> pd.DataFrame:
    """Ten frames at 10 fps, frames 0.4-0.7 s missing (no face), given out of order."""
    times = [0.0, 0.1, 0.2, 0.3, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3]
    frame = pd.DataFrame({"partition": "test", "session": "s1", "timestamp": times,
                          "valence": np.linspace(-0.5, 0.5, 10),
                          "arousal": np.linspace(0.5, -0.5, 10)})
    frame["valence_pred"] = frame["valence"] * 0.5
    frame["arousal_pred"] = frame["arousal"] * 0.5
    return frame.iloc[::-1]


def test_every_line_of_the_trace_breaks_at_missing_frames(tmp_path):
    session = session_with_a_gap()
    oracle = session.assign(valence_pred=session["valence"], arousal_pred=session["arousal"])
    figure = figures.trace_figure(session, "title", True, oracle)
    lines = [line for axis in figure.axes for line in axis.get_lines()]
    assert len(lines) == 6   # rating, noise-free rating, prediction; valence and arousal
    for line in lines:
        x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
        gap = np.flatnonzero(np.isnan(y))
        assert len(gap) == 1 and 0.3 < x[gap[0]] < 0.8, (line.get_label(), x, y)
        assert np.all(np.diff(x) > 0)
        assert np.isfinite(y).sum() == 10   # every kept frame drawn
    figures.trace(session, "title", True, tmp_path / "trace.png", oracle)
    assert (tmp_path / "trace.png").stat().st_size > 0


def test_a_trace_without_gaps_is_drawn_as_kept():
    frame = session_with_a_gap()
    frame = frame[frame["timestamp"] <= 0.3]
    drawn = figures.with_gaps(frame)
    assert list(drawn["timestamp"]) == [0.0, 0.1, 0.2, 0.3]
    assert drawn["valence"].notna().all()


def test_a_frame_without_a_timestamp_is_left_out_and_its_own_missing_value_breaks_the_line():
    frame = session_with_a_gap().sort_values("timestamp").reset_index(drop=True)
    frame.loc[2, "timestamp"] = np.nan
    frame.loc[7, "valence_pred"] = np.nan
    drawn = figures.with_gaps(frame)
    # 9 frames, and a break where the frame without a timestamp was and in the no-face gap
    assert drawn["timestamp"].notna().all() and len(drawn) == 11
    assert drawn["valence"].isna().sum() == 2 and drawn["valence_pred"].isna().sum() == 3


def test_every_windowed_family_is_drawn_or_named_as_at_one_window_only():
    windowed = pd.DataFrame({"family": ["video", "video", "seq", "seq", "my_family",
                                        "my_family", "audio"],
                             "window": [1.0, 2.0, 1.0, 4.0, 2.0, 3.0, 2.0]})
    assert figures.window_panels(windowed) == (["video", "seq", "my_family"], ["audio"])
