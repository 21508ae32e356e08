"""The documentation stands up: the README is a short door to the pages in docs/, every relative
link (README, docs/, leaderboard/) reaches its file and heading (a board the next rerun of the
suites writes: once it is there), the project points nowhere
outside itself, and every measured figure the docs quote is what the committed files give.

Anchors are checked with GitHub's heading-slug rule: the heading's text (inline code and link
markup reduced to their text) lower-cased, every character other than a letter, digit, space,
hyphen or underscore dropped, spaces turned into hyphens, and a repeated slug numbered -1, -2, ...
"""

import re
import subprocess
from pathlib import Path

import pytest

from emorec import results

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = sorted((ROOT / "docs").glob("*.md"))
BOARDS = sorted((ROOT / "leaderboard").glob("*.md"))
LINK = re.compile(r"!?\[([^\]]*)\]\(([^)\s]+)\)")
FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")


def prose(text: str) -> str:
    """The text outside fenced code blocks."""
    return FENCE.sub("", text)


def links(path: Path) -> list[str]:
    text = prose(path.read_text())
    # link text may hold inline code; inline code elsewhere holds no links
    text = INLINE_CODE.sub(lambda m: m.group(0) if "](" not in m.group(0) else "", text)
    return [target for _, target in LINK.findall(text)]


def slug(heading: str) -> str:
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)   # links: their text
    text = text.strip().lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: dict[str, int] = {}
    found = set()
    for line in prose(path.read_text()).splitlines():
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not heading:
            continue
        base = slug(heading.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def test_the_slug_rule_matches_github():
    assert slug("Stand-ins: `sewa-synth` and `afew-va-synth`") == \
        "stand-ins-sewa-synth-and-afew-va-synth"
    assert slug("Numbers you can defend; faults: nothing lost, nothing twice") == \
        "numbers-you-can-defend-faults-nothing-lost-nothing-twice"
    assert slug("The SEWA stand-in: every factor and where its value comes from") == \
        "the-sewa-stand-in-every-factor-and-where-its-value-comes-from"


def test_the_readme_is_a_short_door():
    assert README.stat().st_size < 10 * 1024, f"README.md is {README.stat().st_size} bytes"
    first_block = re.search(r"```sh\n(.*?)```", README.read_text(), re.S).group(1)
    assert [line.split("#")[0].strip() for line in first_block.splitlines()] == \
        ["make bench-sewa", "make test"]


def test_every_docs_page_and_leaderboard_is_linked_from_the_readme():
    linked = {(ROOT / target.split("#")[0]).resolve() for target in links(README)}
    assert DOCS, "docs/ holds no pages"
    for page in [*DOCS, *BOARDS]:
        assert page.resolve() in linked, f"README.md does not link {page.relative_to(ROOT)}"


@pytest.mark.parametrize("page", [README, *DOCS, *BOARDS], ids=lambda p: str(p.relative_to(ROOT)))
def test_no_relative_link_is_dead(page):
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):   # http:, https:, mailto: ...
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.relative_to(ROOT)} links {target}: no such file"
        if anchor:
            assert linked.suffix == ".md", f"{page.relative_to(ROOT)} links {target}: not a page"
            assert anchor in anchors(linked), \
                f"{page.relative_to(ROOT)} links {target}: no such heading in {linked.name}"


def project_files() -> list[Path]:
    try:
        listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=ROOT,
                                capture_output=True, text=True, check=True).stdout.split("\n")
        return [ROOT / name for name in listed if name and (ROOT / name).is_file()]
    except (OSError, subprocess.CalledProcessError):
        return [p for p in ROOT.rglob("*") if p.is_file()
                and not {".git", ".venv", "data", "runs"} & set(p.relative_to(ROOT).parts)]


def test_nothing_points_outside_the_project():
    outside = ".." + "/shared"   # spelled in two pieces so this file does not match itself
    for path in project_files():
        try:
            text = path.read_text()
        except (UnicodeDecodeError, OSError):
            continue   # binary files (figures, parquet)
        assert outside not in text, f"{path.relative_to(ROOT)} points to {outside}"


# ------------------------------------------------------------------ figures the docs quote
def current(dataset: str, suite: str | None = None):
    """The dataset's current rows, or the cells a suite fitted (a results file holds every
    suite that ran on its dataset; late-fusion rows are made, not fitted)."""
    rows = results.current(results.load(ROOT / "leaderboard" / "results" / f"{dataset}.csv"))
    if suite is None:
        return rows
    return rows[(rows["suite"] == suite) & ~rows["family"].isin(["late fusion", "external"])]


def default_ccc(dataset: str, model: str) -> float:
    rows = current(dataset)
    rows = rows[(rows["model"] == model) & (rows["variant"] == "{}") & (rows["tuned_by"] == "")]
    assert len(rows) > 0, f"no untuned default {model} row in {dataset}"
    return rows["test_mean_ccc"].mean()


