"""The operations CLI keeps its shape, read from the source (nothing of it is run, but for the last
test): the project's import graph of tests/unit/import_graph.py (module-level and function-level
imports alike), and the libraries each module imports.

    cli/commands   thin typer modules, one per command group; never import each other
    cli/documents  each review's document: read through readers and probes, computed by reviews
    cli/reviews    pure: no typer, rich, boto3 or botocore, and of the CLI only other reviews
    cli/readers    the platform's tables through their lambdas/dal adapters: no boto3, no platform_client
    cli/probes     the platform's other AWS resources, as boto3 sees them
    cli/workflows  the changes made in several steps (registration, rotation, backups, the audit trail)
    cli/render     tables, PDF, HTML
    cli/local      the local environment's tools: with the `local` and `demo` command modules, the only
                   importers of emulator/; `import cli.main` loads neither its server nor moto

No import cycle anywhere in cli/, and no DynamoDB client of the CLI's own: every table goes through
its adapter in lambdas/dal (tests/unit/test_optimize.py lists where each table is read).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.unit.import_graph import ROOT, cycles, import_graph, in_package, project_modules, violations

EMULATOR_IMPORTERS = ("cli.commands.local", "cli.commands.demo", "cli.local")
UI_AND_AWS = ("typer", "rich", "click", "boto3", "botocore")


@pytest.fixture(scope="module")
def graph():
    return import_graph()


def cli_modules() -> dict[str, Path]:
    return {name: path for name, path in project_modules().items() if in_package(name, "cli")}


def libraries_of(path: Path) -> set[str]:
    """The top-level names of every library the file imports, at any depth (functions included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def test_the_walker_sees_the_cli(graph):
    edges = {(edge.importer, edge.imported) for edge in graph}
    assert ("cli.main", "cli.commands.ops") in edges
    assert ("cli.commands.training", "cli.local.exercises") in edges  # lazy, still an edge


def test_no_import_cycle_in_the_cli(graph):
    assert cycles(graph, lambda module: in_package(module, "cli")) == []


def test_only_local_and_demo_import_the_emulator(graph):
    found = violations(
        graph,
        lambda module: in_package(module, "cli") and not in_package(module, *EMULATOR_IMPORTERS),
        lambda module: in_package(module, "emulator"),
    )
    assert found == []


def test_the_cli_starts_without_the_embedded_aws():
    """`python cli/main.py ...` against a deployment never loads the emulator's server or moto: the
    demo and the training exercises import them when they run."""
    probe = "import json, sys; import cli.main; print(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(  # noqa: S603 - this interpreter, a fixed probe
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    loaded = set(json.loads(result.stdout))
    assert "cli.main" in loaded
    assert {"moto", "emulator.server", "emulator.lambda_runtime", "cli.local.exercises"} & loaded == set()


def test_reviews_are_pure(graph):
    reviews = {name: path for name, path in cli_modules().items() if in_package(name, "cli.reviews")}
    assert reviews
    for name, path in reviews.items():
        assert not libraries_of(path) & set(UI_AND_AWS), name
    found = violations(
        graph,
        lambda module: in_package(module, "cli.reviews"),
        lambda module: (
            in_package(module, "lambdas.dal", "emulator")
            or (in_package(module, "cli") and not in_package(module, "cli.reviews"))
        ),
    )
    assert found == []


def test_readers_go_through_the_dal_adapters(graph):
    readers = {name: path for name, path in cli_modules().items() if in_package(name, "cli.readers")}
    assert readers
    for name, path in readers.items():
        assert not libraries_of(path) & {"boto3", "botocore"}, name
        assert "platform_client" not in path.read_text(encoding="utf-8"), name
    assert violations(graph, lambda m: in_package(m, "cli.readers"), lambda m: m == "lambdas.dal.aws") == []


def test_command_modules_do_not_import_each_other(graph):
    found = violations(
        graph,
        lambda module: in_package(module, "cli.commands"),
        lambda module: in_package(module, "cli.commands") and module != "cli.commands",
    )
    assert found == []


def test_documents_show_nothing_themselves(graph):
    documents = {name: path for name, path in cli_modules().items() if in_package(name, "cli.documents")}
    for name, path in documents.items():
        assert not libraries_of(path) & {"typer", "rich", "click"}, name
    found = violations(
        graph,
        lambda module: in_package(module, "cli.documents"),
        lambda module: in_package(module, "cli.commands", "cli.render", "cli.local"),
    )
    assert found == []


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
    raw = {name: lines for name, path in cli_modules().items() if (lines := dynamodb_clients(path))}
    assert raw == {}
