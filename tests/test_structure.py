"""The package's layering: the code map in docs/development.md names every module and its
floor, no import climbs a floor, only the CLI, the runner and verify import report/, and no
import cycles."""

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "emorec"
REPORT_IMPORTERS = ("emorec.cli", "emorec.sweep.runner", "emorec.verify", "emorec.report")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def every_import() -> dict[str, set[str]]:
    """emorec module -> the emorec modules it imports anywhere in it (lazy imports too)."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                named = [f"{node.module}.{alias.name}" for alias in node.names]
                found |= {n for n in named if n in modules} or {node.module}
            elif isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def code_map() -> list[tuple[int, list[str], str]]:
    """The rows of the code map in docs/development.md: floor, room paths, modules' text."""
    text = (ROOT / "docs" / "development.md").read_text()
    section = text.split("## Code map", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].isdigit():
            rows.append((int(cells[0]), re.findall(r"`([^`]+)`", cells[1]), cells[2]))
    return rows


def mapped_floors() -> dict[str, int]:
    """Every module the code map names -> its floor (a room's modules are named by their path
    inside the room, in backticks)."""
    floors = {}
    for floor, rooms, text in code_map():
        for room in rooms:
            if room.endswith("/"):
                for named in re.findall(r"`([\w/]+\.py)`", text):
                    floors[room + named] = floor
                floors[room + "__init__.py"] = floor
            else:
                floors[room] = floor
    return floors


MAX_LINES = 320


def test_no_module_is_longer_than_320_lines():
    sizes = {str(path.relative_to(ROOT)): len(path.read_text().splitlines())
             for path in PACKAGE.rglob("*.py")}
    over = {path: n for path, n in sizes.items() if n > MAX_LINES}
    assert not over, f"modules over {MAX_LINES} lines: {over}"


def test_the_code_map_names_every_module_and_nothing_that_does_not_exist():
    floors = mapped_floors()
    modules = {str(path.relative_to(ROOT)) for path in PACKAGE.rglob("*.py")}
    assert len(code_map()) >= 10
    unnamed = sorted(m for m in modules - set(floors) if not m.endswith("__init__.py"))
    assert not unnamed, f"modules missing from docs/development.md's code map: {unnamed}"
    missing = sorted(m for m in floors if not (ROOT / m).exists() and "__init__" not in m)
    assert not missing, f"the code map names modules that do not exist: {missing}"


def test_no_import_climbs_a_floor_and_only_the_cli_runner_and_verify_import_report():
    floors = {module_name(ROOT / path): floor for path, floor in mapped_floors().items()}
    floors["emorec"] = 0
    climbing, into_report = [], []
    for module, imported in every_import().items():
        for target in sorted(imported):   # a module not in the map: the test above names it
            if floors.get(target, 0) > floors.get(module, 99):
                climbing.append(f"{module} (floor {floors[module]}) -> {target} "
                                f"(floor {floors[target]})")
            if target.startswith("emorec.report") and not module.startswith(REPORT_IMPORTERS):
                into_report.append(f"{module} -> {target}")
    assert not climbing, ("imports that climb a floor (move the code down, or hand it in from the "
                          "caller above):\n" + "\n".join(climbing))
    assert not into_report, ("report/ imported by a module other than the CLI, the sweep runner "
                             "and verify (report/ renders results for them):\n"
                             + "\n".join(into_report))


def test_the_checks_find_what_they_look_for():
    """The parsers above read what they must: a known lazy import and a known room module."""
    assert "emorec.report.pages" in every_import()["emorec.cli.results_commands"]
    floors = mapped_floors()
    assert floors["emorec/store/schema.py"] == floors["emorec/store/results.py"]
    assert floors["emorec/cli/run_commands.py"] > floors["emorec/report/pages.py"]


def module_imports() -> dict[str, set[str]]:
    """emorec module -> the emorec modules it imports at module level."""
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found = set()
        for node in ast.parse(path.read_text()).body:   # module level only: lazy imports are
            if isinstance(node, ast.ImportFrom) and node.module:   # not part of the layering
                names = [f"{node.module}.{alias.name}" for alias in node.names]
                found |= {n for n in [node.module, *names] if n.startswith("emorec")}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name.startswith("emorec")}
        graph[name] = found
    modules = set(graph)
    return {name: {m for m in found if m in modules and m != name}
            for name, found in graph.items()}


def test_the_module_import_graph_has_no_cycles():
    graph = module_imports()
    state = {}

    def visit(module, path):
        if state.get(module) == "done":
            return
        assert state.get(module) != "open", " -> ".join([*path, module])
        state[module] = "open"
        for imported in sorted(graph[module]):
            visit(imported, [*path, module])
        state[module] = "done"

    for module in sorted(graph):
        visit(module, [])


@pytest.mark.parametrize("module, forbidden", [
    ("emorec.report.pages", ["torch", "emorec.models", "optuna"]),
    ("emorec.report.figures", ["torch", "emorec.models", "optuna"]),
    ("emorec.sweep.runner", ["optuna"]),
    ("emorec.data.dataset", ["torch", "emorec.models", "emorec.metrics"]),
])
def test_a_layer_does_not_import_what_it_does_not_need(module, forbidden):
    code = (f"import sys, {module}; "
            f"print([m for m in {forbidden!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_rendering_a_leaderboard_imports_no_torch(tmp_path):
    golden = Path(__file__).parent / "golden"
    code = ("import sys; from pathlib import Path; from emorec.report.pages import render_all; "
            f"render_all(Path({str(golden)!r}), Path({str(tmp_path)!r})); "
            "print(sorted(m for m in ('torch', 'emorec.models', 'optuna') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    rendered = (tmp_path / "sewa-synth-tiny.md").read_text()
    assert rendered == (golden / "sewa-synth-tiny.md").read_text(), (
        "the golden board differs from what the leaderboard renders now: after a deliberate "
        "change to the board's layout, run make golden and review the diff")
