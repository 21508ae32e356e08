"""What a dataset holds: sessions, frames, frame rates, gaps, labels, audio coverage, split and
the extractor-leakage guard."""

from __future__ import annotations

import numpy as np
from tabulate import tabulate

from emorec.data import views
from emorec.data.dataset import Dataset
from emorec.data.frame_rate import SOURCE_KEY
from emorec.data.frame_times import frame_rates, sessions_off_rate
from emorec.data.splits import extractor_overlap
from emorec.data.validation import label_columns
from emorec.errors import EmorecError
from emorec.vocabulary import PARTITIONS


def describe(dataset: Dataset) -> dict:
    """A plain dict of the dataset's figures (the CLI renders it; tests read it)."""
    manifest, video = dataset.manifest, dataset.video
    fps = manifest.fps
    per_session = video.groupby("session")["timestamp"]
    first, last, count = per_session.min(), per_session.max(), per_session.size()
    expected_frames = np.rint((last - first) * fps).astype(int) + 1
    missing = int((expected_frames - count).sum())
    steps = per_session.diff().to_numpy()
    gap_steps = steps[np.isfinite(steps) & (steps > 1.5 / fps)]
    rates = frame_rates(video["session"], video["timestamp"], fps)
    labels = {}
    for column in label_columns(video):
        values = video[column].to_numpy()
        labels[column] = {"mean": float(values.mean()), "std": float(values.std()),
                          "min": float(values.min()), "max": float(values.max())}
    try:
        split = dataset.split()
    except EmorecError as error:   # too few sessions to split: described without one
        split, no_split = None, str(error).removeprefix("<split>: ")
    audio = {}
    for length, table in dataset.audio.items():
        with_audio = (sum(int(views.audio_window_view(dataset, p, length).mask.sum())
                          for p in PARTITIONS) / len(video) if split is not None else None)
        audio[length] = {"windows": len(table),
                         "sessions": int(table["session"].nunique()),
                         "frames_with_window": with_audio}
    partitions = {}
    for partition in PARTITIONS if split is not None else ():
        sessions = split.sessions(partition)
        partitions[partition] = {"sessions": len(sessions),
                                 "frames": int(video["session"].isin(sessions).sum())}
    return {
        "name": manifest.name, "origin": manifest.origin, "fingerprint": manifest.fingerprint,
        "fps": fps, "embedding_dim": manifest.embedding_dim, "audio_dim": manifest.audio_dim,
        "sessions": int(len(count)), "frames": int(len(video)),
        "frame_rates": {"median": float(rates["rate"].median()),
                        "differ": int(rates["differs"].sum()),
                        "off_rate": sessions_off_rate(rates, fps)},
        "duration_s": {"total": float(((last - first) + 1 / fps).sum()),
                       "min": float((last - first).min() + 1 / fps),
                       "median": float((last - first).median() + 1 / fps),
                       "max": float((last - first).max() + 1 / fps)},
        "gaps": {"count": int(gap_steps.size), "missing_frames": missing,
                 "missing_share": missing / (missing + len(video)),
                 "longest_s": float(gap_steps.max() - 1 / fps) if gap_steps.size else 0.0},
        "labels": labels, "audio": audio,
        "split": ({"origin": split.origin, "hash": split.hash, "partitions": partitions}
                  if split is not None else {"none": no_split}),
        "extractor_train": {"sessions": len(manifest.extractor_train),
                            "in_test": (extractor_overlap(split, manifest.extractor_train)
                                        if split is not None else [])},
        "extracted": manifest.source.get("counts"),
        "extraction": manifest.source.get("extraction"),
        "generator": ({key: value for key, value in manifest.source.items()
                       if key not in ("extraction", SOURCE_KEY)}
                      if "generator" in manifest.source else None),
        "sampled": manifest.source.get(SOURCE_KEY),
    }


