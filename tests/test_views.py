import numpy as np
import pandas as pd
import pytest
from helpers import hand_dataset

from emorec.data import loop_views, views
from emorec.data.splits import PARTITIONS, Split
from emorec.errors import EmorecError


@pytest.mark.parametrize("seconds", [1, 2, 3, 4])
def test_vectorised_views_equal_the_pandas_loop(tiny_sewa, seconds):
    for partition in PARTITIONS:
        window = views.video_window_view(tiny_sewa, partition, seconds)
        assert window.rows.shape == (len(window.frames), 5 * seconds)
        assert np.array_equal(window.array(),
                              loop_views.video_windows(tiny_sewa, window.frames, seconds))
        fused = views.fused_view(tiny_sewa, partition, seconds)
        slots = fused.audio.rows.shape[1]
        assert np.array_equal(fused.audio.array(), loop_views.fused_audio_windows(
            tiny_sewa, fused.frames, seconds, seconds, slots))
        assert np.array_equal(fused.video.rows, window.rows)
        audio = views.audio_window_view(tiny_sewa, partition, seconds)
        assert np.array_equal(audio.array(),
                              loop_views.latest_audio_window(tiny_sewa, audio.frames, seconds))


def test_every_view_scores_the_same_frames(tiny_sewa):
    frame = views.frame_view(tiny_sewa, "test")
    window = views.video_window_view(tiny_sewa, "test", 3)
    audio = views.audio_window_view(tiny_sewa, "test", 2)
    fused = views.fused_view(tiny_sewa, "test", 4, audio_length=1)
    for view in (window, audio, fused):
        assert np.array_equal(view.frames.rows, frame.frames.rows)
    test_sessions = set(tiny_sewa.split().sessions("test"))
    assert set(frame.frames.session) == test_sessions
    assert len(frame.frames) == tiny_sewa.video["session"].isin(test_sessions).sum()
    assert frame.features.shape == (len(frame.frames), 256)
    assert frame.features.dtype == np.float32


def hand_split(partitions: dict[str, str]) -> Split:
    table = pd.DataFrame({"session": list(partitions), "partition": list(partitions.values())})
    return Split(table, origin="hand")


def test_window_slots_follow_time_so_gaps_stay_gaps():
    # session A: frames at 0.0..0.6 then a gap (0.8, 1.0 missing) then 1.2, 1.4
    data = hand_dataset({"A": [0.0, 0.2, 0.4, 0.6, 1.2, 1.4], "B": [0.0, 0.2, 0.4],
                         "C": [0.0], "D": [0.0]})
    split = hand_split({"A": "test", "B": "test", "C": "train", "D": "dev"})
    window = views.video_window_view(data, "test", 1, split=split)  # 5 slots
    by_time = dict(zip(zip(window.frames.session, window.frames.timestamp, strict=True),
                       window.rows, strict=True))
    video = data.video

    def times(rows):
        return [None if r < 0 else float(video["timestamp"].iloc[r]) for r in rows]

    assert times(by_time[("A", 1.4)]) == [0.6, None, None, 1.2, 1.4]
    assert times(by_time[("A", 1.2)]) == [0.4, 0.6, None, None, 1.2]
    assert times(by_time[("A", 0.2)]) == [None, None, None, 0.0, 0.2]
    # never a frame of another session
    assert times(by_time[("B", 0.0)]) == [None, None, None, None, 0.0]
    for (session, _), rows in by_time.items():
        assert set(video["session"].iloc[rows[rows >= 0]]) == {session}
    array = window.array()
    assert np.all(array[~window.mask] == 0)
    assert np.all(window.mask[:, -1]), "the frame itself is always the last slot"


def test_audio_views_take_windows_ending_at_or_before_the_frame():
    data = hand_dataset({"A": [0.0, 0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 3.0],
                         "B": [0.0, 0.2], "C": [0.0]},
                        audio={1.0: {"A": [1.0, 1.5]}, 2.0: {"A": [2.0]}})
    split = hand_split({"A": "test", "B": "train", "C": "dev"})
    audio = views.audio_window_view(data, "test", 1.0, split=split)
    ends = data.audio[1.0]["end"].to_numpy()
    got = {t: (None if r < 0 else float(ends[r]))
           for t, r in zip(audio.frames.timestamp, audio.rows, strict=True)}
    # before 1.0 nothing has ended; at 3.0 the last window (ended 1.5) is over 1 s old
    assert got == {0.0: None, 0.2: None, 0.4: None, 0.6: None, 0.8: None, 1.0: 1.0, 1.2: 1.0,
                   1.4: 1.0, 1.6: 1.5, 3.0: None}
    fused = views.fused_view(data, "test", 1, audio_length=1.0, split=split)
    assert fused.audio.rows.shape[1] == 2   # at most two 1 s windows end inside a 1 s window
    slots = {t: [None if r < 0 else float(ends[r]) for r in rows]
             for t, rows in zip(fused.frames.timestamp, fused.audio.rows, strict=True)}
    assert slots[1.0] == [None, 1.0]
    assert slots[1.6] == [1.0, 1.5]
    assert slots[3.0] == [None, None]
    with pytest.raises(EmorecError, match="no 3 s audio"):
        views.audio_window_view(data, "test", 3.0, split=split)


def test_window_must_be_whole_frames(tiny_sewa):
    with pytest.raises(EmorecError, match="whole number of frames"):
        views.video_window_view(tiny_sewa, "test", 0.1)


def test_grid_offset_by_half_a_frame_is_not_a_gap():
    # 30 fps video sampled every 6th frame from frame 3: times 0.1, 0.3, ... (rint(1.5) == 2!)
    data = hand_dataset({"A": [0.1, 0.3, 0.5, 0.7, 0.9], "B": [0.1, 0.3], "C": [0.1]})
    split = hand_split({"A": "test", "B": "train", "C": "dev"})
    window = views.video_window_view(data, "test", 1, split=split)
    assert window.mask.sum(axis=1).tolist() == [1, 2, 3, 4, 5]
    assert np.array_equal(window.array(), loop_views.video_windows(data, window.frames, 1))


def test_windows_at_a_session_start_never_reach_into_another_session():
    data = hand_dataset({"A": [0.0, 0.2, 0.4, 30.0], "B": [0.0, 0.2, 4.6], "C": [0.0]},
                        audio={1.0: {"A": [1.0, 29.0]}})
    split = hand_split({"A": "train", "B": "test", "C": "dev"})
    audio = views.audio_window_view(data, "test", 1.0, split=split)
    assert audio.rows.tolist() == [-1, -1, -1]
    fused = views.fused_view(data, "test", 1, split=split)
    assert not fused.audio.mask.any()
    window = views.video_window_view(data, "test", 1, split=split)
    assert np.array_equal(window.array(), loop_views.video_windows(data, window.frames, 1))


def test_a_session_spanning_years_needs_no_dense_grid():
    data = hand_dataset({"A": [0.0, 0.2, 0.4, 1e9], "B": [0.0], "C": [0.0]})
    split = hand_split({"A": "test", "B": "train", "C": "dev"})
    window = views.video_window_view(data, "test", 4, split=split)
    assert window.mask.sum(axis=1).tolist() == [1, 2, 3, 1]
