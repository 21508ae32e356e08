"""The benchmark reports kept under benchmarks/perf/results/ are what their commands would write
today, as far as that can be told without running them: each names the command that made it,
and that command still exists with the options it names; a report's cell counts are the counts
its suites plan now; the kept media board is the board today's code renders from its kept
results. A failure names the command to run again."""

import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "benchmarks" / "perf" / "results"
sys.path.insert(0, str(ROOT / "benchmarks" / "perf"))
import media_synth  # noqa: E402
import suite_times  # noqa: E402

PAGES = sorted(REPORTS.glob("*.md"))
MADE_BY = re.compile(r"\bby `([^`]+)`")


def command(page: Path) -> str:
    """The command a report says made it: the first ``by `...` `` of the page."""
    found = MADE_BY.search(page.read_text(encoding="utf-8"))
    assert found, f"{page.relative_to(ROOT)} does not name the command that made it (by `...`)"
    return found.group(1)


def table(text: str) -> list[dict[str, str]]:
    """The first markdown table of ``text``, a dict per row."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    return [dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")), strict=True))
            for line in lines[2:]]


def stale(page: str, found, today, rerun: str) -> str:
    return (f"benchmarks/perf/results/{page} says {found}, today's code gives {today}: make it "
            f"again with `{rerun}`")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_a_report_names_a_command_that_still_exists(page):
    words = command(page).split()
    words = words[1:] if Path(words[0]).name.startswith("python") else words
    if words[0] == "make":
        targets = set(re.findall(r"^([a-z][a-z-]*):", (ROOT / "Makefile").read_text(), re.M))
        targets |= {f"bench-{s.replace('_', '-')}" for s in suite_times.TARGETS}
        assert words[1] in targets, f"{page.name}: make {words[1]}: no such target"
        return
    script = ROOT / words[0]
    assert script.suffix == ".py" and script.is_file(), f"{page.name}: {words[0]}: no such script"
    source = script.read_text(encoding="utf-8")
    for option in (word.split("=")[0] for word in words if word.startswith("--")):
        assert f'"{option}"' in source, f"{page.name}: {words[0]} has no option {option}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_no_report_keeps_a_board_in_an_older_layout(page):
    """Boards rank with intervals (``1 [1, 2]``); ``1=`` marked a tie in an older layout."""
    old = re.findall(r"^\| *\d+= *\|", page.read_text(encoding="utf-8"), re.M)
    assert not old, (f"{page.name} holds a board in an older layout (ranks {old[:3]}): make it "
                     f"again with `{command(page)}`")


SUITE_TIMES = [page for page in PAGES if "suite_times.py" in page.read_text(encoding="utf-8")]


@pytest.mark.parametrize("page", SUITE_TIMES, ids=lambda p: p.name)
def test_suite_times_count_the_cells_the_suites_fit_today(page):
    made_by = command(page)
    suites = [word for word in made_by.split("suite_times.py")[1].split("--")[0].split()]
    rows = table(page.read_text(encoding="utf-8"))
    assert [row["suite"] for row in rows] == suites, f"{page.name}: rows are not {suites}"
    found = {row["suite"]: int(row["cells"]) for row in rows}
    today = dict(zip(suites, suite_times.planned_cells(suites), strict=True))
    assert found == today, stale(page.name, found, today,
                                 f"{made_by} --out benchmarks/perf/results/{page.name}")


def test_the_shard_balance_counts_the_cells_its_suite_plans_today():
    page = REPORTS / "shard-balance.md"
    made_by = command(page)
    suite = made_by.split()[-1]
    found = {int(row["cells"]) for row in table(page.read_text(encoding="utf-8"))}
    today = {sum(suite_times.planned_cells([suite]))}
    assert found == today, stale(page.name, found, today, made_by)


def test_the_slurm_report_merged_the_cells_its_suite_plans_today():
    page = REPORTS / "slurm-quick.md"
    made_by = command(page)
    merged = re.findall(r"merged into \S+ (\d+)/(\d+) cells", page.read_text(encoding="utf-8"))
    today = sum(suite_times.planned_cells([made_by.split()[2]]))
    assert merged and all(int(n) == int(total) == today for n, total in merged), \
        stale(page.name, merged, today, made_by)


def test_the_kept_media_board_is_what_todays_code_renders_from_its_results():
    assert media_synth.KEPT.is_dir(), \
        f"{media_synth.KEPT.relative_to(ROOT)}: missing; run `{media_synth.COMMAND}`"
    assert command(media_synth.PAGE) == media_synth.COMMAND
    kept, today = media_synth.rendered_board()
    assert kept == today, (f"{media_synth.PAGE.relative_to(ROOT)} is not the board today's code "
                           f"renders from its kept results: `{media_synth.COMMAND} "
                           "--render-only` after a change of the board's layout, "
                           f"`{media_synth.COMMAND}` after a change of what the run computes")
