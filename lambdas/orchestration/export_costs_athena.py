"""The read of a Data Export on Athena, for an export past the in-process threshold
(docs/data-exports.md): the same questions as lambdas/orchestration/export_costs.py asks DuckDB, of the export's
Glue table, giving the same CostData."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lambdas.logic import export_schema, exports_sql
from lambdas.logic.cost_data import cost_data_from_cells
from lambdas.logic.daily import anomaly_days
from lambdas.logic.export_schema import billing_period
from lambdas.logic.needs import Cell, CellKey, Need, attribution_need, needs_for
from lambdas.logic.periods import ReportWindow
from lambdas.models.client import Client
from lambdas.models.exceptions import ExportDataError
from lambdas.orchestration.export_costs import ExportRead, PeriodState, covered, export_of


def read_export_costs_on_athena(
    client: Client,
    window: ReportWindow,
    *,
    athena: Any,
    table: str,
    now: datetime,
    partition_column: str = "billing_period",
) -> ExportRead:
    """The same read on Athena, for an export past the in-process threshold: `table` is the
    export's Glue table (partitioned by billing period), `athena` a lambdas.dal.athena.Athena.
    Athena sees the partitions Glue knows (not the manifests): a period without rows is missing."""
    export = export_of(client)
    fmt = export.format
    accounts = list(client.account_ids)
    needs = needs_for(client, window)
    periods = exports_sql.partitions_for(needs)
    states = {period: PeriodState(period, reason="no rows in the export's table") for period in periods}
    foreign = athena.query(exports_sql.athena_foreign_accounts_sql(fmt, table, periods, accounts, partition_column))
    if foreign.rows:
        listed = ", ".join(str(row[0]) for row in foreign.rows)
        raise ExportDataError(f"the export holds account {listed}, not in the client's account_ids")
    coverage = athena.query(exports_sql.athena_coverage_sql(fmt, table, periods, partition_column))
    for period, last_day, line_items, uninvoiced, currencies, currency in coverage.rows:
        if int(currencies or 0) > 1:
            raise ExportDataError(f"BILLING_PERIOD={period}: more than one billing currency")
        state = states[str(period)] = PeriodState(str(period), read=True, currency=currency)
        state.line_items = int(line_items or 0)
        state.last_day = exports_sql.as_date(last_day) if last_day is not None else None
        state.final = state.line_items > 0 and int(uninvoiced or 0) == 0

    def cells_for(wanted: list[Need]) -> dict[CellKey, Cell]:
        readable = [need for need in wanted if exports_sql.readable(need.dataset)]
        found: dict[CellKey, Cell] = {}
        for query in exports_sql.cell_queries(
            fmt,
            readable,
            metric=client.metric,
            accounts=accounts,
            relation=table,
            partition_column=partition_column,
            dialect="athena",
        ):
            covering = covered(states, set(query.starts), query.granularity, now.date())
            if covering:
                rows = athena.query(query.sql).rows
                found.update(
                    exports_sql.cells_from_rows(query, rows, accounts=accounts, covered=covering, fetched_at=now)
                )
        return found

    cells = cells_for(needs)
    days = anomaly_days(window, cost_data_from_cells(needs, cells, accounts, {}))
    if days:
        need = attribution_need(days)
        if all(billing_period(day) in states for day in need.periods()):
            needs = [*needs, need]
            cells.update(cells_for([need]))
    names: dict[str, str] = {}
    if any(state.read for state in states.values()):
        read_periods = ", ".join(export_schema.literal(p) for p, state in sorted(states.items()) if state.read)
        names_sql = exports_sql.account_names_sql(fmt, table, within=f"{partition_column} IN ({read_periods})")
        names = {str(a): str(n) for a, n in athena.query(names_sql).rows if str(a) in accounts}
    data = cost_data_from_cells(needs, cells, accounts, names)
    currencies = sorted({state.currency for state in states.values() if state.currency})
    if len(currencies) > 1:
        raise ExportDataError(f"the export bills in more than one currency over the report's periods: {currencies}")
    data.unit = currencies[0] if currencies else None
    read = ExportRead(data=data, periods=states, queries=len(athena.queries))
    unreadable = sorted(
        {
            f"{need.dataset.group_type} {need.dataset.group_key}"
            for need in needs
            if not exports_sql.readable(need.dataset)
        }
    )
    read.notes = [
        f"Data Export BILLING_PERIOD={state.period}: {state.reason}; its days are missing from this report."
        for state in states.values()
        if not state.read
    ] + [f"A breakdown by {what} is not read from Data Exports: it is missing from this report." for what in unreadable]
    # The report says what it left out: the resources and commitments are read in process only.
    read.notes.append(
        "Read on Athena (the export is past one function's size): top resources and commitments are left out."
    )
    return read
