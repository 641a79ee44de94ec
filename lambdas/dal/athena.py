"""Athena: the same report SQL where one function cannot hold the export (docs/data-exports.md).

start the query (a workgroup, the export's Glue database, results to the platform's bucket) ->
wait with exponential backoff (capped; a deadline in total seconds waited, not the wall clock) ->
read the result pages (`NextToken`; the first row of the first page is the header) -> rows typed
from the result's column metadata (decimal -> Decimal, date -> date, bigint -> int). A failed query
is a permanent ExportDataError with Athena's reason; a cancelled or still-running one, or
throttling, is transient (the run is retried).

Athena charges USD 5 per TB scanned, 10 MB at least a query: `scanned_bytes` adds up what a run paid for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.dal.aws import error_code
from lambdas.models.exceptions import DependencyError, ExportAccessError, ExportDataError

PRICE_PER_TB_USD = Decimal(5)
MIN_BYTES_BILLED = 10 * 1024**2
_DENIED = {"AccessDeniedException", "AccessDenied", "UnauthorizedOperation"}
_RUNNING = {"QUEUED", "RUNNING"}


def athena_cost_usd(scanned_bytes: int) -> Decimal:
    """What Athena charges for one query that scanned this many bytes."""
    billed = max(scanned_bytes, MIN_BYTES_BILLED)
    return (PRICE_PER_TB_USD * billed / Decimal(1024**4)).quantize(Decimal("0.000001"))


@dataclass
class QueryResult:
    columns: list[str]
    rows: list[tuple[Any, ...]]
    scanned_bytes: int = 0
    waited_seconds: float = 0.0
    polls: int = 0


@dataclass
class Athena:
    """One workgroup's queries. `sleep` is injectable (tests record the backoff)."""

    client: Any
    workgroup: str
    database: str
    output_location: str | None = None
    first_delay: float = 0.25
    max_delay: float = 8.0
    max_wait: float = 600.0
    sleep: Callable[[float], None] = time.sleep
    scanned_bytes: int = 0
    queries: list[str] = field(default_factory=list)

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, operation)(**kwargs)
        except ClientError as error:
            code = error_code(error)
            if code in _DENIED:
                raise ExportAccessError(f"Athena refused {operation} ({code})") from None
            if code in {"ThrottlingException", "TooManyRequestsException"}:
                raise DependencyError(f"Athena throttled {operation} ({code})") from None
            if code == "InvalidRequestException":
                message = error.response["Error"].get("Message", code)
                raise ExportDataError(f"Athena rejected the query ({message})") from None
            raise DependencyError(f"Athena {operation} failed ({code})") from None
        except BotoCoreError as error:
            raise DependencyError(f"Athena unreachable ({type(error).__name__})") from None

    def start(self, sql: str) -> str:
        kwargs: dict[str, Any] = {
            "QueryString": sql,
            "WorkGroup": self.workgroup,
            "QueryExecutionContext": {"Database": self.database},
        }
        if self.output_location:
            kwargs["ResultConfiguration"] = {"OutputLocation": self.output_location}
        self.queries.append(sql)
        return str(self._call("start_query_execution", **kwargs)["QueryExecutionId"])

    def wait(self, execution_id: str, result: QueryResult) -> None:
        """Poll until the query ends: 0.25 s, 0.5 s, 1 s, ... up to `max_delay` between polls."""
        delay = self.first_delay
        while True:
            execution = self._call("get_query_execution", QueryExecutionId=execution_id)["QueryExecution"]
            result.polls += 1
            status = execution.get("Status") or {}
            state = status.get("State")
            if state == "SUCCEEDED":
                result.scanned_bytes = int((execution.get("Statistics") or {}).get("DataScannedInBytes") or 0)
                self.scanned_bytes += result.scanned_bytes
                return
            if state == "FAILED":
                reason = status.get("StateChangeReason") or "no reason given"
                raise ExportDataError(f"Athena query {execution_id} failed: {reason}")
            if state not in _RUNNING:
                raise DependencyError(f"Athena query {execution_id} ended {state}")
            if result.waited_seconds + delay > self.max_wait:
                self._call("stop_query_execution", QueryExecutionId=execution_id)
                raise DependencyError(f"Athena query {execution_id} still {state} after {result.waited_seconds:.0f} s")
            self.sleep(delay)
            result.waited_seconds += delay
            delay = min(delay * 2, self.max_delay)

    def results(self, execution_id: str, result: QueryResult) -> None:
        """Every page of the answer, typed by the result's column metadata."""
        token: str | None = None
        first = True
        while True:
            kwargs: dict[str, Any] = {"QueryExecutionId": execution_id, "MaxResults": 1000}
            if token:
                kwargs["NextToken"] = token
            page = self._call("get_query_results", **kwargs)
            result_set = page.get("ResultSet") or {}
            info = (result_set.get("ResultSetMetadata") or {}).get("ColumnInfo") or []
            if first:
                result.columns = [str(column.get("Name", "")) for column in info]
            rows = result_set.get("Rows") or []
            if first and rows and _is_header(rows[0], result.columns):
                rows = rows[1:]
            first = False
            types = [str(column.get("Type", "varchar")).lower() for column in info]
            for row in rows:
                values = [cell.get("VarCharValue") for cell in row.get("Data") or []]
                result.rows.append(tuple(_typed(value, kind) for value, kind in zip(values, types, strict=False)))
            token = page.get("NextToken")
            if not token:
                return

    def query(self, sql: str) -> QueryResult:
        """Run `sql` and return its typed rows."""
        result = QueryResult(columns=[], rows=[])
        execution_id = self.start(sql)
        self.wait(execution_id, result)
        self.results(execution_id, result)
        return result


def _is_header(row: dict[str, Any], columns: list[str]) -> bool:
    values = [cell.get("VarCharValue") for cell in row.get("Data") or []]
    return bool(columns) and values == columns


def _typed(value: str | None, kind: str) -> Any:
    if value is None:
        return None
    try:
        if kind.startswith("decimal") or kind in ("double", "float", "real"):
            return Decimal(value)
        if kind in ("bigint", "integer", "int", "smallint", "tinyint"):
            return int(value)
        if kind == "date":
            return date.fromisoformat(value)
        if kind == "boolean":
            return value.lower() == "true"
    except (ValueError, ArithmeticError):
        raise ExportDataError(f"Athena answered {value!r} for a {kind} column") from None
    return value
