"""Stand-in calibration: does a stand-in behave like the real data for the models under test?

Prints, for one stand-in (default full sewa-synth, seed 0): label mean/std/range per target, and
test-partition RMSE and CCC of four reference predictors on the seed-0 session split:
- chance: the training mean (the floor any model must beat);
- oracle: the noise-free rating (the best any model could do);
- BayesianRidge (scikit-learn defaults) on single frames, one model per target (thesis Table 4.2);
- the same on the 4 s video window, mean-pooled over the frames present (context helps because
  raters lag the face by about 2 s).

    .venv/bin/python benchmarks/calibrate_standin.py [--kind sewa] [--size full] [--seed 0]
        [--set lag=2 ...]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn.linear_model import BayesianRidge
from tabulate import tabulate

from emorec import metrics
from emorec.data import synth, synth_factors, synth_spec, views


def ridge_per_target(train_x, train_y, test_x) -> np.ndarray:
    return np.stack([BayesianRidge().fit(train_x, train_y[:, j]).predict(test_x)
                     for j in range(train_y.shape[1])], axis=1)


def mean_pooled_window(dataset, partition: str, seconds: float) -> np.ndarray:
    window = views.video_window_view(dataset, partition, seconds)
    return window.array().sum(axis=1) / window.mask.sum(axis=1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", default="sewa", choices=sorted(synth_spec.SPECS))
    parser.add_argument("--size", default="full", choices=list(synth_spec.SIZES))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="FACTOR=VALUE",
                        help=f"a generator factor ({', '.join(synth_factors.FACTORS)}); repeatable")
    args = parser.parse_args()
    factors = {name: float(value) for name, value in (item.split("=", 1) for item in args.set)}

    start = time.perf_counter()
    dataset = synth.generate(args.kind, args.size, args.seed, factors)
    split = dataset.split()
    print(f"{dataset.name} [STAND-IN] size {args.size}, seed {args.seed}: "
          f"{len(dataset.video)} frames, {len(dataset.sessions)} sessions, "
          f"generated in {time.perf_counter() - start:.1f} s; split {split.hash} {split.sizes()}")

    stats = [[column, *(f"{getattr(dataset.video[column], f)():.3f}"
                        for f in ("mean", "std", "min", "max"))]
             for column in ("valence", "arousal", "valence_oracle", "arousal_oracle")]
    print("\n" + tabulate(stats, headers=["label (all frames)", "mean", "std", "min", "max"],
                          tablefmt="github"))

    train, test = views.frame_view(dataset, "train"), views.frame_view(dataset, "test")
    predictions = {
        "chance (train mean)": np.tile(train.frames.labels.mean(axis=0), (len(test.frames), 1)),
        "BayesianRidge, frame": ridge_per_target(train.features, train.frames.labels,
                                                 test.features),
        "BayesianRidge, 4 s window mean": ridge_per_target(
            mean_pooled_window(dataset, "train", 4), train.frames.labels,
            mean_pooled_window(dataset, "test", 4)),
        "oracle (noise-free rating)": test.frames.oracle,
    }
    rows = []
    for name, prediction in predictions.items():
        m = metrics.regression_metrics(test.frames.labels, prediction, test.frames.session)
        rows.append([name, m["valence_rmse"], m["arousal_rmse"], m["valence_ccc"],
                     m["arousal_ccc"], m["mean_ccc_session"]])
    print(f"\ntest partition: {len(test.frames)} frames, {len(set(test.frames.session))} sessions")
    print(tabulate(rows, headers=["predictor", "RMSE V", "RMSE A", "CCC V", "CCC A",
                                  "CCC per session (mean)"], floatfmt=".3f", tablefmt="github"))


if __name__ == "__main__":
    main()
