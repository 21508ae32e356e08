"""Leaderboard columns declared in emorec/report/columns.py."""

from dataclasses import replace

import pytest
from helpers import ROOT

from emorec import uncertainty
from emorec.display import describe_variant
from emorec.report.board import Board
from emorec.report.columns import ENTRY_COLUMNS, Column, _other_params, chosen_variant
from emorec.store import facts, results


def test_an_interval_column_of_a_metric_the_bootstrap_does_not_draw_is_refused_where_declared():
    with pytest.raises(ValueError, match="column 'MAE mean .95% CI.': an interval column"):
        Column("MAE mean [95% CI]", "interval", "test_mean_mae")
    drawn = {f"test_mean_{name}" for name in uncertainty.INTERVAL_METRICS}
    assert {c.metric for c in ENTRY_COLUMNS if c.kind == "interval"} <= drawn
    assert Column("CCC mean [95% CI]", "interval", "test_mean_ccc").metric == "test_mean_ccc"


def test_a_shown_param_without_a_column_of_its_own_is_written_among_the_params():
    """A model may show any param (``@model(columns=...)``); the tables have columns for
    window and pooling, so another is written ``name=value``, never dropped."""
    golden = ROOT / "tests" / "golden"
    models = facts.load_models(golden)
    models["decision_tree"] = replace(models["decision_tree"], columns=("max_depth",))
    models["ffnn"] = replace(models["ffnn"], columns=("hidden",))   # at its default, 128
    board = Board(results.load_all(golden), models)
    entry = board.entries[board.entries["model"] == "decision_tree"].iloc[0]
    assert _other_params(entry, board) == "max_depth=8"
    assert chosen_variant(entry, board) == "max_depth=8"
    entry = board.entries[board.entries["model"] == "ffnn"].iloc[0]
    assert _other_params(entry, board) == "hidden=128, epochs=3"
    assert chosen_variant(entry, board) == "hidden=128 epochs=3"
    assert describe_variant("gru", {"window": 2.0, "pooling": "max"},
                            {"window": 2.0, "pooling": "max"}) == "gru 2 s max"
