"""Leaderboard columns declared in emorec/report/columns.py."""

import pytest

from emorec import uncertainty
from emorec.report.columns import ENTRY_COLUMNS, Column


def test_an_interval_column_of_a_metric_the_bootstrap_does_not_draw_is_refused_where_declared():
    with pytest.raises(ValueError, match="column 'MAE mean .95% CI.': an interval column"):
        Column("MAE mean [95% CI]", "interval", "test_mean_mae")
    drawn = {f"test_mean_{name}" for name in uncertainty.INTERVAL_METRICS}
    assert {c.metric for c in ENTRY_COLUMNS if c.kind == "interval"} <= drawn
    assert Column("CCC mean [95% CI]", "interval", "test_mean_ccc").metric == "test_mean_ccc"
