"""Step 3 of a run for a client whose `cost_source` is `data_exports`: its Data Export read into the
same `CostRead` the Cost Explorer path gives (docs/data-exports.md), so the rest of the run does not
know which source filled it.

in process with DuckDB (lambdas/orchestration/export_costs.py) -> past the in-process threshold, the
same questions on Athena when the environment has a workgroup, else the run fails saying so. The
month close asks the export whether last month is invoiced (`export_is_final`), not Cost Explorer.

The readers are imported when a read starts: DuckDB stays out of every other run's imports.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from lambdas.logic.periods import ReportWindow
from lambdas.models.client import Client
from lambdas.models.exceptions import ExportTooLargeError
from lambdas.observability import logger
from lambdas.orchestration.cost_reader import CostRead

if TYPE_CHECKING:
    from lambdas.orchestration.export_costs import ExportRead
    from lambdas.orchestration.ports import ExportQueries

NO_CE_FORECAST = (
    "Cost Explorer's forecast is not asked for a client read from its Data Export: forecast from the daily trend."
)


def export_location(client: Client) -> str:
    """Where the client's export is read from (audit lines, errors): never a secret."""
    export = client.data_export
    return f"s3://{export.bucket}/{export.root}" if export is not None else ""


def athena_table(client_id: str, export_name: str) -> str:
    """The Glue table of a client's export in the environment's Athena database, quoted for the SQL:
    `<client_id>_<export name>` in lower case, with `_` for anything else than a letter or digit
    (Glue's table naming). The client's id is part of it: two payers' exports of the same name are
    two tables, and no client's run reads another's."""
    name = re.sub(r"[^a-z0-9_]", "_", f"{client_id}_{export_name}".lower())
    return f'"{name}"'


def duckdb_memory_limit() -> str | None:
    """Three quarters of the function's memory (Lambda's AWS_LAMBDA_FUNCTION_MEMORY_SIZE): past it
    DuckDB spills to the scratch directory in /tmp instead of the function running out of memory.
    None outside Lambda (DuckDB's own default, 80% of the machine)."""
    size = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "")
    return f"{int(size) * 3 // 4}MB" if size.isdigit() else None


@dataclass
class ExportReader:
    """Reads one client's export: `s3` is a boto3 S3 client that can read it (the client's role or,
    for a replicated export, the platform's); `athena` builds the Athena adapter, None where the
    environment has no workgroup."""

    s3: Any
    now: datetime
    athena: Callable[[], ExportQueries] | None = None

    def month_closed(self, client: Client, month: date) -> bool | None:
        """Whether the export says the billing period of `month` is invoiced; None when it is too
        large to tell in process (the read on Athena then tells, from its own coverage)."""
        from lambdas.orchestration.export_costs import export_is_final

        try:
            return export_is_final(client, month, s3=self.s3)
        except ExportTooLargeError as error:
            if self.athena is None:
                raise _no_athena(error) from None
            return None

    def read(self, client: Client, window: ReportWindow) -> tuple[CostRead, ExportRead]:
        from lambdas.orchestration.export_costs import read_export_costs

        try:
            found = read_export_costs(client, window, s3=self.s3, now=self.now, memory_limit=duckdb_memory_limit())
        except ExportTooLargeError as error:
            found = self._on_athena(client, window, error)
        read = CostRead(data=found.data, notes=list(found.notes))
        if client.forecast_source == "cost_explorer":
            read.notes.append(NO_CE_FORECAST)
        read.cost_source = "data_exports"
        read.export_format = client.data_export.format if client.data_export else None
        read.top_resources = list(found.top_resources)
        read.commitments = list(found.commitments)
        read.bytes_read = found.bytes_read
        read.s3_requests = found.s3_requests
        return read, found

    def _on_athena(self, client: Client, window: ReportWindow, error: ExportTooLargeError) -> ExportRead:
        if self.athena is None or client.data_export is None:
            raise _no_athena(error) from None
        from lambdas.orchestration.export_costs_athena import read_export_costs_on_athena

        athena = self.athena()
        table = athena_table(client.client_id, client.data_export.export_name)
        logger.info("data export past the in-process threshold: read on Athena", extra={"table": table})
        return read_export_costs_on_athena(client, window, athena=athena, table=table, now=self.now)


def _no_athena(error: ExportTooLargeError) -> ExportTooLargeError:
    return ExportTooLargeError(f"{error}; this environment has no Athena workgroup (ATHENA_WORKGROUP)")


def closed_on_athena(found: ExportRead, month: date) -> bool:
    """The month close's answer from a read's own coverage (the Athena path's period states)."""
    from lambdas.logic.export_schema import billing_period
    from lambdas.logic.periods import month_last_day

    state = found.periods.get(billing_period(month))
    return bool(
        state is not None
        and state.read
        and state.final
        and state.last_day is not None
        and state.last_day <= month_last_day(month)
    )
