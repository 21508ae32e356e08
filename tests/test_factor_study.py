"""A suite that varies a stand-in factor gets a factor-study page: CCC per value, a figure."""

import pytest

from emorec.report.pages import render_all
from emorec.sweep.runner import run_suite
from emorec.sweep.suites import load_suite


@pytest.mark.slow
def test_a_lag_study_renders_one_page_across_its_stand_ins(tmp_path, places):
    suite = tmp_path / "lags.toml"
    suite.write_text('name = "lags"\nseeds = [0, 1]\n[dataset]\n'
                     'stand_in = { kind = "sewa", size = "tiny", vary = { lag = [0, 2] } }\n'
                     '[[experiments]]\nmodel = "bayesian_ridge"\n'
                     '[[experiments]]\nmodel = "oracle"\n')
    results = places["results_dir"]
    for one in load_suite(suite).each_dataset():
        run_suite(one, **places)
    assert sorted(p.name for p in results.glob("*.csv")) == [
        "sewa-synth-tiny-lag2.csv", "sewa-synth-tiny.csv"]
    written = render_all(results, tmp_path / "board")
    page = tmp_path / "board" / "sewa-synth-tiny-lag.md"
    assert page in written
    text = page.read_text()
    assert "> **Stand-in data.**" in text and "the default value 0" in text
    assert "sewa-synth-tiny-lag2.md), seed-free rows fitted once." in text   # both are
    assert "| row" in text and "lag = 0 s" in text and "lag = 2 s" in text
    lines = [line for line in text.splitlines() if line.startswith("| bayesian_ridge")]
    assert len(lines) == 2   # the CCC table (with intervals) and the RMSE table
    assert lines[0].count("[") == 0   # one test session: too few for intervals, and it says so
    assert "(none for a dataset with fewer than 5 test sessions" in text
    assert (tmp_path / "board" / "figures" / "sewa-synth-tiny-lag.png").stat().st_size > 1000
