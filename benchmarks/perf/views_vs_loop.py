"""View building: emorec's array views against a per-window pandas loop, on full sewa-synth.

Builds the 4 s video-window view and the 4 s fused view (video window + the 4 s audio windows
ending in it) for every labelled frame, both ways, checks the arrays are identical, and prints
the speed ratio and peak memory. Goals: >= 50x faster, peak RSS < 3 GB, generating full
sewa-synth < 60 s.

    .venv/bin/python benchmarks/perf/views_vs_loop.py [--size full] [--seconds 4]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

from emorec.data import loop_views, synth, views
from emorec.data.splits import PARTITIONS

REPEATS = 3


def peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2  # ru_maxrss is in KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="full", choices=["full", "small", "tiny"])
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()

    start = time.perf_counter()
    dataset = synth.generate("sewa", args.size, seed=0)
    generate_s = time.perf_counter() - start
    print(f"generate sewa-synth ({args.size}): {generate_s:.1f} s, {len(dataset.video)} frames, "
          f"{len(dataset.sessions)} sessions [stand-in]")
    dataset.matrix("video"), dataset.matrix(args.seconds)  # embedding matrices, shared set-up

    def build(partition):
        window = views.video_window_view(dataset, partition, args.seconds)
        fused = views.fused_view(dataset, partition, args.seconds)
        return window.array(), fused, fused.video.array(), fused.audio.array()

    # 1. vectorised, timed alone so its peak memory is its own. The first run pays the
    #    operating system's first touch of the freshly mapped output pages; the best of
    #    REPEATS is the steady cost (timeit's convention). Both are reported.
    runs = []
    for _ in range(REPEATS):
        took = {"video window": 0.0, "fused": 0.0}
        for partition in PARTITIONS:
            start = time.perf_counter()
            views.video_window_view(dataset, partition, args.seconds).array()
            took["video window"] += time.perf_counter() - start
            start = time.perf_counter()
            fused = views.fused_view(dataset, partition, args.seconds)
            fused.video.array(), fused.audio.array()
            took["fused"] += time.perf_counter() - start
        runs.append(took)
    fast_peak = peak_rss_gb()

    # 2. the pandas loop, timed, compared with the vectorised arrays
    loop_s = {"video window": 0.0, "fused": 0.0}
    frames = 0
    for partition in PARTITIONS:
        window, fused, fused_video, fused_audio = build(partition)
        start = time.perf_counter()
        loop_window = loop_views.video_windows(dataset, fused.frames, args.seconds)
        loop_s["video window"] += time.perf_counter() - start
        start = time.perf_counter()
        loop_fused_video = loop_views.video_windows(dataset, fused.frames, args.seconds)
        loop_fused_audio = loop_views.fused_audio_windows(
            dataset, fused.frames, args.seconds, args.seconds, fused.audio.rows.shape[1])
        loop_s["fused"] += time.perf_counter() - start
        assert np.array_equal(window, loop_window), f"{partition}: video windows differ"
        assert np.array_equal(fused_video, loop_fused_video), f"{partition}: fused video differs"
        assert np.array_equal(fused_audio, loop_fused_audio), f"{partition}: fused audio differs"
        frames += len(fused.frames)
        del window, fused_video, fused_audio, loop_window, loop_fused_video, loop_fused_audio

    print(f"{frames} frames, {args.seconds:g} s windows; arrays identical: yes")
    for name, loop in loop_s.items():
        first, best = runs[0][name], min(run[name] for run in runs)
        print(f"{name:13s} pandas loop {loop:6.1f} s | vectorised first run {first:5.2f} s "
              f"({loop / first:4.0f}x), best of {REPEATS} {best:5.2f} s ({loop / best:4.0f}x)")
    print(f"peak RSS: {fast_peak:.2f} GB for generation + vectorised views, "
          f"{peak_rss_gb():.2f} GB for the whole run (loop included)")


if __name__ == "__main__":
    main()
