"""No import cycle inside the package, counting every import: at the top, inside functions (lazy)
and under TYPE_CHECKING."""

from __future__ import annotations

import ast
import os

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
    """The package's modules that ``path`` imports, wherever the import statement stands."""
    edges = set()
    with open(path) as f:
        tree = ast.parse(f.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            edges |= {alias.name for alias in node.names if alias.name in known}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(NAME):
            for alias in node.names:  # `from pkg import module` imports the module, else pkg itself
                target = f"{node.module}.{alias.name}"
                edges.add(target if target in known else node.module)
    return edges


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
