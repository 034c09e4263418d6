"""The house has no circles: the import graph of src/condainfra has no cycle, and each room (a subpackage,
or a top-level module) imports only rooms at or below its own rank (docs/architecture.md).

Every import counts, at module level or inside a function, under TYPE_CHECKING or not: a lazy import
hides a dependency from the interpreter, not from the design. Imports by string (importlib) are not seen.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "condainfra"

# Lowest first. A room imports rooms of its own rank or below, never above.
RANKS = [
    {"errors", "urls", "jsondoc", "output", "inputfile", "fetch", "devtools", "subdirs"},  # helpers everything may use
    {"config"},  # the config models and their loading
    {"compiler", "redact"},  # config -> resources; the scrubber knows the compiled secret markers
    {"project"},  # a checkout: its orgs and stacks
    {"mirror", "importers", "components", "plan", "orgstate"},
    {"dashboard", "engine"},
    {"cli", "__main__"},
]
RANK = {room: i for i, rooms in enumerate(RANKS) for room in rooms}


def _modules(src: Path = SRC) -> dict[str, Path]:
    modules = {}
    for path in sorted((src / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(src).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of the package that ``name`` imports, as far as they resolve to a module file."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            # `from .x import y`: y may be a module of its own (then that is the edge) or a name in x
            targets = [f"{target}.{alias.name}" if f"{target}.{alias.name}" in modules else target for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # `import condainfra.a.b` of a name inside a: the module a
                target = target.rpartition(".")[0]
            if target.startswith(PACKAGE + ".") and target != name:
                found.add(target)
    return found


@functools.lru_cache(maxsize=None)  # read once per run: the tests below share it
def _graph(src: Path = SRC) -> dict[str, set[str]]:
    modules = _modules(src)
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def _room(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as one cycle through them."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []

    def visit(node: str) -> None:  # recursion depth is bounded by the module count (a few hundred)
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_one_cycle(graph, set(component)) for component in components]


def _one_cycle(graph: dict[str, set[str]], members: set[str]) -> list[str]:
    """A shortest path from the component's first module back to itself, inside the component."""
    start = min(members)
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph[node] & members):
                if nxt == start:
                    return paths[node] + [start]
                if nxt not in paths:
                    paths[nxt] = paths[node] + [nxt]
                    following.append(nxt)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # a component of two or more always has one


def test_every_room_has_a_rank():
    unranked = sorted({_room(m) for m in _modules() if m != PACKAGE} - set(RANK))
    assert not unranked, f"rooms without a rank in tests/test_architecture.py (and docs/architecture.md): {unranked}"


def test_the_import_graph_has_no_cycle():
    cycles = _cycles(_graph())
    assert not cycles, "import cycles in src/condainfra:\n" + "\n".join("  " + " -> ".join(c) for c in cycles)


def test_no_room_imports_a_room_above_it():
    upward = []
    for module, targets in sorted(_graph().items()):
        for target in sorted(targets):
            here, there = _room(module), _room(target)
            if here in RANK and there in RANK and RANK[there] > RANK[here]:
                upward.append(f"  {module} imports {target} ({here}, rank {RANK[here]}, imports {there}, rank {RANK[there]})")
    assert not upward, "imports of a room above (move what both need down, or the importer up):\n" + "\n".join(upward)


def test_the_checker_sees_function_level_imports_and_cycles(tmp_path):
    """The checker itself: a lazy import inside a function is an edge, and a two-module cycle is found."""
    pkg = tmp_path / PACKAGE
    (pkg / "config").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "config" / "__init__.py").write_text("")
    (pkg / "config" / "a.py").write_text("from .b import thing\n")
    (pkg / "config" / "b.py").write_text("def f():\n    from ..cli import main\n    from . import a\n")
    (pkg / "cli.py").write_text("")
    graph = _graph(tmp_path)
    assert graph[f"{PACKAGE}.config.b"] == {f"{PACKAGE}.cli", f"{PACKAGE}.config.a"}
    assert _cycles(graph) == [[f"{PACKAGE}.config.a", f"{PACKAGE}.config.b", f"{PACKAGE}.config.a"]]
