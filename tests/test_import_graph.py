"""adamkit's modules import each other one way only: no import cycles, even through lazy imports.

A cycle hidden by an import inside a function still ties two modules together (neither can change
alone, and which one finishes loading first depends on who is imported first), so imports inside
functions count too. Only ``if TYPE_CHECKING:`` blocks are skipped: they never run.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

import adamkit

SRC = Path(adamkit.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST):
    todo = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.If) and _is_type_checking(node):
            todo.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        todo.extend(ast.iter_child_nodes(node))


def _resolve(name: str, node: ast.ImportFrom | None, importer: str) -> str:
    """The absolute module name of a (possibly relative) ``from`` import."""
    if node is None or not node.level:
        return name
    package = importer if MODULES[importer].name == "__init__.py" else importer.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{name}" if name else package


def imports_of(importer: str) -> set[str]:
    """The adamkit modules ``importer`` imports (``from pkg import sub`` counts as ``pkg.sub``)."""
    tree = ast.parse(MODULES[importer].read_text(), str(MODULES[importer]))
    found = set()
    for node in _import_nodes(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = _resolve(node.module or "", node, importer)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                       for alias in node.names]
        found |= {t for t in targets if t in MODULES and t != importer}
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a list of modules (first == last), or None when the graph is acyclic."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" once fully explored
    for root in sorted(graph):
        if root in state:
            continue
        path, stack = [root], [iter(sorted(graph[root]))]
        state[root] = "open"
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = "done"
                stack.pop()
            elif state.get(nxt) == "open":
                return [*path[path.index(nxt):], nxt]
            elif nxt not in state:
                state[nxt] = "open"
                path.append(nxt)
                stack.append(iter(sorted(graph[nxt])))
    return None


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_lazy_and_package_imports():
    assert "adamkit.lab.engine" in imports_of("adamkit.lab.cli")  # a top-level from-import
    assert "adamkit.lab.functions" in imports_of("adamkit.lab.cli")  # from adamkit.lab import functions
    assert "adamkit.lab.plots" in imports_of("adamkit.lab.cli")  # inside a function


def test_no_import_cycle_among_adamkit_modules():
    graph = {name: imports_of(name) for name in MODULES}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


# modules of an optional extra, imported only where that extra is installed
NEEDS = {"adamkit.torch.fused.gpu": "triton"}


def test_every_module_imports():
    for name in MODULES:
        if name in NEEDS and importlib.util.find_spec(NEEDS[name]) is None:
            continue
        importlib.import_module(name)
