"""A dataset sampled to a lower frame rate (a suite's ``[dataset] fps``, ``emorec data
downsample``): the frames on the grid with their labels, name, manifest and fingerprint, the
refusal of a rate that does not divide, the suite key, windows in frames at the new rate, audio
paired by time as before, datasets made by ``emorec data import`` and with raw ratings, and a
bench that files its rows under the sampled name."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
from helpers import DIM, ROOT, afew_va_clips, embeddings_csv

from emorec.cli import main
from emorec.data import synth, synth_factors, views
from emorec.data.dataset import Dataset, fingerprint
from emorec.data.frame_rate import at_frame_rate, frame_rate_folder
from emorec.data.label_align import align
from emorec.data.manifest import Manifest
from emorec.data.validation import embedding_columns
from emorec.errors import EmorecError
from emorec.models import MODELS
from emorec.report.factor_study import find_studies
from emorec.sweep.suites import load_suite


def frames_at(times: dict[str, list[float]], fps: float = 25.0, source: dict | None = None,
              origin: str = "stand-in") -> Dataset:
    """A dataset whose every frame is told apart by its values: embedding_0 is the row number,
    the labels (and the oracle) vary per frame, path names the frame."""
    rows = [(session, t) for session, stamps in sorted(times.items()) for t in stamps]
    n = len(rows)
    video = pd.DataFrame({"session": [s for s, _ in rows], "timestamp": [t for _, t in rows],
                          "path": [f"{s}/{t:.2f}.png" for s, t in rows]})
    for i, column in enumerate(embedding_columns(4)):
        video[column] = np.arange(n) / n + i
    video["valence"] = np.linspace(-0.9, 0.9, n)
    video["arousal"] = np.linspace(0.9, -0.9, n)
    video["valence_oracle"] = video["valence"] / 2
    video["arousal_oracle"] = video["arousal"] / 2
    manifest = Manifest(name="clips", origin=origin, fps=fps, embedding_dim=4, audio_dim=3,
                        audio_windows=(), source=source or {})
    return Dataset.create(manifest, video, {})


def film(frames: int, offset: float = 0.0, without: tuple[int, ...] = ()) -> list[float]:
    """Times of a 25 fps clip's frames (``offset`` s late), less the frames ``without`` a face."""
    return [round(k / 25 + offset, 6) for k in range(frames) if k not in without]


def kept_times(dataset: Dataset, session: str) -> list[float]:
    return dataset.video.loc[dataset.video["session"] == session, "timestamp"].round(6).tolist()


# --------------------------------------------------------------------------- the grid
def test_the_frames_nearest_the_grid_are_kept_with_every_column_and_gaps_stay_gaps():
    source = frames_at({
        "A": film(25, without=(10,)),      # no face at 0.4 s: a gap, not the frame after it
        "B": film(25, offset=0.01),        # times a little late: the nearest frame, its own time
        "C": film(25, without=(0, 1)),     # the clip's first grid time has no face
        "D": film(12, offset=0.02),        # half a frame off: of two as near, the earlier
    })
    sampled = at_frame_rate(source, 5)
    assert kept_times(sampled, "A") == [0.0, 0.2, 0.6, 0.8]
    assert kept_times(sampled, "B") == [0.01, 0.21, 0.41, 0.61, 0.81]
    assert kept_times(sampled, "C") == [0.2, 0.4, 0.6, 0.8]
    assert kept_times(sampled, "D") == [0.02, 0.18, 0.38]
    # each kept frame is its source row, every column with it (embeddings, labels, oracle, path)
    rows = source.video.set_index(["session", "timestamp"])
    again = sampled.video.set_index(["session", "timestamp"])
    pd.testing.assert_frame_equal(again, rows.loc[again.index])
    assert sampled.manifest.has_oracle and sampled.manifest.fps == 5.0
    assert describe_gaps(sampled, "A") == 1


def describe_gaps(dataset: Dataset, session: str) -> int:
    steps = np.diff(kept_times(dataset, session))
    return int((steps > 1.5 / dataset.manifest.fps).sum())


def test_a_stand_in_keeps_every_fifth_film_frame_with_its_labels(tiny_afew):
    sampled = at_frame_rate(tiny_afew, 5)
    on_grid = np.isclose(tiny_afew.video["timestamp"] * 5, np.round(tiny_afew.video["timestamp"]
                                                                    * 5), atol=1e-6)
    expected = tiny_afew.video[on_grid].reset_index(drop=True)
    pd.testing.assert_frame_equal(sampled.video, expected)
    assert len(sampled.video) < len(tiny_afew.video) / 4


