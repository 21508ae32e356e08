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

from emorec.store import result_rows, results

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
    rows = result_rows.current(results.load(ROOT / "leaderboard" / "results" / f"{dataset}.csv"))
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

    from emorec.data.synth_spec import SEWA

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


# ------------------------------------------------------------------ what the docs say of the code
def test_the_printed_time_to_train_the_sewa_suite_afresh_is_the_one_the_docs_quote():
    """`make bench-sewa` on a fresh clone prints the time its recorded fits take; performance.md
    quotes it from the same committed rows (checked in QUOTED below, via the same numbers)."""
    import sys

    from emorec.report.sweep import reuse_note
    from emorec.sweep.suites import load_suite

    seconds = current("sewa-synth", "sewa")["fit_core_seconds"].sum()
    text = prose((ROOT / "docs" / "performance.md").read_text())
    quoted = re.findall(r"recorded fits take about (\d+)\s+minutes with 2 jobs", text)
    assert quoted == [f"{seconds / 120:.0f}"], quoted
    old = sys.argv
    try:
        sys.argv = [".venv/bin/emorec"]
        note = reuse_note(load_suite(ROOT / "benchmarks" / "sewa.toml"), 164, 164,
                          Path("leaderboard/results/sewa-synth.csv"), 2, seconds)
    finally:
        sys.argv = old
    assert f"about {quoted[0]} min with 2 jobs" in note


def test_the_verify_tolerance_the_docs_give_is_the_makefiles():
    tolerance = re.search(r"^VERIFY_TOLERANCE \?= (\S+)$", (ROOT / "Makefile").read_text(),
                          re.M).group(1)
    for page in ("performance.md", "trust.md"):
        text = " ".join(prose((ROOT / "docs" / page).read_text()).split())
        assert re.findall(r"within (\S+) \(`VERIFY_TOLERANCE`\)", text) == [tolerance], page
        for sentence in re.split(r"(?<=[.;])\s", text):
            assert not ("make verify" in sentence and "bit-identical" in sentence), sentence


SEED_FREE_LISTS = [("models.md", r"\*\*seed-free\*\*: ((?:`\w+`,? )+and `\w+`)"),
                   ("own-model.md", r"emorec's own ((?:`\w+`,? )+and `\w+`) are seed-free")]


@pytest.mark.parametrize("page, pattern", SEED_FREE_LISTS, ids=[p for p, _ in SEED_FREE_LISTS])
def test_a_list_of_seed_free_models_is_the_registrys(page, pattern):
    from emorec.models import MODELS

    text = " ".join(prose((ROOT / "docs" / page).read_text()).split())
    found = re.findall(pattern, text)
    assert len(found) == 1, f"docs/{page}: {len(found)} lists of seed-free models"
    registered = {name for name in MODELS if not MODELS.get(name).seeded}
    assert set(re.findall(r"`(\w+)`", found[0])) == registered, f"docs/{page}: {found[0]}"


def test_the_lag_study_is_described_as_its_suite_runs():
    from emorec.models import MODELS
    from emorec.sweep.planning import cell_seeds
    from emorec.sweep.suites import load_suite

    numbers = {"three": 3, "five": 5, "eight": 8}
    one_lag = load_suite(ROOT / "benchmarks" / "sewa_lag.toml").each_dataset()[0]
    families = [MODELS.get(e.model).family for e in one_lag.experiments]
    cells = sum(len(cell_seeds(MODELS.get(e.model), one_lag.seeds)) for e in one_lag.experiments)
    text = " ".join(prose((ROOT / "docs" / "stand-ins.md").read_text()).split())
    said = re.search(r"same (\w+) configurations \((\w+) models: .*? the (\w+) reference rows",
                     text)
    assert said, "docs/stand-ins.md: the lag study's configurations are not described"
    assert [numbers[word] for word in said.groups()] == [
        len(families), sum(f != "reference" for f in families), families.count("reference")]
    running = " ".join(prose((ROOT / "docs" / "running.md").read_text()).split())
    assert f"the rating-lag study, {len(families)} configurations at lags 0, 1, 2, 3 s, " \
           f"{len(one_lag.seeds)} seeds: {cells} cells a lag" in running


def test_the_small_study_of_tuning_md_is_a_command_emorec_takes():
    """The first study of docs/tuning.md parses as emorec parses it, tunes a model with a search
    space on params it has, is small, and its tuned rows come from the same study and suite."""
    import json
    import shlex

    from emorec.cli import build_parser
    from emorec.models import MODELS

    block = re.search(r"```sh\n(.*?)```", (ROOT / "docs" / "tuning.md").read_text(), re.S)
    lines = block.group(1).replace("\\\n", " ").splitlines()
    parsed = [build_parser().parse_args(shlex.split(line.split("#")[0])[1:]) for line in lines]
    tune, bench = parsed
    spec = MODELS.get(tune.model)
    assert spec.tunable and tune.trials <= 10
    spec.params(dict((n, json.loads(v)) for n, v in (p.split("=", 1) for p in tune.param)))
    assert (bench.params_from, str(bench.suite)) == (tune.study, str(tune.dataset))


@pytest.mark.slow
def test_the_disk_the_docs_give_is_what_the_stand_ins_take(tmp_path):
    """performance.md's disk figures: the first command's stand-in and those of make verify,
    generated again (within 5%)."""
    from emorec.sweep.suites import load_suite

    def mib(folder: Path) -> float:
        return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 2**20

    text = " ".join(prose((ROOT / "docs" / "performance.md").read_text()).split())
    first = float(re.search(r"`data/sewa-synth-full-seed0`: (\d+) MiB", text).group(1))
    every = float(re.search(r"(\d+) MiB in all", text).group(1))
    data = tmp_path / "data"
    sewa = load_suite(ROOT / "benchmarks" / "sewa.toml").dataset_path(data)
    assert mib(sewa) == pytest.approx(first, rel=0.05)
    suites = re.search(r"^SUITES := (.*)$", (ROOT / "Makefile").read_text(), re.M).group(1)
    for name in suites.split():
        for one in load_suite(ROOT / "benchmarks" / f"{name}.toml").each_dataset():
            one.dataset_path(data)
    assert mib(data) == pytest.approx(every, rel=0.05)
