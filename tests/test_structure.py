"""The package's layering: what each layer may import, and no import cycles."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent / "emorec"


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
    assert rendered == (golden / "sewa-synth-tiny.md").read_text()
