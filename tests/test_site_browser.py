"""The leaderboard site in a real headless browser (Debian's chromium, driven by selenium through
Debian's chromedriver; nothing downloaded): a column header sorts the rows, the filters leave
the rows they name, a row ticked in the trace view adds its traces and unticked removes them, a
model opens its card, and no request leaves the site's files."""

import json
import os
import shutil
from pathlib import Path

import pytest
from helpers import ROOT

from emorec.report.board import Board
from emorec.report.site.build import write_site
from emorec.store import facts, results

pytestmark = pytest.mark.slow
COMMITTED = ROOT / "leaderboard" / "results"
DATASET = "sewa-synth"
CHROMIUM = Path("/usr/bin/chromium")
DRIVER = Path("/usr/bin/chromedriver")
LOCAL = ("file:", "data:", "blob:")


def missing() -> str:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -c constraints.txt -e '.[dev]')"
    absent = [str(path) for path in (CHROMIUM, DRIVER) if not shutil.which(str(path))]
    if absent:
        return f"{' and '.join(absent)} missing (apt-get install chromium chromium-driver)"
    return ""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    reason = missing()
    if reason and os.environ.get("CI"):
        pytest.fail(f"CI runs the browser tests: {reason}", pytrace=False)
    if reason:
        pytest.skip(reason)
    board = Board(results.load(COMMITTED / f"{DATASET}.csv"), facts.load_models(COMMITTED))
    out = tmp_path_factory.mktemp("board")
    write_site({DATASET: board}, COMMITTED, out)
    return out / "site", board


@pytest.fixture(scope="module")
def browser(site):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1300,1000"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=options)
    yield driver
    driver.quit()


@pytest.fixture
def board_page(site, browser):
    """The board's page, freshly loaded, its tables and first trace drawn."""
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get((site[0] / f"{DATASET}.html").as_uri())
    wait = WebDriverWait(browser, 30)
    wait.until(lambda driver: driver.execute_script("return document.body.dataset.tables"))
    assert browser.execute_script("return document.body.dataset.tables") == "ready"
    wait.until(lambda driver: driver.execute_script(
        "return document.getElementById('trace-plot').dataset.drawn"))
    return browser


def shown_entries(browser, table: str) -> list[str]:
    return browser.execute_script(
        f"return Array.from(document.querySelectorAll('#{table} tbody tr[data-entry]'))"
        ".map(row => row.dataset.entry)")


def ids(board: Board, mask) -> set[str]:
    return {f"e{number}" for number in board.entries.index[mask]}


def test_a_column_header_sorts_the_rows(board_page):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    header = next(th for th in board_page.find_elements(By.CSS_SELECTOR, "#entries thead th")
                  if th.text.startswith("dev CCC"))
    column = board_page.execute_script(
        "return Array.from(arguments[0].parentElement.children).indexOf(arguments[0])", header)
    read = ("return Array.from(document.querySelectorAll('#entries tbody tr'))"
            f".map(row => row.children[{column}].dataset.order)")
    def click_and_read(before: list) -> list[float]:
        """Click the header and read the column once the rows have moved. On a loaded machine
        a click that comes while the table still redraws from the last one can go unseen (as a
        person's would, who clicks again): up to three clicks, 5 s each."""
        for _ in range(3):
            header.click()
            try:
                WebDriverWait(board_page, 5).until(
                    lambda page: page.execute_script(read) != before)
                break
            except TimeoutException:
                continue
        return [float(v) for v in board_page.execute_script(read) if v != ""]

    before = board_page.execute_script(read)
    ascending = click_and_read(before)
    assert ascending == sorted(ascending) and ascending != [float(v) for v in before if v]
    descending = click_and_read(board_page.execute_script(read))
    assert descending == sorted(ascending, reverse=True)


