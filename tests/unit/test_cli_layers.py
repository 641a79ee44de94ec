"""The operations CLI keeps its shape: read from the syntax tree of cli/ (nothing is imported or run).

- no import cycle between cli modules (module-level and function-level imports alike);
- only the `local` and `demo` command modules, and cli/local (the local environment's tools), import
  the development emulator, and `import cli.main` loads neither its server nor moto;
- cli/reviews is pure: no typer, rich, boto3 or botocore, and nothing of the CLI that has them;
- cli/readers read the platform's tables through lambdas/dal only: no boto3, no `platform_client`;
- cli/commands modules never import each other (what two groups share lives below them);
- no DynamoDB client of its own anywhere in cli/: every table goes through its adapter in lambdas/dal.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
CLI = REPOSITORY / "cli"
# The local environment's command modules and its tools (cli/local: the training exercises' setup).
EMULATOR_ALLOWED = {"cli.commands.local", "cli.commands.demo"}
EMULATOR_PACKAGE = ("cli.local",)
# What a pure review may import of the CLI: other reviews only.
REVIEWS_MAY_IMPORT = ("cli.reviews",)
UI_AND_AWS = ("typer", "rich", "boto3", "botocore", "click")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPOSITORY).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every module the file imports, at any depth of the tree (functions included); `from a import b`
    counts as `a.b` when `a.b` is a module of cli/, else as `a`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                if candidate in MODULES:
                    found.add(candidate)
    return found


MODULES = {module_name(path): path for path in sorted(CLI.rglob("*.py"))}
GRAPH = {name: imports_of(path) for name, path in MODULES.items()}


def cli_imports(name: str) -> set[str]:
    """The cli modules `name` imports (a package's import of its `__init__` is no edge of its own)."""
    return {target for target in GRAPH[name] if target in MODULES and target != name and target != "cli"}


def starts(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def cycles() -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        stack.append(name)
        for target in sorted(cli_imports(name)):
            if state.get(target) == 1:
                found.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[name] = 2

    for name in sorted(MODULES):
        if name not in state:
            visit(name)
    return found


def test_the_walker_sees_the_cli():
    assert "cli.main" in MODULES and "cli.commands.ops" in MODULES
    assert "cli.context" in cli_imports("cli.main")


def test_no_import_cycle_in_the_cli():
    assert cycles() == []


def test_only_local_and_demo_import_the_emulator():
    importers = {name for name, targets in GRAPH.items() if any(starts(t, ("emulator",)) for t in targets)}
    outside = {name for name in importers - EMULATOR_ALLOWED if not starts(name, EMULATOR_PACKAGE)}
    assert not outside, sorted(outside)


def test_the_cli_starts_without_the_embedded_aws():
    """`python cli/main.py ...` against a deployment never loads the emulator's server or moto: the
    demo and the training exercises import them when they run."""
    probe = "import json, sys; import cli.main; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(  # noqa: S603 - this interpreter, a fixed probe
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPOSITORY
    )
    loaded = set(json.loads(result.stdout))
    assert "cli.main" in loaded
    assert {"moto", "emulator.server", "emulator.lambda_runtime", "cli.local.exercises"} & loaded == set()


def test_reviews_are_pure():
    for name in (n for n in MODULES if starts(n, ("cli.reviews",))):
        outside = {t for t in GRAPH[name] if starts(t, UI_AND_AWS) or t == "lambdas.dal.aws"}
        assert not outside, f"{name} imports {sorted(outside)}"
        of_the_cli = {t for t in cli_imports(name) if not starts(t, REVIEWS_MAY_IMPORT)}
        assert not of_the_cli, f"{name} imports {sorted(of_the_cli)}"


def test_readers_go_through_the_dal_adapters():
    for name in (n for n in MODULES if starts(n, ("cli.readers",))):
        raw = {t for t in GRAPH[name] if starts(t, ("boto3", "botocore", "lambdas.dal.aws"))}
        assert not raw, f"{name} imports {sorted(raw)}"
        assert "platform_client" not in MODULES[name].read_text(encoding="utf-8"), name


def test_command_modules_do_not_import_each_other():
    for name in (n for n in MODULES if starts(n, ("cli.commands",))):
        siblings = {t for t in cli_imports(name) if starts(t, ("cli.commands",)) and t != "cli.commands"}
        assert not siblings, f"{name} imports {sorted(siblings)}"


def dynamodb_clients(path: Path) -> list[int]:
    """Lines where the file makes a DynamoDB client of its own: `platform_client("dynamodb")`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", getattr(node.func, "attr", None)) == "platform_client"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and node.args[0].value == "dynamodb"
    ]


def test_every_table_is_read_and_written_through_its_adapter():
    raw = {name: lines for name, path in MODULES.items() if (lines := dynamodb_clients(path))}
    assert raw == {}