def core_minutes(dataset: str, suite: str) -> float:
    return current(dataset, suite)["fit_core_seconds"].sum() / 60


# (page, a pattern whose group is the figure, what the committed files give, its format)
QUOTED = [
    ("stand-ins.md", r"^\| frame BayesianRidge pooled CCC \|.*\| ([0-9.]+) \|$",
     lambda: default_ccc("sewa-synth", "bayesian_ridge"), "{:.3f}"),
    ("stand-ins.md", r"^\| noise ceiling pooled CCC \|.*\| ([0-9.]+) \|$",
     lambda: default_ccc("sewa-synth", "oracle"), "{:.3f}"),
    ("performance.md", r"SEWA suite's (\d+) cells",
     lambda: len(current("sewa-synth", "sewa")), "{}"),
    ("performance.md", r"sewa-synth\.csv`\): ([0-9.]+) CPU core-minutes",
     lambda: core_minutes("sewa-synth", "sewa"), "{:.1f}"),
    ("performance.md", r"AFEW-VA suite's (\d+) cells",
     lambda: len(current("afew-va-synth-5fps", "afew-va")), "{}"),
    ("performance.md", r"afew-va-synth-5fps\.csv`\): ([0-9.]+) CPU core-minutes",
     lambda: core_minutes("afew-va-synth-5fps", "afew-va"), "{:.1f}"),
    ("performance.md", r"quick suite's (\d+) cells",
     lambda: len(current("sewa-synth-small", "quick")), "{}"),
    ("performance.md", r"sewa-synth-small\.csv`\): ([0-9.]+) CPU",
     lambda: core_minutes("sewa-synth-small", "quick"), "{:.1f}"),
    ("running.md", r"^\| `make bench-sewa` \|.* = (\d+) cells;",
     lambda: len(current("sewa-synth", "sewa")), "{}"),
    ("running.md", r"^\| `make bench-afew-va` \|.* = (\d+) cells \|$",
     lambda: len(current("afew-va-synth-5fps", "afew-va")), "{}"),
    ("running.md", r"^\| `make bench-quick` \|.* = (\d+) cells,",
     lambda: len(current("sewa-synth-small", "quick")), "{}"),
]


@pytest.mark.parametrize("page, pattern, value, form", QUOTED,
                         ids=[f"{page}: {pattern[:40]}" for page, pattern, _, _ in QUOTED])
def test_a_quoted_figure_is_what_the_result_files_give(page, pattern, value, form):
    found = re.findall(pattern, (ROOT / "docs" / page).read_text(), re.M)
    assert len(found) == 1, f"docs/{page}: {len(found)} matches of {pattern!r}"
    assert found[0] == form.format(value()), \
        f"docs/{page} says {found[0]}, the result files give {form.format(value())}"


def test_quoted_defaults_are_the_registered_ones():
    from emorec import uncertainty
    from emorec.models import MODELS

    trust = (ROOT / "docs" / "trust.md").read_text()
    assert f"({uncertainty.RESAMPLES:,} resamples, seed {uncertainty.SEED}," in trust
    svr = MODELS.get("svr").defaults
    assert f"`max_train_frames` = {svr['max_train_frames']:,} training" in trust
    assert f"`max_dev_frames` = {svr['max_dev_frames']:,} dev frames" in trust
    windows = {MODELS.get(name).defaults["epoch_samples"] for name in MODELS
               if "window" in MODELS.get(name).defaults and MODELS.get(name).family in
               ("video", "fusion")}
    assert windows == {12000} and "(12,000 for the window nets" in trust
    from emorec.report.prose import FIDELITY

    budget = next(emorec for aspect, _, emorec, _ in FIDELITY if aspect == "training budget")
    gru = MODELS.get("gru").defaults
    assert (f"epochs of {gru['epoch_samples']:,} sampled windows, at most {gru['epochs']}, "
            f"early stopping on dev RMSE with patience {gru['patience']} (one dev frame in "
            f"{gru['dev_stride']} scored") in budget
    assert MODELS.get("ffnn").defaults["epoch_samples"] is None   # all frames


def test_the_stand_in_factor_table_lists_every_generator_number_with_its_value_and_source():
    from dataclasses import fields

    from emorec.data.synth import SEWA

    text = (ROOT / "docs" / "stand-ins.md").read_text()
    table = text.split("## The SEWA stand-in: every factor")[1].split("\n\n")[2]
    rows = {cells[1].strip("` "): (cells[2].strip(), cells[3].strip())
            for cells in (line.split("|") for line in table.splitlines()[2:])}
    assert set(rows) == {f.name for f in fields(SEWA)} - {"name"}
    for name, (value, source) in rows.items():
        expected = getattr(SEWA, name)
        if isinstance(expected, tuple):
            assert [float(v) for v in value.split(",")] == list(expected), name
        elif isinstance(expected, bool):
            assert value == str(expected).lower(), name
        else:
            assert float(value) == expected, name
        assert source, name
