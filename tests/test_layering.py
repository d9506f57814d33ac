"""The package's shape holds: no import cycles, services packages depend one way, nothing
below the CLI and the web imports them, and no module grows past 400 lines.

Read from the source with ``ast`` (module-level imports only: an import inside a function or
under ``if TYPE_CHECKING`` does not bind at import time).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import incident_svc

ROOT = Path(incident_svc.__file__).parent
MAX_LINES = 400
UPPER = {"cli", "web", "runtime", "demo"}  # entry points: nothing below imports them
LOWER = {"domain", "notices", "mail", "services"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _imports(modules: dict[str, Path]) -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for node in ast.parse(path.read_text()).body:
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            edges[name] |= {t for t in targets if t in modules and t != name}
    return edges


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _services_package(module: str) -> str | None:
    parts = module.split(".")
    if len(parts) > 3 and parts[1] == "services":
        return parts[2]
    return None


def test_no_module_imports_itself_through_others() -> None:
    edges = _imports(_modules())
    cycles = []
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in list(edges):
        if module not in index:
            visit(module)
    assert cycles == []


def test_services_packages_depend_on_each_other_one_way() -> None:
    edges = _imports(_modules())
    between: dict[str, set[str]] = defaultdict(set)
    for source, targets in edges.items():
        for target in targets:
            a, b = _services_package(source), _services_package(target)
            if a and b and a != b:
                between[a].add(b)
    two_way = sorted(
        (a, b) for a in list(between) for b in between[a] if a < b and a in between.get(b, ())
    )
    assert two_way == []


def test_nothing_below_the_entry_points_imports_them() -> None:
    edges = _imports(_modules())
    upward = sorted(
        (source, target)
        for source, targets in edges.items()
        for target in targets
        if (_layer(source) in LOWER and _layer(target) in UPPER)
        or (_layer(source) == "domain" and _layer(target) == "services")
    )
    assert upward == []


def test_every_module_is_under_400_lines() -> None:
    long = {
        str(path.relative_to(ROOT)): n
        for path in _modules().values()
        if (n := len(path.read_text().splitlines())) >= MAX_LINES
    }
    assert long == {}