# --------------------------------------------------------------------------- what it is
def test_name_manifest_and_fingerprint_are_the_sampled_datasets_own(tiny_afew, tmp_path):
    sampled = at_frame_rate(tiny_afew, 5)
    manifest = sampled.manifest
    assert manifest.name == "afew-va-synth-tiny-5fps" and manifest.origin == "stand-in"
    assert manifest.source["frame_rate"] == {
        "from": "afew-va-synth-tiny", "from_fingerprint": tiny_afew.manifest.fingerprint,
        "from_fps": 25.0, "fps": 5.0, "every": 5}
    assert manifest.source["generator"] == "afew-va", "how the source was made stays said"
    assert manifest.fingerprint == fingerprint(sampled.video, sampled.audio)
    assert manifest.fingerprint != tiny_afew.manifest.fingerprint
    assert at_frame_rate(tiny_afew, 25) is tiny_afew, "its own rate: the dataset itself"

    base = tiny_afew.save(tmp_path / "afew")
    folder = frame_rate_folder(base, 5)
    assert folder == tmp_path / "afew-5fps"
    assert Dataset.load(folder).manifest == manifest
    written = (folder / "video.parquet").stat().st_mtime_ns
    assert frame_rate_folder(base, 5) == folder
    assert (folder / "video.parquet").stat().st_mtime_ns == written, "up to date: not rewritten"
    assert frame_rate_folder(folder, 5) == folder, "a folder at the rate is its own"
    synth.generate("afew-va", "tiny", seed=1).save(base)
    frame_rate_folder(base, 5)
    again = Dataset.load(folder)
    assert again.manifest.source["frame_rate"]["from_fingerprint"] != \
        tiny_afew.manifest.fingerprint, "the source changed: written again"


