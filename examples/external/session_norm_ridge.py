"""A model run outside emorec, for `emorec score`: ridge regression on face embeddings
standardised per session (each session's embeddings minus their mean, over their std).

It reads a dataset folder's `video.parquet` and the frames emorec scores (kept beside the
results: `predictions/<dataset>/frames-*.parquet`, which name each dev and test frame; every
other session is training data), and writes predictions for every dev and test frame. The
per-session statistics use the whole session, future frames included, so score it with
`--offline`:

    .venv/bin/python examples/external/session_norm_ridge.py data/sewa-synth-full-seed0 \\
        leaderboard/results/predictions/sewa-synth --out runs/session_norm_ridge.csv
    .venv/bin/emorec score runs/session_norm_ridge.csv --dataset sewa-synth \\
        --name session_norm_ridge --offline

For another dataset, give its folder (a stand-in is made by `emorec data synth`, e.g.
`emorec data synth sewa --size small --out data/sewa-synth-small-seed0` for the quick suite's)
and its frames folder under the results. Only pandas, numpy and scikit-learn: nothing of
emorec's.
"""

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dataset", type=Path, help="dataset folder (holds video.parquet)")
    parser.add_argument("frames", type=Path, help="folder of the kept frames file "
                                                  "(RESULTS/predictions/DATASET)")
    parser.add_argument("--out", type=Path, required=True, help="predictions CSV to write")
    parser.add_argument("--alpha", type=float, default=1.0, help="ridge penalty")
    args = parser.parse_args()

    video = pd.read_parquet(args.dataset / "video.parquet")
    [frames_file] = sorted(args.frames.glob("frames-*.parquet"))
    scored = pd.read_parquet(frames_file)
    features = [c for c in video.columns if c.startswith("embedding_")]
    x = video[features].to_numpy(np.float64)
    grouped = video.groupby("session")[features]
    x = (x - grouped.transform("mean").to_numpy()) / (grouped.transform("std").to_numpy() + 1e-6)
    train = ~video["session"].isin(set(scored["session"]))
    model = Ridge(alpha=args.alpha).fit(x[train], video.loc[train, ["valence", "arousal"]])
    wanted = video.reset_index().merge(scored[["partition", "session", "timestamp"]],
                                       on=["session", "timestamp"])
    predicted = model.predict(x[wanted["index"].to_numpy()])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"partition": wanted["partition"], "session": wanted["session"],
                  "timestamp": wanted["timestamp"], "valence": predicted[:, 0],
                  "arousal": predicted[:, 1]}).to_csv(args.out, index=False)
    print(f"{args.out}: {len(wanted)} frames, trained on {int(train.sum())}")


if __name__ == "__main__":
    main()