def test_the_filters_leave_the_rows_they_name(board_page, site):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    board = site[1]
    assert len(shown_entries(board_page, "entries")) == len(board.entries)
    Select(board_page.find_element(By.ID, "filter-family")).select_by_value("video")
    Select(board_page.find_element(By.ID, "filter-group")).select_by_value("online")
    entries = board.entries
    expected = ids(board, (entries["family"] == "video") & (entries["group"] == "online"))
    assert 0 < len(expected) < len(entries)
    assert set(shown_entries(board_page, "entries")) == expected
    headline = {f"e{n}" for n in board.headline("online").index}
    assert set(shown_entries(board_page, "headline")) == expected & headline
    Select(board_page.find_element(By.ID, "filter-seeds")).select_by_value("seed-free")
    assert shown_entries(board_page, "entries") == []
    board_page.find_element(By.ID, "filter-reset").click()
    board_page.find_element(By.ID, "filter-text").send_keys("conv1d")
    shown = set(shown_entries(board_page, "entries"))
    assert shown == ids(board, entries["params"].str.contains("conv1d"))


def test_ticking_a_row_in_the_trace_view_adds_its_traces_and_unticking_removes_them(board_page):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    def drawn() -> tuple[int, list[str]]:
        return board_page.execute_script(
            "const plot = document.getElementById('trace-plot');"
            "return [plot.data.length, plot.data.map(trace => trace.meta)];")

    count, metas = drawn()
    chosen = json.loads(board_page.find_element(By.ID, "site-data")
                        .get_attribute("textContent"))["chosen"]
    assert count == 2 * (1 + len(chosen)) and metas.count("rating") == 2   # valence, arousal
    box = next(box for box in board_page.find_elements(
        By.CSS_SELECTOR, "#trace-choices input.trace-toggle")
        if box.get_attribute("data-entry") not in chosen)
    entry = box.get_attribute("data-entry")
    board_page.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
    box.click()
    WebDriverWait(board_page, 10).until(lambda _: drawn()[0] == count + 2)
    assert drawn()[1].count(entry) == 2
    row_box = board_page.find_element(By.CSS_SELECTOR,
                                      f"#entries input.trace-toggle[data-entry={entry}]")
    assert row_box.is_selected()   # the row's own box follows
    box.click()
    WebDriverWait(board_page, 10).until(lambda _: drawn()[0] == count)
    assert entry not in drawn()[1]


def test_a_model_opens_its_card(board_page):
    from selenium.webdriver.common.by import By

    link = board_page.find_element(By.CSS_SELECTOR, "#headline button.card-link")
    link.click()
    card = board_page.find_element(By.ID, link.get_attribute("data-card"))
    assert card.get_attribute("open") is not None
    chosen = card.find_element(By.CSS_SELECTOR, "section.variant.chosen")
    assert chosen.get_attribute("data-entry") == link.get_attribute("data-entry")
    assert "seed 0" in chosen.text


def test_no_request_leaves_the_sites_files(board_page, site):
    from selenium.webdriver.support.ui import Select, WebDriverWait

    board_page.get_log("performance")   # what earlier tests asked for
    board_page.get((site[0] / "index.html").as_uri())
    board_page.get((site[0] / f"{DATASET}.html").as_uri())
    WebDriverWait(board_page, 30).until(lambda driver: driver.execute_script(
        "return document.getElementById('trace-plot').dataset.drawn"))
    sessions = Select(board_page.find_element("id", "trace-session"))
    other = next(option for option in sessions.options if not option.is_selected())
    name = other.text
    sessions.select_by_visible_text(name)   # another session's script
    WebDriverWait(board_page, 30).until(lambda driver: driver.execute_script(
        "return document.getElementById('trace-plot').dataset.session") == name)
    requested = [json.loads(entry["message"])["message"]["params"]["request"]["url"]
                 for entry in board_page.get_log("performance")
                 if json.loads(entry["message"])["message"]["method"]
                 == "Network.requestWillBeSent"]
    assert any(url.endswith("plotly.min.js") for url in requested)
    assert any("/traces/" in url for url in requested)
    assert [url for url in requested if not url.startswith(LOCAL)] == []
    errors = [entry for entry in board_page.get_log("browser") if entry["level"] == "SEVERE"]
    assert errors == []