def render(summary: dict) -> str:
    origin = summary["origin"]
    banner = ("STAND-IN (generated, not real data)" if origin == "stand-in" else "real features")
    lines = [
        f"dataset     {summary['name']}  [{banner}]",
        f"fingerprint {summary['fingerprint']}",
        f"frames      {summary['frames']} in {summary['sessions']} sessions at "
        f"{summary['fps']:g} fps; embeddings {summary['embedding_dim']}-d, audio "
        f"{summary['audio_dim']}-d",
        _rate_line(summary),
        "duration    total {total:.0f} s; per session min {min:.1f} / median {median:.1f} / "
        "max {max:.1f} s".format(**summary["duration_s"]),
        _gap_line(summary),
        "",
        tabulate([[name, s["mean"], s["std"], s["min"], s["max"]]
                  for name, s in summary["labels"].items()],
                 headers=["label", "mean", "std", "min", "max"], floatfmt=".3f"),
        "",
    ]
    if summary["audio"]:
        lines += [tabulate([[f"{length:g} s", a["windows"], a["sessions"],
                             f"{a['frames_with_window']:.1%}"
                             if a["frames_with_window"] is not None else "n/a (no split)"]
                            for length, a in summary["audio"].items()],
                           headers=["audio window", "windows", "sessions",
                                    "frames with a window"]), ""]
    else:
        lines += ["audio       none (video only)", ""]
    split = summary["split"]
    if "none" in split:
        lines += [f"split       none can be made: {split['none']}"]
    else:
        lines += [f"split       {split['origin']}, hash {split['hash']}",
                  tabulate([[p, s["sessions"], s["frames"]]
                            for p, s in split["partitions"].items()],
                           headers=["partition", "sessions", "frames"])]
    if origin != "stand-in":
        lines += ["", _guard_line(summary["extractor_train"])]
    if summary.get("sampled"):
        lines += ["", "sampled     to {fps:g} fps from {from} ({from_fps:g} fps, fingerprint "
                      "{from_fingerprint}): one frame in {every}, by time".format(
                          **summary["sampled"])]
    if summary.get("generator"):
        lines += ["", "generated   " + ", ".join(f"{key} {value}" for key, value in
                                                 sorted(summary["generator"].items()))]
    if summary["extraction"]:
        from emorec.data.extraction_info import extraction_lines

        lines += ["", *extraction_lines(summary["extraction"])]
    return "\n".join(lines)


def _gap_line(summary: dict) -> str:
    """Gaps as the extraction counted them (every sampled frame) where it did, else as the
    rows show them (frames missing from the frame-rate grid)."""
    counted = summary.get("extracted")
    if counted and "frames_without_face" in counted:
        line = (f"gaps        {counted['gaps']} gaps, {counted['frames_without_face']} of "
                f"{counted['frames_sampled']} sampled frames without a face "
                f"({counted['frames_without_face'] / max(counted['frames_sampled'], 1):.1%}), "
                f"{counted['frames_unlabelled']} with a face but no rating (as extracted)")
        if counted.get("recordings_short"):
            short = sorted(counted.get("short", {}))
            line += (f"; {counted['recordings_short']} recordings cut short or with sound that "
                     f"ends early ({', '.join(short[:4])}{', ...' if len(short) > 4 else ''})")
        return line
    return ("gaps        {count} gaps, {missing_frames} frames without a face ({share:.1%}), "
            "longest {longest_s:.1f} s".format(share=summary["gaps"]["missing_share"],
                                               **summary["gaps"]))


def _rate_line(summary: dict) -> str:
    rates = summary["frame_rates"]
    if not rates["differ"]:
        return (f"frame rate  detected per session: every session on the {summary['fps']:g} fps "
                "grid")
    return (f"frame rate  {rates['differ']} of {summary['sessions']} sessions drift off the "
            f"{summary['fps']:g} fps grid: {rates['off_rate']}")


def _guard_line(guard: dict) -> str:
    if not guard["sessions"]:
        return ("extractor   leakage guard not given: nothing checks that test sessions are "
                "outside the feature extractor's training videos (give --extractor-train "
                "FILE to emorec extract or data import)")
    if guard["in_test"]:
        return (f"extractor   trained on {guard['sessions']} of these sessions; "
                f"{len(guard['in_test'])} are in the test partition "
                f"({', '.join(guard['in_test'][:5])}): bench refuses this split")
    return (f"extractor   trained on {guard['sessions']} of these sessions; none is in the test "
            "partition")
