"""The Athena adapter: start, wait with exponential backoff, read every typed page. Against moto's
Athena on the embedded AWS (its answers set through /moto-api/static/athena/query-results) and
against answers in the shape Athena's API documents (pages, states, failures)."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import duckdb
import pytest

from emulator.admin import reset
from emulator.dataset import demo_clients, generate_demo_dataset
from emulator.exports import FOCUS_1_2_COLUMNS, FolderS3, write_export, write_parquet
from lambdas.dal.athena import Athena, athena_cost_usd
from lambdas.dal.duckdb_engine import DuckDBEngine
from lambdas.logic import export_schema
from lambdas.logic.exports_sql import CellQuery, cell_sql, cells_from_rows
from lambdas.logic.needs import SERVICES
from lambdas.logic.periods import window_for
from lambdas.models.client import parse_client
from lambdas.models.exceptions import DependencyError, ExportAccessError, ExportDataError
from lambdas.orchestration.export_costs import read_export_costs
from lambdas.orchestration.export_costs_athena import read_export_costs_on_athena

ACCOUNTS = ["111111111111", "111111111112"]
NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)
COLUMNS = [("period_start", "date"), ("group_key", "varchar"), ("account_id", "varchar"), ("amount", "decimal")]


def _info(columns):
    return [
        {"Name": name, "Label": name, "Type": kind, "Nullable": "UNKNOWN", "CaseSensitive": True}
        for name, kind in columns
    ]


def _row(values):
    return {"Data": [{} if value is None else {"VarCharValue": str(value)} for value in values]}


class Recorded:
    """An Athena client answering from a script of documented response shapes."""

    def __init__(self, states: list[dict[str, Any]], pages: list[dict[str, Any]]) -> None:
        self.states = list(states)
        self.pages = list(pages)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def start_query_execution(self, **kwargs):
        self.calls.append(("start_query_execution", kwargs))
        return {"QueryExecutionId": "q-1"}

    def get_query_execution(self, **kwargs):
        self.calls.append(("get_query_execution", kwargs))
        return {"QueryExecution": self.states.pop(0) if len(self.states) > 1 else self.states[0]}

    def get_query_results(self, **kwargs):
        self.calls.append(("get_query_results", kwargs))
        return self.pages.pop(0)

    def stop_query_execution(self, **kwargs):
        self.calls.append(("stop_query_execution", kwargs))
        return {}


def _state(state, **extra):
    return {
        "QueryExecutionId": "q-1",
        "Status": {"State": state, **extra},
        "Statistics": {"DataScannedInBytes": 52_428_800},
    }


def test_it_waits_with_exponential_backoff_and_reads_every_typed_page():
    pages = [
        {
            "ResultSet": {
                "Rows": [
                    _row([c for c, _ in COLUMNS]),
                    _row(["2026-11-25", "AWS Lambda", ACCOUNTS[0], "12.3456789012"]),
                ],
                "ResultSetMetadata": {"ColumnInfo": _info(COLUMNS)},
            },
            "NextToken": "page-2",
        },
        {
            "ResultSet": {
                "Rows": [_row(["2026-11-25", None, ACCOUNTS[1], "-3.5000000000"])],
                "ResultSetMetadata": {"ColumnInfo": _info(COLUMNS)},
            }
        },
    ]
    client = Recorded(
        [_state("QUEUED"), _state("RUNNING"), _state("RUNNING"), _state("RUNNING"), _state("SUCCEEDED")], pages
    )
    slept: list[float] = []
    athena = Athena(client, workgroup="cost-reporting", database="exports", sleep=slept.append)

    result = athena.query("SELECT 1")

    assert slept == [0.25, 0.5, 1.0, 2.0]
    assert result.polls == 5 and result.waited_seconds == 3.75
    assert result.rows == [
        (date(2026, 11, 25), "AWS Lambda", ACCOUNTS[0], Decimal("12.3456789012")),
        (date(2026, 11, 25), None, ACCOUNTS[1], Decimal("-3.5000000000")),
    ]
    assert [call[1].get("NextToken") for call in client.calls if call[0] == "get_query_results"] == [None, "page-2"]
    start = client.calls[0][1]
    assert start["WorkGroup"] == "cost-reporting" and start["QueryExecutionContext"] == {"Database": "exports"}
    assert result.scanned_bytes == athena.scanned_bytes == 52_428_800
    assert athena_cost_usd(result.scanned_bytes) == Decimal("0.000238")
    assert athena_cost_usd(1) == Decimal("0.000048")  # 10 MB at least


def test_the_backoff_is_capped_and_a_query_past_the_deadline_is_stopped_and_retried_later():
    client = Recorded([_state("RUNNING")], [])
    slept: list[float] = []
    athena = Athena(client, workgroup="wg", database="db", sleep=slept.append, max_delay=2.0, max_wait=10.0)

    with pytest.raises(DependencyError, match="still RUNNING"):
        athena.query("SELECT 1")

    assert slept == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0, 2.0]  # 9.75 s waited; one more would pass 10
    assert client.calls[-1][0] == "stop_query_execution"


def test_a_failed_query_is_a_permanent_error_with_athenas_reason():
    reason = "COLUMN_NOT_FOUND: line 1:8: Column 'billedcost' cannot be resolved"
    client = Recorded([_state("FAILED", StateChangeReason=reason)], [])

    with pytest.raises(ExportDataError, match="COLUMN_NOT_FOUND"):
        Athena(client, workgroup="wg", database="db", sleep=lambda _: None).query("SELECT billedcost")


def test_a_refused_query_is_an_access_finding():
    from botocore.exceptions import ClientError

    class Denied(Recorded):
        def start_query_execution(self, **kwargs):
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "StartQueryExecution")

    with pytest.raises(ExportAccessError):
        Athena(Denied([], []), workgroup="wg", database="db").query("SELECT 1")


# -- moto's Athena on the embedded AWS: the same SQL, the same cells as DuckDB ---------------------------


@pytest.fixture
def athena_client(embedded_aws):
    reset(embedded_aws.endpoint_url)
    return boto3.client(
        "athena",
        endpoint_url=embedded_aws.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _set_results(endpoint_url: str, results: list[dict[str, Any]]) -> None:
    request = urllib.request.Request(  # noqa: S310 - the loopback emulator
        f"{endpoint_url}/moto-api/static/athena/query-results",
        data=json.dumps({"results": results}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - the loopback emulator
        assert response.status == 201


def test_athena_answers_the_same_cells_as_duckdb_for_the_same_query(athena_client, embedded_aws, tmp_path: Path):
    dataset = generate_demo_dataset(date(2026, 11, 27))
    first = date(2026, 11, 18)
    starts = tuple(first + timedelta(days=offset) for offset in range(7))
    rows = []
    for record in dataset.records_between(first, first + timedelta(days=7), ACCOUNTS):
        rows.append(
            {
                "ChargePeriodStart": f"{record.day} 00:00:00",
                "SubAccountId": record.account_id,
                "ServiceName": record.service,
                "ChargeCategory": "Usage" if record.record_type == "Usage" else record.record_type,
                "BilledCost": format(record.unblended, "f"),
                "EffectiveCost": format(record.amortized, "f"),
            }
        )
    path = tmp_path / "focus.parquet"
    write_parquet(rows, FOCUS_1_2_COLUMNS, path)
    duck_sql = cell_sql(export_schema.FOCUS_1_2, SERVICES, "DAILY", starts, metric="UnblendedCost", accounts=ACCOUNTS)
    with DuckDBEngine() as engine:
        duck_rows = engine.query(duck_sql, [path])
    athena_sql = cell_sql(
        export_schema.FOCUS_1_2,
        SERVICES,
        "DAILY",
        starts,
        metric="UnblendedCost",
        accounts=ACCOUNTS,
        relation='"exports"."acme_focus"',
        partition_column="billing_period",
        dialect="athena",
    )
    # moto runs no SQL: it answers what Athena would for this query (DuckDB's rows, as Athena's strings).
    _set_results(
        embedded_aws.endpoint_url,
        [{"rows": [_row([c for c, _ in COLUMNS])] + [_row(r) for r in duck_rows], "column_info": _info(COLUMNS)}],
    )
    athena = Athena(athena_client, workgroup="primary", database="exports", sleep=lambda _: None)

    result = athena.query(athena_sql)

    covered = dict.fromkeys(starts, False)
    query = CellQuery("DAILY", SERVICES, starts, athena_sql)
    from_athena = cells_from_rows(query, result.rows, accounts=ACCOUNTS, covered=covered, fetched_at=NOW)
    from_duckdb = cells_from_rows(query, duck_rows, accounts=ACCOUNTS, covered=covered, fetched_at=NOW)
    assert from_athena == from_duckdb
    assert sum(len(cell.groups) for cell in from_athena.values()) == len(duck_rows) > 0
    execution = athena_client.get_query_execution(
        QueryExecutionId=athena_client.list_query_executions()["QueryExecutionIds"][0]
    )
    assert execution["QueryExecution"]["Query"] == athena_sql
    assert (
        athena_sql.replace('"exports"."acme_focus"', "export").split(" AND billing_period")[0]
        == duck_sql.split(" GROUP BY")[0]
    )


# -- the whole read on Athena: the same CostData as in process ---------------------------------------


class DuckDBAthena:
    """An Athena client that runs each query on DuckDB over the export's files (the partition
    folders give the `billing_period` column, as the Glue table's partitions do) and answers in
    Athena's shapes: every value a string, a header row, column types."""

    def __init__(self, files: str) -> None:
        self.types = {
            "DATE": "date",
            "VARCHAR": "varchar",
            "BIGINT": "bigint",
            "INTEGER": "integer",
            "DOUBLE": "double",
        }
        self.con = duckdb.connect()
        self.con.execute("CREATE SCHEMA exports")
        source = f"read_parquet('{files}', hive_partitioning = true)"
        self.con.execute(f"CREATE VIEW exports.acme AS SELECT * FROM {source}")  # noqa: S608 - the test's own folder
        self.answers: dict[str, tuple[list[tuple[str, str]], list[tuple[Any, ...]]]] = {}

    def start_query_execution(self, *, QueryString: str, **_: Any) -> dict[str, Any]:
        cursor = self.con.execute(QueryString)
        rows = cursor.fetchall()
        columns = [(d[0], self.types.get(str(d[1]), str(d[1]).lower())) for d in cursor.description]
        execution_id = f"q-{len(self.answers)}"
        self.answers[execution_id] = (columns, rows)
        return {"QueryExecutionId": execution_id}

    def get_query_execution(self, *, QueryExecutionId: str) -> dict[str, Any]:
        return {"QueryExecution": {"Status": {"State": "SUCCEEDED"}, "Statistics": {"DataScannedInBytes": 4096}}}

    def get_query_results(self, *, QueryExecutionId: str, **_: Any) -> dict[str, Any]:
        columns, rows = self.answers[QueryExecutionId]
        header = _row([name for name, _ in columns])
        return {
            "ResultSet": {
                "Rows": [header] + [_row([None if v is None else str(v) for v in row]) for row in rows],
                "ResultSetMetadata": {"ColumnInfo": _info(columns)},
            }
        }