def test_a_rate_that_does_not_divide_the_source_is_refused_in_one_line(tiny_afew, tmp_path,
                                                                        capsys):
    for fps in (7, 50, 0):
        with pytest.raises(EmorecError, match=rf"cannot sample 25 fps to {fps:g} fps; expected "
                                              r"a rate that divides 25 fps \(e\.g\. 25, 5 or 1: "
                                              rf"25 / n for a whole n\), found {fps:g}$"):
            at_frame_rate(tiny_afew, fps)
    base = tiny_afew.save(tmp_path / "afew")
    assert main(["data", "downsample", str(base), "--fps", "7"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot sample 25 fps to 7 fps" in err
    assert not (tmp_path / "afew-7fps").exists()
    assert at_frame_rate(tiny_afew, 12.5).manifest.name == "afew-va-synth-tiny-12.5fps"


def test_sessions_without_a_frame_on_the_grid_leave_the_split_as_it_was():
    times = {f"S{i}": film(10) for i in range(8)}
    times["S8"] = film(3, offset=0.06)   # 0.06-0.14 s: no frame within 0.02 s of the grid
    source = frames_at(times)
    sampled = at_frame_rate(source, 5)
    assert "S8" not in set(sampled.sessions)
    before = source.split().table
    pd.testing.assert_frame_equal(sampled.split().table,
                                  before[before["session"] != "S8"].reset_index(drop=True))


# --------------------------------------------------------------------------- windows and audio
def test_at_5_fps_a_one_second_window_holds_five_frames():
    films = frames_at({f"C{i}": film(100) for i in range(6)})   # 4 s clips at 25 fps
    sampled = at_frame_rate(films, 5)
    view = views.video_window_view(sampled, "train", 1.0)
    assert view.rows.shape[1] == 5
    full = np.flatnonzero(view.mask.all(axis=1))
    assert full.size, "some frame has a whole second of frames before it"
    times = sampled.video["timestamp"].to_numpy()[view.rows[full[0]]]
    assert np.diff(times) == pytest.approx([0.2] * 4)
    gru = MODELS.get("gru")
    for window, frames in ((1, 5), (4, 20)):
        built = gru.build_view(sampled, gru.params({"window": window}), "train")
        assert built.rows.shape[1] == frames, "the thesis's 5-20 frames"
    at_films_rate = gru.build_view(films, gru.params({"window": 1}), "train")
    assert at_films_rate.rows.shape[1] == 25


def test_audio_stays_whole_and_pairs_with_the_kept_frames_by_time(tiny_sewa):
    sampled = at_frame_rate(tiny_sewa, 1)
    assert sampled.manifest.audio_windows == tiny_sewa.manifest.audio_windows
    for length, table in tiny_sewa.audio.items():
        pd.testing.assert_frame_equal(sampled.audio[length], table)
    before = views.audio_window_view(tiny_sewa, "test", 2.0)
    after = views.audio_window_view(sampled, "test", 2.0)
    key = pd.MultiIndex.from_arrays([before.frames.session, before.frames.timestamp])
    position = key.get_indexer(pd.MultiIndex.from_arrays([after.frames.session,
                                                          after.frames.timestamp]))
    assert (position >= 0).all()
    np.testing.assert_array_equal(after.rows, before.rows[position])
    fused = views.fused_view(sampled, "test", 2.0)
    assert fused.video.rows.shape[1] == 2 and fused.audio.array().shape[0] == len(after.frames)


# --------------------------------------------------------------------------- suites
def suite_file(tmp_path, dataset: str, name: str = "s") -> object:
    path = tmp_path / f"{name}.toml"
    path.write_text(f'name = "{name}"\n[dataset]\n{dataset}\n\n[[experiments]]\nmodel = "chance"\n')
    return path


@pytest.mark.parametrize("line, message", [
    ("fps = 0", r"dataset\.fps: expected a frame rate in frames per second \(a number > 0\), "
                r"found 0$"),
    ('fps = "5"', r"dataset\.fps: expected a frame rate .*, found '5'$"),
    ("fps = true", r"dataset\.fps: expected a frame rate .*, found True$"),
    ("fps = 7", r"dataset\.fps: the afew-va stand-in: cannot sample 25 fps to 7 fps; expected a "
                r"rate that divides 25 fps .*, found 7$"),
    ("rate = 5", r"dataset: unknown keys \['rate'\] \(expected real, stand_in, delay, fps\)$"),
])
def test_the_suite_key_is_checked_naming_the_file_and_the_place(tmp_path, line, message):
    path = suite_file(tmp_path, f'stand_in = {{ kind = "afew-va", size = "tiny" }}\n{line}')
    with pytest.raises(EmorecError, match=rf"^{path}: {message}"):
        load_suite(path)


def test_a_suite_runs_on_its_stand_in_sampled_beside_it(tmp_path):
    path = suite_file(tmp_path, 'stand_in = { kind = "afew-va", size = "tiny" }\nfps = 5')
    suite = load_suite(path)
    assert suite.fps == 5.0 and suite.each_dataset() == [suite]
    folder = suite.dataset_path(tmp_path / "data")
    assert folder == tmp_path / "data" / "afew-va-synth-tiny-seed0-5fps"
    assert Dataset.load(folder).name == "afew-va-synth-tiny-5fps"
    assert load_suite(ROOT / "benchmarks/afew_va.toml").fps == 5.0, (
        "the AFEW-VA suite runs at 5 fps")


def test_varied_stand_ins_at_a_rate_still_make_a_factor_study(tmp_path):
    assert synth_factors.split_name("sewa-synth-tiny-lag2-1fps") == ("sewa-synth-tiny-1fps",
                                                             {"lag": 2.0})
    studies = find_studies(["sewa-synth-tiny-1fps", "sewa-synth-tiny-lag2-1fps"], {})
    assert [(s.base, s.factor, s.datasets) for s in studies] == [
        ("sewa-synth-tiny-1fps", "lag",
         {0.0: "sewa-synth-tiny-1fps", 2.0: "sewa-synth-tiny-lag2-1fps"})]


def test_a_delay_sweep_derives_its_delays_from_the_sampled_dataset(tmp_path):
    times = {f"S{i}": film(50) for i in range(6)}
    raw = pd.DataFrame([(s, k / 25, np.sin(k / 10 + i) / 2, np.cos(k / 7) / 2)
                        for i, s in enumerate(sorted(times)) for k in range(60)],
                       columns=["session", "time", "valence", "arousal"])
    source = frames_at(times, origin="real",
                       source={"extraction": {"labels": {"delay_s": 0.0, "scale": 1.0}}})
    video = source.video.drop(columns=["valence_oracle", "arousal_oracle"])
    video[["valence", "arousal"]] = align(video["session"].to_numpy(),
                                          video["timestamp"].to_numpy(), raw)
    extracted = replace(Dataset.create(source.manifest, video, {}), labels_raw=raw)
    base = extracted.save(tmp_path / "mine")
    path = suite_file(tmp_path, f'real = "{base}"\ndelay = [0, 0.4]\nfps = 5')
    suites = load_suite(path).each_dataset()
    assert [s.real_dataset for s in suites] == [tmp_path / "mine-5fps",
                                                tmp_path / "mine-5fps-delay0.4"]
    assert [s.dataset_path(tmp_path / "data") for s in suites] == [s.real_dataset for s in suites]
    delayed = Dataset.load(tmp_path / "mine-5fps-delay0.4")
    assert delayed.name == "clips-5fps-delay0.4" and delayed.manifest.fps == 5.0
    np.testing.assert_allclose(
        delayed.video[["valence", "arousal"]].to_numpy(),
        align(delayed.video["session"].to_numpy(), delayed.video["timestamp"].to_numpy(), raw,
              0.4))
    facts = {"clips-5fps": {"label_delay_s": 0.0}, "clips-5fps-delay0.4": {"label_delay_s": 0.4}}
    assert [s.base for s in find_studies(list(facts), facts)] == ["clips-5fps"]


# --------------------------------------------------------------------------- imported data
def test_a_dataset_made_by_data_import_is_sampled_with_its_annotations(tmp_path, capsys):
    afew_va_clips(tmp_path / "AFEW-VA", {"001": list(range(30)), "002": list(range(20)),
                                         "003": list(range(25))})
    faces = [f"faces/{clip}/{k:05d}.png" for clip, n in (("001", 30), ("002", 20), ("003", 25))
             for k in range(n) if (clip, k) not in {("001", 10), ("002", 6)}]   # no face found
    embeddings_csv(pd.DataFrame({"path": faces}), tmp_path / "faces.csv", labels=False)
    imported = tmp_path / "afew-va"
    assert main(["data", "import", "--video", str(tmp_path / "faces.csv"), "--afew-va-annotations",
                 str(tmp_path / "AFEW-VA"), "--embedding-dim", str(DIM),
                 "--name", "afew-va", "--out", str(imported)]) == 0
    assert main(["data", "downsample", str(imported), "--fps", "5"]) == 0
    assert capsys.readouterr().out.startswith(f"{tmp_path / 'afew-va-5fps'}: ")
    sampled = Dataset.load(tmp_path / "afew-va-5fps")
    assert sampled.name == "afew-va-5fps" and sampled.manifest.origin == "real"
    kept = sorted(sampled.video["path"])
    expected = [f"faces/{clip}/{k:05d}.png" for clip, n in (("001", 30), ("002", 20),
                                                            ("003", 25))
                for k in range(0, n, 5) if (clip, k) != ("001", 10)]   # 002's 6 is off the grid
    assert kept == expected
    for clip in ("001", "002", "003"):
        annotation = json.loads((tmp_path / "AFEW-VA" / clip / f"{clip}.json").read_text())
        rows = sampled.video[sampled.video["session"] == clip]
        for path, valence, arousal in zip(rows["path"], rows["valence"], rows["arousal"],
                                          strict=True):
            frame = annotation["frames"][path.rsplit("/", 1)[1].removesuffix(".png")]
            assert (valence, arousal) == (frame["valence"] / 10, frame["arousal"] / 10)
    assert main(["data", "validate", str(tmp_path / "afew-va-5fps")]) == 0
    assert main(["data", "info", str(tmp_path / "afew-va-5fps")]) == 0
    assert "sampled     to 5 fps from afew-va (25 fps" in capsys.readouterr().out


def test_a_bench_of_the_suite_files_its_rows_under_the_sampled_name(tmp_path, places):
    from emorec.store import results
    from emorec.sweep.runner import run_suite

    path = suite_file(tmp_path, 'stand_in = { kind = "afew-va", size = "tiny" }\nfps = 5')
    rows = run_suite(load_suite(path), **places)
    assert set(rows["dataset"]) == {"afew-va-synth-tiny-5fps"}
    assert results.results_path(places["results_dir"], "afew-va-synth-tiny-5fps").is_file()


def test_a_board_at_another_rate_still_quotes_the_thesis_for_its_dataset():
    from emorec.report.thesis import thesis_section

    for name in ("afew-va-5fps", "afew-va-synth-5fps", "afew-va-synth-small-5fps"):
        assert thesis_section(name, {}) == thesis_section("afew-va", {}) != []
