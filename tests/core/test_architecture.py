"""The layering of the package, read from the source with ``ast``: every import, function-local
ones included, forms a graph; it has no cycle, and each layer imports only layers below it.

    faces (cli, service, pipeline)  ->  jobs  ->  tabular | images  ->  core  ->  base

``base`` is the package root's small modules (errors, schema, parsing, _version, dtypes, device,
outputs). ``tabular`` and ``images`` never import each other; faces import only ``jobs`` and
``base`` (the CLI may start the service and run pipelines).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "synthgen"
BASE = {"errors", "schema", "parsing", "_version", "dtypes", "device", "outputs"}
# layer -> the layers it may import (itself included)
ALLOWED = {
    "root": {"root", "base"},
    "base": {"base"},
    "core": {"core", "base"},
    "tabular": {"tabular", "core", "base"},
    "images": {"images", "core", "base"},
    "jobs": {"jobs", "tabular", "images", "core", "base"},
    "cli": {"cli", "service", "pipeline", "jobs", "base"},
    "service": {"service", "jobs", "base"},
    "pipeline": {"pipeline", "jobs", "base"},
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


MODULES = _modules()


def _resolve(module: str, node: ast.AST) -> list[str]:
    """The synthgen modules an import statement loads (``from a import b`` where ``b`` is a
    module counts as ``a.b``)."""
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            pkg = module.split(".")
            if MODULES[module].name != "__init__.py":
                pkg = pkg[:-1]
            pkg = pkg[: len(pkg) - (node.level - 1)]
            base = ".".join(pkg + ([node.module] if node.module else []))
        names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
    out = []
    for name in names:
        while name not in MODULES and "." in name:
            name = name.rsplit(".", 1)[0]
        if name in MODULES and name != module and name.startswith("synthgen"):
            out.append(name)
    return out


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                graph[module].update(_resolve(module, node))
    return graph


GRAPH = _graph()


def layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "root"
    if len(parts) == 2 and parts[1] in BASE:
        return "base"
    if parts[1] == "__main__":
        return "cli"
    return parts[1]


def test_every_module_has_a_known_layer():
    unknown = sorted(m for m in MODULES if layer(m) not in ALLOWED)
    assert not unknown, f"modules outside the layers: {unknown}"


def test_no_import_cycles():
    """Tarjan's strongly connected components: any component of two or more is a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(GRAPH[v]):
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

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_respect_the_layers(module):
    wrong = sorted(t for t in GRAPH[module] if layer(t) not in ALLOWED[layer(module)])
    assert not wrong, f"{module} ({layer(module)}) imports {wrong}"


def test_the_root_package_imports_only_base_modules():
    """``import synthgen`` stays light: the public API is loaded lazily by name."""
    assert all(layer(t) == "base" for t in GRAPH["synthgen"])


def test_no_module_is_far_over_400_lines():
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 420
    }
    assert not long, f"modules over ~400 lines: {long}"
