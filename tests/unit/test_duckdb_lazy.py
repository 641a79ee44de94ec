"""DuckDB stays out of every import of the Data Exports path until a query runs."""

from __future__ import annotations

from tests.unit.test_lazy_imports import imported_by


def test_the_data_exports_reader_imports_duckdb_only_when_it_reads():
    modules = imported_by(
        "lambdas.orchestration.export_costs", LAMBDA_TASK_ROOT="/var/task", POWERTOOLS_TRACE_DISABLED="true"
    )

    assert "lambdas.dal.duckdb_engine" in modules
    assert "duckdb" not in modules
