"""Options several verbs share."""

from __future__ import annotations

from pathlib import Path


def add_store_options(parser) -> None:
    """Where results are kept and the MLflow store that tracks them."""
    parser.add_argument("--results-dir", type=Path, default=None,
                        help="folder of result files (default: leaderboard/results)")
    parser.add_argument("--tracking-uri", default=None,
                        help="MLflow store (default: sqlite:///mlflow.db)")
    parser.add_argument("--tracking-timeout", type=float, default=10.0, metavar="SECONDS",
                        help="stop if the tracking store does not answer within this time")
