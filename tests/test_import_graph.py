"""No import cycle inside the package, counting every import: at the top, inside functions (lazy)
and under TYPE_CHECKING."""

from __future__ import annotations

import ast
import os
import re

import airflow_provider_ice

PACKAGE = os.path.dirname(airflow_provider_ice.__file__)
NAME = "airflow_provider_ice"


def modules() -> dict[str, str]:
    found = {}
    for folder, _, files in os.walk(PACKAGE):
        for file in files:
            if file.endswith(".py"):
                path = os.path.join(folder, file)
                parts = os.path.relpath(path, os.path.dirname(PACKAGE))[:-3].split(os.sep)
                found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: str, known: dict[str, str]) -> set[str]:
    """The package's modules that ``path`` imports, wherever the import statement stands, absolute
    (``from airflow_provider_ice.client import codes``) or relative (``from ..client import codes``)."""
    edges = set()
    here = next(name for name, p in known.items() if p == path)
    package = here if path.endswith("__init__.py") else here.rpartition(".")[0]
    with open(path) as f:
        tree = ast.parse(f.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            edges |= {alias.name for alias in node.names if alias.name in known}
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative: from the package, up level - 1
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                module = ".".join([*base, module] if module else base)
            if not module.startswith(NAME):
                continue
            for alias in node.names:  # `from pkg import module` imports the module, else pkg itself
                target = f"{module}.{alias.name}"
                edges.add(target if target in known else module)
    return edges


def reachable(start: str, known: dict[str, str]) -> set[str]:
    """Every module of the package that importing ``start`` may import, lazily or not."""
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo += imports(known[name], known)
    return seen


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycle_counting_lazy_and_type_checking_imports():
    known = modules()
    graph = {name: imports(path, known) - {name} for name, path in known.items()}
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def test_waiting_imports_no_operator_sensor_or_trigger():
    known = modules()
    reached = imports(known[f"{NAME}.waiting"], known)
    assert not {m for m in reached if m.startswith((f"{NAME}.operators", f"{NAME}.sensors", f"{NAME}.triggers"))}


def test_relative_imports_are_resolved(tmp_path):
    package = tmp_path / NAME / "testing" / "emulator"
    package.mkdir(parents=True)
    (package / "x.py").write_text("from ...client import codes\nfrom . import y\nfrom ..emulator.y import z\n")
    known = {
        f"{NAME}.testing.emulator.x": str(package / "x.py"),
        f"{NAME}.testing.emulator.y": "y.py",
        f"{NAME}.client.codes": "codes.py",
    }
    assert imports(str(package / "x.py"), known) == {f"{NAME}.client.codes", f"{NAME}.testing.emulator.y"}


def test_the_emulator_imports_nothing_from_the_client():
    """The emulator is an oracle, not a mirror: its answers come from its own records, not from the
    client's code tables or limits (directly or through anything it imports)."""
    known = modules()
    for name in [m for m in known if m.startswith(f"{NAME}.testing.emulator")]:
        leaks = sorted(m for m in reachable(name, known) if m.startswith(f"{NAME}.client"))
        assert leaks == [], f"{name} reaches {leaks}"


def test_the_runtime_client_holds_no_test_names_or_docs_renderers():
    for name, path in modules().items():
        if name.startswith(f"{NAME}.client"):
            with open(path) as f:
                source = f.read()
            assert not re.search(r"test_\w+\.py::", source), f"{name} names a test"
            assert not re.search(r"def render", source), f"{name} renders docs"
