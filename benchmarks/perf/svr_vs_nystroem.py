"""Exact kernel SVR against the Nystroem approximation (`svr_nystroem`) on the same frames.

Both fit the same evenly taken training subset of full sewa-synth (default: all 30,261
training frames; exact SVR's cost grows much faster than linearly with frames),
RBF kernel with gamma="scale", C=1, epsilon=0.1, one model per target; the script prints fit
time, the speed ratio and test RMSE of each. Goal: within 2% RMSE at >= 10x less time.

    .venv/bin/python benchmarks/perf/svr_vs_nystroem.py [--frames N (0: all)] [--components 500]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.svm import SVR
from tabulate import tabulate

from emorec import metrics
from emorec.data import synth, views
from emorec.models.zoo.classic import NystroemSVR


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=0, help="training frames (0: all)")
    parser.add_argument("--components", type=int, default=500)
    args = parser.parse_args()
    dataset = synth.generate("sewa", "full", seed=0)
    train, test = views.frame_view(dataset, "train"), views.frame_view(dataset, "test")
    frames = args.frames or len(train.frames)
    rows = np.unique(np.linspace(0, len(train.frames) - 1, frames).round().astype(int))
    x, y = train.features[rows], train.frames.labels[rows]
    print(f"{dataset.name} [STAND-IN]: {len(rows)} training frames, {len(test.frames)} test "
          f"frames")
    table = []
    for target, name in enumerate(("valence", "arousal")):
        timings, errors = {}, {}
        for label, make in (("exact SVR", lambda: SVR(C=1.0, kernel="rbf", gamma="scale")),
                            ("Nystroem + linear SVR",
                             lambda: NystroemSVR(C=1.0, n_components=args.components))):
            start = time.perf_counter()
            estimator = make().fit(x, y[:, target])
            timings[label] = time.perf_counter() - start
            errors[label] = metrics.rmse(test.frames.labels[:, target],
                                         estimator.predict(test.features))
        exact, approx = "exact SVR", "Nystroem + linear SVR"
        table.append([name, timings[exact], timings[approx], timings[exact] / timings[approx],
                      errors[exact], errors[approx],
                      100 * (errors[approx] - errors[exact]) / errors[exact]])
    print(tabulate(table, headers=["target", "exact fit s", "Nystroem fit s", "speed-up",
                                   "exact RMSE", "Nystroem RMSE", "RMSE diff %"],
                   floatfmt=".3f"))


if __name__ == "__main__":
    main()
