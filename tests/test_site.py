"""The leaderboard site is written beside the markdown from the same boards: every row of every
board is on its page with the markdown's numbers, each model has a card with its runs, the rows
download and the trace scripts hold the board's own data, stand-ins say so, and a page reaches
nothing outside the site (the MLflow run links aside). The browser's view of it:
tests/test_site_browser.py."""

import json
import re
import shutil
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from helpers import ROOT

from emorec import uncertainty
from emorec.cli import main
from emorec.display import format_number
from emorec.report.board import Board
from emorec.report.pages import render_all
from emorec.report.site import build
from emorec.report.site.build import write_site
from emorec.store import facts, predictions, results

COMMITTED = ROOT / "leaderboard" / "results"
DATASETS = sorted(path.stem for path in COMMITTED.glob("*.csv"))


class Page(HTMLParser):
    """The parts of a page the tests read: each table's rows (their attributes and cell
    texts), every src and href, the dialogs' texts and the site-data script."""

    def __init__(self, text: str):
        super().__init__()
        self.rows: dict[str, list[tuple[dict, list[str]]]] = {}
        self.links: list[str] = []
        self.dialogs: dict[str, str] = {}
        self.text: list[str] = []
        self.data = None
        self._table = self._row = self._cell = self._dialog = self._script = None
        self._body = False
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.links += [attrs[name] for name in ("src", "href") if attrs.get(name)]
        if tag == "table" and attrs.get("id"):
            self._table = attrs["id"]
            self.rows[self._table] = []
        elif tag == "tbody":
            self._body = True
        elif tag == "tr" and self._table and self._body:
            self._row = (attrs, [])
        elif tag == "td" and self._row is not None:
            self._cell = []
        elif tag == "dialog":
            self._dialog = attrs["id"]
            self.dialogs[self._dialog] = ""
        elif tag == "script" and attrs.get("id") == "site-data":
            self._script = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self._row[1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            if self._table:
                self.rows[self._table].append(self._row)
            self._row = None
        elif tag == "tbody":
            self._body = False
        elif tag == "table":
            self._table = None
        elif tag == "dialog":
            self._dialog = None
        elif tag == "script" and self._script is not None:
            self.data = json.loads("".join(self._script))
            self._script = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._dialog:
            self.dialogs[self._dialog] += data
        if self._script is not None:
            self._script.append(data)
        self.text.append(data)


@pytest.fixture(scope="module")
def board_out(tmp_path_factory):
    """Every board of the committed results rendered once: markdown and site together."""
    out = tmp_path_factory.mktemp("board")
    render_all(COMMITTED, out)
    return out


@pytest.fixture(scope="module")
def boards():
    table = results.load_all(COMMITTED)
    models = facts.load_models(COMMITTED)
    return {dataset: Board(table[table["dataset"] == dataset], models) for dataset in DATASETS}


def page(board_out, name: str) -> Page:
    return Page((board_out / "site" / f"{name}.html").read_text())


def interval_text(board: Board, label: str, mean: float) -> str:
    draws = board.draws.get(label)
    if draws is None:
        return format_number(mean)
    low, high = uncertainty.interval(draws["ccc"])
    return f"{format_number(mean)} [{format_number(low)}, {format_number(high)}]"


def test_the_site_has_an_index_a_page_rows_and_traces_per_board_and_its_assets(board_out):
    site = board_out / "site"
    assert (site / "index.html").is_file()
    for dataset in DATASETS:
        assert (site / f"{dataset}.html").is_file() and (site / f"{dataset}.csv").is_file()
        assert list((site / "traces" / dataset).glob("*.js")), dataset
    assets = {path.name: path.stat().st_size for path in (site / "assets").iterdir()}
    assert {"datatables.js", "datatables.css", "plotly.min.js", "site.js", "site.css",
            "LICENSE-itables.txt", "LICENSE-plotly.txt"} <= set(assets)
    assert assets["plotly.min.js"] > 1_000_000 and assets["datatables.js"] > 100_000
    index = Page((site / "index.html").read_text())
    assert [attrs["data-dataset"] for attrs, _ in index.rows["datasets"]] == DATASETS


@pytest.mark.parametrize("dataset", DATASETS)
def test_every_row_of_a_board_is_on_its_page_with_its_numbers(board_out, boards, dataset):
    board, shown = boards[dataset], page(board_out, dataset)
    rows = shown.rows["entries"]
    assert len(rows) == len(board.entries)
    labels = dict(zip("e" + board.entries.index.astype(str), board.entries["label"],
                      strict=True))
    entries = board.entries.set_index("label")
    for attrs, cells in rows:
        entry = entries.loc[labels[attrs["data-entry"]]]
        assert attrs["data-model"] == entry.name.split(" ")[0] == entry["model"]
        assert attrs["data-group"] == entry["group"]
        assert attrs["data-family"] == entry["family"]
        expected = interval_text(board, entry.name, entry["test_mean_ccc_mean"])
        assert expected in cells, (attrs["data-entry"], cells)
        assert format_number(entry["dev_mean_ccc_mean"]) in cells
    assert sorted(attrs["data-entry"] for attrs, _ in rows) == sorted(labels)


@pytest.mark.parametrize("dataset", DATASETS)
def test_the_headline_is_the_markdown_headline(board_out, dataset):
    """Model and test CCC [95% CI] of every headline row, in the markdown's order."""
    markdown = (board_out / f"{dataset}.md").read_text()
    section = markdown.split("## Headline")[1].split("\n## ")[0]
    expected = []
    for table in re.findall(r"((?:^\|.*\|\n)+)", section, re.M):
        lines = table.splitlines()
        headers = [cell.strip() for cell in lines[0].strip("|").split("|")]
        scores = [n for n, header in enumerate(headers) if header.startswith("test CCC mean")]
        if "model" not in headers or not scores:
            continue   # the table of what ran (seeds, core-seconds), or the reference rows
        model, ccc = headers.index("model"), scores[0]
        for line in lines[2:]:
            cells = [cell.strip().strip("*") for cell in line.strip("|").split("|")]
            expected.append((cells[model], cells[ccc]))
    assert expected, f"{dataset}.md has no headline rows"
    shown = page(board_out, dataset).rows["headline"]
    assert len(shown) == len(expected)
    for (attrs, cells), (model, ccc) in zip(shown, expected, strict=True):
        assert model in cells and ccc in cells, (attrs["data-entry"], model, ccc, cells)


def test_stand_in_pages_say_so_with_the_markdown_note(board_out, boards):
    index = " ".join(" ".join(Page((board_out / "site" / "index.html").read_text()).text)
                     .split())
    for dataset, board in boards.items():
        assert (board.rows["origin"] == "stand-in").all()
        note = f"Stand-in data. {dataset} is generated by emorec, not the licensed real features."
        assert note in " ".join(" ".join(page(board_out, dataset).text).split()), dataset
        assert note in index, dataset


@pytest.mark.parametrize("dataset", ["sewa-synth", "afew-va-synth-5fps"])
def test_each_model_has_a_card_with_its_description_variants_and_runs(board_out, boards,
                                                                     dataset):
    board, shown = boards[dataset], page(board_out, dataset)
    described = json.loads((COMMITTED / "models.json").read_text())
    cards = {attrs["data-model"]: attrs["data-card"] for attrs, _ in shown.rows["entries"]}
    assert set(cards) == set(board.entries["model"])
    for model, key in cards.items():
        text = " ".join(shown.dialogs[key].split())
        description = described.get(model, {}).get("description")
        if description:
            assert " ".join(description.split()) in text, model
        for _, row in board.rows[board.rows["model"] == model].iterrows():
            for field in ("cell_key", "code_fingerprint", "code_version"):
                assert row[field] in text, (model, field)
            if row["mlflow_run_id"]:
                assert build.run_url(row["mlflow_run_id"]) in shown.links, model


def test_the_pages_load_nothing_from_outside_the_site(board_out):
    site = board_out / "site"
    for path in site.glob("*.html"):
        for link in Page(path.read_text()).links:
            if link.startswith("#"):
                continue
            if re.match(r"^[a-z][a-z0-9+.-]*:", link):
                assert re.fullmatch(r"http://127\.0\.0\.1:5000/#/runs/[0-9a-f]+", link), \
                    f"{path.name} links {link}"
                continue
            assert (site / link).resolve().exists(), f"{path.name} links {link}: no such file"


def test_the_rows_download_is_the_boards_rows(board_out, boards):
    board = boards["sewa-synth"]
    rows = pd.read_csv(board_out / "site" / "sewa-synth.csv", dtype={"cell_key": str})
    assert list(rows["cell_key"]) == list(board.rows["cell_key"])
    assert np.allclose(rows["test_mean_ccc"], board.rows["test_mean_ccc"], equal_nan=True)
    assert "test_session_stats" not in rows


def test_a_trace_script_holds_the_rating_and_each_rows_kept_predictions(board_out, boards):
    board, shown = boards["sewa-synth"], page(board_out, "sewa-synth")
    view = shown.data
    assert len(view["sessions"]) == len(board.sessions) and view["chosen"]
    number = view["session"]
    script = (board_out / "site" / view["folder"] / f"{number}.js").read_text()
    data = json.loads(script.removeprefix("emorecSite.traceLoaded(").removesuffix(");\n"))
    assert data["session"] == view["sessions"][number]
    labels = dict(zip("e" + board.entries.index.astype(str), board.entries["label"],
                      strict=True))
    assert set(data["pred"]) == set(view["entries"]) == set(labels)   # all kept
    for key in (view["chosen"][0], "e0"):
        label = labels[key]
        first = board.rows[(board.rows["model"] + " " + board.rows["params"] + " "
                            + board.rows["tuned_by"]) == label].sort_values("seed").iloc[0]
        kept = predictions.load(COMMITTED, "sewa-synth", first["cell_key"])
        test = kept[(kept["partition"] == "test") & (kept["session"] == data["session"])]
        assert np.allclose(np.array(data["pred"][key]["valence"]) * data["step"],
                           test["valence_pred"], atol=1e-9)
        assert np.allclose(np.array(data["rating"]["arousal"]) * data["step"],
                           test["arousal"], atol=data["step"] / 2 + 1e-12)


def small_results(tmp_path, datasets=("sewa-synth-small",)):
    """Committed boards alone (their rows, kept predictions and facts)."""
    results_dir = tmp_path / "results"
    (results_dir / "predictions").mkdir(parents=True)
    for name in ("models.json", "datasets.json", *(f"{dataset}.csv" for dataset in datasets)):
        shutil.copy(COMMITTED / name, results_dir / name)
    for dataset in datasets:
        shutil.copytree(COMMITTED / "predictions" / dataset,
                        results_dir / "predictions" / dataset)
    return results_dir


def test_a_rerun_replaces_its_own_site_whole(tmp_path):
    results_dir = small_results(tmp_path, ("sewa-synth-small", "sewa-synth-lag1"))
    models = facts.load_models(results_dir)
    boards = {name: Board(results.load(results_dir / f"{name}.csv"), models)
              for name in ("sewa-synth-small", "sewa-synth-lag1")}
    out = tmp_path / "board"
    write_site(boards, results_dir, out)
    assert (out / "site" / "sewa-synth-lag1.html").is_file()
    del boards["sewa-synth-lag1"]
    written = write_site(boards, results_dir, out)
    assert written == [out / "site" / "index.html", out / "site" / "sewa-synth-small.html"]
    assert not (out / "site" / "sewa-synth-lag1.html").exists()
    assert not (out / "site" / "traces" / "sewa-synth-lag1").exists()


def test_a_site_folder_emorec_did_not_write_is_never_replaced(tmp_path, capsys):
    results_dir = small_results(tmp_path)
    out = tmp_path / "board"
    (out / "site").mkdir(parents=True)
    (out / "site" / "notes.txt").write_text("mine")
    assert main(["-q", "leaderboard", "--results-dir", str(results_dir), "--out",
                 str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{out / 'site'}: exists" in err, err
    assert "refusing to replace it" in err
    assert (out / "site" / "notes.txt").read_text() == "mine"
