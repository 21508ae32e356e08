"""How closely a SEWA results file tells the thesis's story, configuration by configuration.

Matches the thesis's 40 SEWA test-RMSE configurations (Tables 4.2, 4.4, A.2 without the failed
Conv1D GRU rows, 4.7 and A.3) to the untuned rows of a results file (mean over seeds; the window
models on their default, frame-label target; the decision tree's depth chosen on dev), and
prints the calibration table (thesis vs the file) and the Spearman rank correlation of the 40
per-configuration RMSEs (mean of valence and arousal). A figure to report, not a target.

    .venv/bin/python benchmarks/thesis_agreement.py [leaderboard/results/sewa-synth.csv]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from tabulate import tabulate

from emorec.report.thesis import thesis_numbers
from emorec.store import result_rows, results

TEMPORAL = ("gru", "fusion1", "fusion2", "fusion3", "fusion4_v1", "fusion4_v2", "fusion4_v3")


def thesis_configurations() -> pd.DataFrame:
    table = thesis_numbers()
    table = table[(table["dataset"] == "sewa") & table["table"].isin(
        ["4.2", "4.4", "A.2", "4.7", "A.3"]) & (table["pooling"] != "conv1d")]
    model = table["model"].str.replace(r"^gru_(avg|max)$", "gru", regex=True)
    pooling = np.where(model == "gru", table["pooling"], None)
    return pd.DataFrame({"model": model, "window": table["window_s"], "pooling": pooling,
                         "valence": table["rmse_valence"], "arousal": table["rmse_arousal"]})


def file_configurations(path: Path) -> pd.DataFrame:
    rows = result_rows.current(results.load(path))
    rows = rows[rows["tuned_by"] == ""]
    params = rows["params"].map(json.loads)
    rows = rows.assign(window=params.map(lambda p: p.get("window")),
                       pooling=params.map(lambda p: p.get("pooling")),
                       target=params.map(lambda p: p.get("target", "frame")),
                       direction=params.map(lambda p: p.get("direction")))
    rows = rows[rows["target"] == "frame"]
    grouped = rows.groupby(["model", "params"], dropna=False)
    out = grouped.agg(window=("window", "first"), pooling=("pooling", "first"),
                      valence=("test_valence_rmse", "mean"),
                      arousal=("test_arousal_rmse", "mean"),
                      dev=("dev_mean_rmse", "mean"), ccc=("test_mean_ccc", "mean")).reset_index()
    tree = out[out["model"] == "decision_tree"].sort_values("dev").head(1)
    return pd.concat([out[out["model"] != "decision_tree"], tree], ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", nargs="?", type=Path,
                        default=Path("leaderboard/results/sewa-synth.csv"))
    args = parser.parse_args()
    thesis, ours = thesis_configurations(), file_configurations(args.results)
    keys = ["model", "window", "pooling"]
    for frame in (thesis, ours):
        frame["window"] = frame["window"].astype(float)
        frame["pooling"] = frame["pooling"].fillna("")
        frame["mean"] = (frame["valence"] + frame["arousal"]) / 2
    matched = thesis.merge(ours, on=keys, suffixes=("_thesis", "_ours"))
    rho = spearmanr(matched["mean_thesis"], matched["mean_ours"]).statistic

    def row(frame, model, **where):
        selected = frame[frame["model"] == model]
        for key, value in where.items():
            selected = selected[selected[key] == value]
        return selected

    def best(frame, models, column):
        return frame[frame["model"].isin(models)].sort_values(column).iloc[0]

    lines = []
    for name, frame, choose in (("thesis, real SEWA (best on test)", thesis, "mean"),
                                (f"{args.results.stem} (best on dev)", ours, "dev")):
        ridge = row(frame, "bayesian_ridge").iloc[0]
        gru = best(frame[frame["pooling"] == "avg"], ["gru"], choose)
        fusion = best(frame, TEMPORAL[1:], choose)
        audio = row(frame, "audio_ffnn")
        temporal = frame[frame["model"].isin(TEMPORAL) & (frame["pooling"] != "conv1d")]
        beating = int((temporal["mean"] < ridge["mean"]).sum())
        change = np.median(temporal["mean"] / ridge["mean"] - 1) * 100
        lines.append([
            name, f"{ridge['valence']:.3f} / {ridge['arousal']:.3f}",
            f"{gru['valence']:.3f} / {gru['arousal']:.3f} ({gru['window']:g} s)",
            f"{fusion['valence']:.3f} / {fusion['arousal']:.3f} ({fusion['model']} "
            f"{fusion['window']:g} s)",
            f"{audio['valence'].min():.3f}-{audio['valence'].max():.3f} / "
            f"{audio['arousal'].min():.3f}-{audio['arousal'].max():.3f}",
            f"{beating} of {len(temporal)} (median {change:+.0f}%)"])
    print(tabulate(lines, headers=["test RMSE V / A", "frame BayesianRidge",
                                   "best GRU (AVG)", "best fusion", "audio FFNN (1-4 s)",
                                   "video/fusion configurations beating BayesianRidge"],
                   tablefmt="github", disable_numparse=True))
    print(f"\nSpearman rank correlation of the {len(matched)} per-configuration RMSEs (mean of "
          f"V and A), thesis vs {args.results.name}: {rho:.2f}")


if __name__ == "__main__":
    main()
