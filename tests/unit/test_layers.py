"""The layers of the runtime and the stack, as docs/architecture.md draws them, checked on the
import graph read from the source (tests/unit/import_graph.py): module-level and function-level
imports alike, so a lazy import cannot cross a layer unseen.

    lambdas/handlers      -> orchestration, models, observability, clock
    lambdas/orchestration -> dal, logic, models, observability, clock
    lambdas/dal           -> logic, models, observability (never orchestration)
    lambdas/logic         -> logic, models only (pure: no AWS, no logging)
    lambdas/models        -> models only
    infrastructure        -> lambdas' pure modules only (logic, models): the synth never loads an adapter
    lambdas               -> nothing of cli, emulator, infrastructure, bench (the runtime ships alone)

The CLI's own rules are in tests/unit/test_cli_layers.py."""

from __future__ import annotations

import pytest

from tests.unit.import_graph import cycles, import_graph, in_package, violations

RUNTIME_OUTSIDE = ("cli", "emulator", "infrastructure", "bench")


@pytest.fixture(scope="module")
def graph():
    return import_graph()


def test_the_walker_sees_module_level_lazy_and_type_only_imports(graph):
    edges = {(edge.importer, edge.imported): edge for edge in graph}

    assert not edges["lambdas.handlers.worker", "lambdas.orchestration.report_jobs"].lazy
    assert not edges["lambdas.orchestration.report_jobs", "lambdas.orchestration.run"].lazy
    assert edges["lambdas.logic.outputs", "lambdas.logic.render.html"].lazy  # the renderer, on first use
    assert edges["lambdas.orchestration.run", "lambdas.orchestration.dependencies"].type_only
    # `from package import submodule` is an import of the submodule.
    assert ("lambdas.logic.render.xlsx", "lambdas.logic.render.csv") in edges


@pytest.mark.parametrize("package", ["lambdas", "infrastructure", "emulator"])
def test_no_import_cycle(graph, package):
    # Type-only imports included: a cycle through TYPE_CHECKING still ties the modules together.
    assert cycles(graph, lambda module: in_package(module, package)) == []


def test_logic_is_pure_it_imports_only_logic_and_models(graph):
    assert (
        violations(
            graph,
            lambda module: in_package(module, "lambdas.logic"),
            lambda module: not in_package(module, "lambdas.logic", "lambdas.models"),
        )
        == []
    )


def test_models_import_only_models(graph):
    assert (
        violations(
            graph,
            lambda module: in_package(module, "lambdas.models"),
            lambda module: not in_package(module, "lambdas.models"),
        )
        == []
    )


def test_adapters_never_import_the_orchestration_or_the_handlers(graph):
    assert (
        violations(
            graph,
            lambda module: in_package(module, "lambdas.dal"),
            lambda module: in_package(module, "lambdas.orchestration", "lambdas.handlers"),
        )
        == []
    )


def test_handlers_import_orchestration_models_observability_and_the_clock_only(graph):
    allowed = ("lambdas.orchestration", "lambdas.models", "lambdas.observability", "lambdas.clock")
    assert (
        violations(
            graph,
            lambda module: in_package(module, "lambdas.handlers"),
            lambda module: not in_package(module, *allowed),
        )
        == []
    )


def test_only_handlers_import_handlers(graph):
    assert (
        violations(
            graph,
            lambda module: in_package(module, "lambdas") and not in_package(module, "lambdas.handlers"),
            lambda module: in_package(module, "lambdas.handlers"),
        )
        == []
    )


def test_the_runtime_imports_nothing_outside_lambdas(graph):
    assert (
        violations(
            graph,
            lambda module: in_package(module, "lambdas"),
            lambda module: in_package(module, *RUNTIME_OUTSIDE),
        )
        == []
    )


def test_the_stack_imports_only_pure_runtime_modules(graph):
    assert (
        violations(
            graph,
            lambda module: in_package(module, "infrastructure"),
            lambda module: in_package(module, "lambdas") and not in_package(module, "lambdas.logic", "lambdas.models"),
        )
        == []
    )
