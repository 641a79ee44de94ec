"""The project's import graph, read from the source (AST), not by importing it: every `import` and
`from ... import` of every module under the given packages, at module level and inside functions
(a lazy import is still a dependency), each resolved to the project module it loads.

Reusable by any layer test: `import_graph()` gives the edges, `cycles()` the strongly connected
components of a part of it, `violations()` the edges a rule forbids."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("lambdas", "infrastructure", "emulator", "cli", "bench")


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name, e.g. lambdas.orchestration.run
    imported: str  # the project module it loads (a submodule when `from package import submodule`)
    line: int
    lazy: bool  # inside a function (loaded when first called)
    type_only: bool  # under `if TYPE_CHECKING:` (never loaded at run time)

    def __str__(self) -> str:
        how = " (type only)" if self.type_only else (" (lazy)" if self.lazy else "")
        return f"{self.importer}:{self.line} -> {self.imported}{how}"


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def project_modules(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> dict[str, Path]:
    """dotted name -> file, for every module of the packages."""
    return {
        module_name(path, root): path
        for package in packages
        for path in sorted((root / package).rglob("*.py"))
        if "__pycache__" not in path.parts
    }


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _targets(node: ast.Import | ast.ImportFrom, importer: str, is_package: bool, known: set[str]) -> list[str]:
    """The project modules an import statement loads (imports of other libraries are left out)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:  # relative: from the importer's package, one level up per extra dot
            package = importer.split(".") if is_package else importer.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join([*package, base] if base else package)
        # `from package import name`: the submodule when `name` is one, else the module itself.
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
    found = []
    for name in names:
        while name and name not in known:  # `import a.b.c` of a package without a.b.c listed
            name = name.rpartition(".")[0]
        if name:
            found.append(name)
    return list(dict.fromkeys(found))


def imports_of(module: str, path: Path, known: set[str]) -> list[Import]:
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    found: list[Import] = []

    def visit(node: ast.AST, lazy: bool, type_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                for target in _targets(child, module, is_package, known):
                    if target != module:
                        found.append(Import(module, target, child.lineno, lazy, type_only))
            elif isinstance(child, ast.If) and _is_type_checking(child.test):
                for statement in child.body:
                    visit(ast.Module(body=[statement], type_ignores=[]), lazy, True)
                for statement in child.orelse:
                    visit(ast.Module(body=[statement], type_ignores=[]), lazy, type_only)
            else:
                inner = lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
                visit(child, inner, type_only)

    visit(tree, False, False)
    return found


@cache
def import_graph(root: Path = ROOT, packages: tuple[str, ...] = PACKAGES) -> tuple[Import, ...]:
    """Every import between the project's modules."""
    modules = project_modules(root, packages)
    known = set(modules)
    return tuple(edge for name, path in modules.items() for edge in imports_of(name, path, known))


def in_package(module: str, *packages: str) -> bool:
    return any(module == package or module.startswith(package + ".") for package in packages)


def cycles(edges: Iterable[Import], within: Callable[[str], bool], *, type_only: bool = True) -> list[list[str]]:
    """Import cycles among the modules `within` accepts: each strongly connected component of more
    than one module (Tarjan), sorted. `type_only=False` leaves out the imports under TYPE_CHECKING
    (they never run, so they cannot fail an import; they still tie the modules together)."""
    graph: dict[str, set[str]] = {}
    for edge in edges:
        if (type_only or not edge.type_only) and within(edge.importer) and within(edge.imported):
            graph.setdefault(edge.importer, set()).add(edge.imported)
            graph.setdefault(edge.imported, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for following in sorted(graph[node]):
            if following not in index:
                connect(following)
                low[node] = min(low[node], low[following])
            elif following in on_stack:
                low[node] = min(low[node], index[following])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return sorted(components)


def violations(edges: Iterable[Import], importer: Callable[[str], bool], forbidden: Callable[[str], bool]) -> list[str]:
    """The imports by modules `importer` accepts of modules `forbidden` accepts, as text."""
    return [str(edge) for edge in edges if importer(edge.importer) and forbidden(edge.imported)]
