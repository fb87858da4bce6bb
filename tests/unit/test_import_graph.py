"""The import graph runs one way: functions → layer; relay → layer; tools → everything; no cycle."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.paths import REPO

HOMES = {
    "guildlog": REPO / "layers/common/guildlog",
    "guildlog_relay": REPO / "relay/guildlog_relay",
    "guildlog_tools": REPO / "tools/guildlog_tools",
}
# What each home may import of the others (itself always).
ALLOWED = {
    "guildlog": {"guildlog"},
    "guildlog_relay": {"guildlog", "guildlog_relay"},
    "guildlog_tools": {"guildlog", "guildlog_relay", "guildlog_tools"},
    "functions": {"guildlog"},
}


def _module_name(home: str, path: Path) -> str:
    parts = path.relative_to(HOMES[home]).with_suffix("").parts
    return ".".join((home, *parts)).removesuffix(".__init__")


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.If) and top_level_only:  # `if TYPE_CHECKING:` imports run no code
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _sources() -> list[tuple[str, Path]]:
    files = [(home, p) for home, root in HOMES.items() for p in sorted(root.rglob("*.py"))]
    return files + [("functions", p) for p in sorted((REPO / "functions").glob("*/app.py"))]


@pytest.mark.parametrize(
    ("home", "path"), _sources(), ids=lambda v: str(v.relative_to(REPO)) if isinstance(v, Path) else v
)
def test_import_graph_reaches_only_the_homes_a_module_may_touch_when_any_import_runs(home: str, path: Path) -> None:
    reached = {name.split(".")[0] for name in _imports(path, top_level_only=False)} & set(HOMES)

    assert reached <= ALLOWED[home], f"{path.relative_to(REPO)} imports {sorted(reached - ALLOWED[home])}"


def test_import_graph_has_no_cycle_when_modules_are_imported() -> None:
    modules = {_module_name(home, path): path for home, path in _sources() if home != "functions"}
    edges = {
        name: {
            target
            for imported in _imports(path, top_level_only=True)
            for target in (imported, imported.rsplit(".", 1)[0])
            if target in modules and target != name and not name.startswith(target + ".")
        }
        for name, path in modules.items()
    }
    state: dict[str, int] = {}
    cycle: list[str] = []

    def visit(node: str, trail: list[str]) -> bool:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycle.extend(trail[trail.index(nxt) :] + [node, nxt] if nxt in trail else [node, nxt])
                return True
            if state.get(nxt) is None and visit(nxt, [*trail, node]):
                return True
        state[node] = 2
        return False

    assert not any(visit(m, []) for m in sorted(modules) if state.get(m) is None), " → ".join(cycle)
