"""Whether a rerun kept each model's quality, dataset by dataset.

For each model: its variant chosen on dev in the earlier results, that variant's test CCC (mean
over seeds) with its 95% bootstrap interval over test sessions and seeds then, and the same
variant's test CCC and interval now.

    python benchmarks/rerun_quality.py OLD_RESULTS_DIR NEW_RESULTS_DIR DATASET[=NEW_NAME]... \
        [--out FILE.md]

(OLD_RESULTS_DIR: for instance an earlier commit's results,
``git archive REV leaderboard/results | tar -x -C /tmp/old``.)

A variant is matched by its label (the params that differ from the model's defaults), so a
changed default (a new training recipe, a new epoch size) compares the defaults of then and now.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emorec import uncertainty
from emorec.report.board import Board
from emorec.store import facts, results
from emorec.system.provenance import code_version


def board(results_dir: Path, dataset: str) -> Board:
    rows = results.load(results.results_path(results_dir, dataset))
    return Board(rows, facts.load_models(results_dir))


def compare(old: Board, new: Board) -> list[dict]:
    out = []
    for _, entry in old.best_on_dev().iterrows():
        match = new.entries[(new.entries["model"] == entry["model"])
                            & (new.entries["variant"] == entry["variant"])
                            & (new.entries["tuned_by"] == "")]
        if match.empty:
            continue
        now = match.iloc[0]
        then_low, then_high = _interval(old, entry["label"])
        now_low, now_high = _interval(new, now["label"])
        value = now["test_mean_ccc_mean"]
        out.append({"model": entry["model"], "variant": entry["variant"],
                    "then": entry["test_mean_ccc_mean"], "then_low": then_low,
                    "then_high": then_high, "now": value, "now_low": now_low,
                    "now_high": now_high, "within": then_low <= value <= then_high})
    return out


def _interval(board: Board, label: str) -> tuple[float, float]:
    draws = board.draws.get(label)
    return uncertainty.interval(draws["ccc"]) if draws is not None else (float("nan"),) * 2


def table(old_dir: Path, new_dir: Path, dataset: str) -> list[str]:
    before, _, after = dataset.partition("=")
    rows = compare(board(old_dir, before), board(new_dir, after or before))
    lines = [f"## {before}" + (f" -> {after}" if after else ""), "",
             "| model | variant (chosen on dev then) | test CCC then [95%] | now [95%] | "
             "now within then's interval |", "|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['model']} | {row['variant']} | {row['then']:.3f} "
                     f"[{row['then_low']:.3f}, {row['then_high']:.3f}] | {row['now']:.3f} "
                     f"[{row['now_low']:.3f}, {row['now_high']:.3f}] | "
                     f"{'yes' if row['within'] else 'no'} |")
    return lines + [""]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="the earlier results folder")
    parser.add_argument("new", type=Path, help="the rerun's results folder")
    parser.add_argument("datasets", nargs="+",
                        help="dataset names, or OLD=NEW when the rerun renamed one")
    parser.add_argument("--out", type=Path, help="also write the report to this markdown file")
    parser.add_argument("--then", default="", help="what the earlier results are, for the "
                                                    "report (e.g. 'committed at abc123')")
    args = parser.parse_args()
    lines = ["# Rerun quality", "",
             f"Made by `python benchmarks/rerun_quality.py {args.old} {args.new} "
             f"{' '.join(args.datasets)}` at commit {code_version()}"
             + (f"; then: the results {args.then}." if args.then else "."), ""]
    for dataset in args.datasets:
        lines += table(args.old, args.new, dataset)
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