def test_the_read_on_athena_gives_the_same_data_as_in_process(tmp_path: Path):
    dataset = generate_demo_dataset(date(2026, 11, 27))
    record = next(c for c in demo_clients(dataset) if c["client_id"] == "acme-retail")
    record = {**record, "cost_source": "data_exports"}
    record["data_export"] = {
        "bucket": "exports-bucket",
        "prefix": "exports",
        "export_name": "acme",
        "format": "focus_1_2",
    }
    client = parse_client(record)
    window = window_for(client.schedule, date(2026, 11, 27))
    s3 = FolderS3(tmp_path)
    write_export(
        s3, dataset, bucket="exports-bucket", prefix="exports", export_name="acme", accounts=client.account_ids,
        payer="111111111110", start=date(2026, 10, 1), end_exclusive=date(2026, 11, 27), now=NOW,
    )  # fmt: skip
    in_process = read_export_costs(client, window, s3=s3, now=NOW)
    athena = Athena(DuckDBAthena(f"{tmp_path}/exports/acme/data/*/*.parquet"), workgroup="wg", database="exports")

    on_athena = read_export_costs_on_athena(client, window, athena=athena, table="exports.acme", now=NOW)

    assert on_athena.data == in_process.data
    assert on_athena.data.rows
    # No period or breakdown missing; the one note says what only the read in process gives.
    assert on_athena.notes == [
        "Read on Athena (the export is past one function's size): top resources and commitments are left out."
    ]
    assert all("billing_period IN (" in sql for sql in athena.queries)  # every query prunes partitions
    assert {p: s.final for p, s in on_athena.periods.items()} == {"2026-10": True, "2026-11": False}
