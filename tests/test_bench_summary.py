"""What ``emorec bench`` prints at its end is the headline of the dataset's leaderboard page: the
same tables, rows and numbers, online and offline apart, the reference rows apart, dev beside
test, late-fusion and external rows among the models and the fit's core-seconds labelled."""

import numpy as np
import pandas as pd
import pytest

from emorec.cli import main
from emorec.display import format_number
from emorec.report.pages import render_all
from emorec.report.prose import GROUP_TITLES, HEADLINE_INTRO, HEADLINE_REFERENCE_TITLE
from emorec.store import predictions, result_rows, results

SUITE = """
name = "summary"
seeds = [0, 1]
[dataset]
stand_in = { kind = "sewa", size = "tiny", seed = 0 }
[[experiments]]
model = "chance"
[[experiments]]
model = "oracle"
[[experiments]]
model = "bayesian_ridge"
[[experiments]]
model = "ffnn"
params = { epochs = 2, patience = 2 }
[[experiments]]
model = "seq_video"
params = { epochs = 1, direction = "bidirectional" }
[[fuse]]
of = [{ model = "bayesian_ridge" }, { model = "ffnn", params = { epochs = 2, patience = 2 } }]
"""
DATASET = "sewa-synth-tiny"


def headline_of_page(page: str) -> list[str]:
    """The page's headline section: its group titles and tables, less its heading marks."""
    section = page.split("## Headline: one row per model\n")[1].split("## How to read it")[0]
    return [line.removeprefix("### ") for line in section.splitlines()
            if line and line != HEADLINE_INTRO]


def headline_of_bench(out: str) -> tuple[str, list[str]]:
    """The first line of the bench's closing summary, and the lines after it."""
    first, *rest = out.split("Leaderboard headline: ")[-1].splitlines()
    return first, [line for line in rest if line]


def external_predictions(places: dict, path) -> None:
    """Noisy ratings of the test frames, as a model made outside emorec would give them."""
    rows = results.load(results.results_path(places["results_dir"], DATASET)).iloc[-1]
    frames = predictions.load_frames(places["results_dir"], DATASET, rows["fingerprint"],
                                     rows["split_hash"])
    test = frames[frames["partition"] == "test"]
    noise = np.random.default_rng(5).normal(0, 0.1, (len(test), 2))
    pd.DataFrame({"session": test["session"], "timestamp": test["timestamp"],
                  "valence": test["valence"] + noise[:, 0],
                  "arousal": test["arousal"] + noise[:, 1]}).to_csv(path, index=False)


@pytest.mark.slow
def test_the_bench_summary_is_the_headline_of_the_rendered_page(tmp_path, places, capsys):
    suite = tmp_path / "summary.toml"
    suite.write_text(SUITE)
    bench = ["-q", "bench", str(suite), "--jobs", "1", "--results-dir",
             str(places["results_dir"]), "--data-dir", str(places["data_dir"]),
             "--tracking-uri", places["tracking_uri"]]
    assert main(bench) == 0
    capsys.readouterr()
    external_predictions(places, tmp_path / "mine.csv")
    assert main(["-q", "score", str(tmp_path / "mine.csv"), "--dataset", DATASET, "--name",
                 "mine", "--results-dir", str(places["results_dir"]), "--tracking-uri",
                 places["tracking_uri"]]) == 0
    capsys.readouterr()
    assert main(bench) == 0              # every cell reused: the summary of what is there
    first, printed = headline_of_bench(capsys.readouterr().out)
    render_all(places["results_dir"], tmp_path / "board")
    page = (tmp_path / "board" / f"{DATASET}.md").read_text()
    assert printed == headline_of_page(page)
    # labelled as a stand-in, every group apart, the rows a user expects in each
    assert first.startswith(f"{DATASET} [stand-in],") and "leaderboard" in first
    titles = [line for line in printed if not line.startswith("|") and ":" not in line]
    assert titles == [GROUP_TITLES["online"], GROUP_TITLES["offline"], HEADLINE_REFERENCE_TITLE]
    tables = "\n".join(printed).split(GROUP_TITLES["offline"])
    online, (offline, references) = tables[0], tables[1].split(HEADLINE_REFERENCE_TITLE)
    for name in ("bayesian_ridge", "ffnn", "late_fusion", "mine (external)"):
        assert f"| {name} " in online, name
    assert "| seq_video (offline) " in offline
    assert "noise ceiling" in references and "chance floor" in references
    assert "oracle" not in online + offline and "seq_video" not in online
    # dev beside test, the fit's CPU core-seconds labelled as such
    scores, ran = (cells(line) for line in online.splitlines() if line.startswith("| model "))
    assert scores == ["model", "test CCC mean", "dev CCC mean", "CCC/session"]
    assert ran == ["model", "seeds", "fit core-s", "variant chosen on dev"]
    assert "CPU core-seconds" in online
    # the numbers are the results file's: means over seeds of pooled test and dev CCC
    rows = result_rows.current(results.load(results.results_path(places["results_dir"], DATASET)))
    for model in ("bayesian_ridge", "ffnn"):
        mean = rows.loc[rows["model"] == model, ["test_mean_ccc", "dev_mean_ccc"]].mean()
        line = next(line for line in online.splitlines() if line.startswith(f"| {model} "))
        assert cells(line)[1:3] == [format_number(mean["test_mean_ccc"]),
                                    format_number(mean["dev_mean_ccc"])], model


def cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.split("|")[1:-1]]


TUNED_SUITE = """
name = "tuned"
seeds = [0]
[dataset]
stand_in = { kind = "sewa", size = "tiny", seed = 0 }
[[experiments]]
model = "ffnn"
params = { epochs = 1 }
"""


@pytest.mark.slow
def test_rows_tuned_by_a_study_follow_the_headline_as_the_pages_tuned_rows(tmp_path, places,
                                                                           capsys):
    suite = tmp_path / "tuned.toml"
    suite.write_text(TUNED_SUITE)
    common = ["--data-dir", str(places["data_dir"]), "--tracking-uri", places["tracking_uri"]]
    assert main(["-q", "tune", "ffnn", "--dataset", str(suite), "--trials", "2", "--param",
                 "epochs=1", "--study", "small", "--storage", str(tmp_path / "s.journal"),
                 *common]) == 0
    capsys.readouterr()
    assert main(["-q", "bench", str(suite), "--params-from", "small", "--storage",
                 str(tmp_path / "s.journal"), "--results-dir", str(places["results_dir"]),
                 *common]) == 0
    out = capsys.readouterr().out
    render_all(places["results_dir"], tmp_path / "board")
    page = (tmp_path / "board" / f"{DATASET}.md").read_text()
    tuned = page.split("## Tuned rows\n")[1].split("\n## ")[0]
    printed = out.split("Leaderboard headline: ")[-1].split("\nTuned rows\n")[1]
    assert [line for line in printed.splitlines() if line] == \
        [line for line in tuned.splitlines() if line]
    assert "| small " in printed   # the study that tuned the row names it
