"""`optimize lambda-memory` and `optimize dynamodb-queries` on six seeded days of the local
environment: figures checked against the run records, the REPORT lines and the requests made."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import boto3
import pytest
from typer.testing import CliRunner

import cli.context
from cli.main import app
from emulator.history import seed_history
from infrastructure.config import for_environment
from lambdas.dal.dynamo import from_item
from lambdas.models.execution import ExecutionRecord
from tests.integration.conftest import AS_OF, module_platform

runner = CliRunner()
CONFIG = for_environment("local")
NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)


@pytest.fixture(scope="module")
def seeded(embedded_aws):
    from lambdas import clock

    # A module's fixture starts before each test pins the clock: pinned here for the seeding too.
    with clock.pinned(NOW), module_platform(embedded_aws, NOW) as (settings, patch):
        seed_history(CONFIG, settings, [AS_OF - timedelta(days=d) for d in range(6, 0, -1)])
        patch.setattr(cli.context, "clock", lambda: NOW)
        items = boto3.client("dynamodb").scan(TableName=settings.executions_table)["Items"]
        yield [ExecutionRecord.model_validate(from_item(item)) for item in items]


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_worker_memory_from_its_recorded_runs(seeded, tmp_path):
    output = tmp_path / "memory.json"

    result = invoke(
        "optimize", "lambda-memory", "--function-name", "cost-reporting-lambda", "--analyze-period", "30",
        "--output", str(output),
    )  # fmt: skip

    assert result.exit_code in (0, 1), result.output
    document = json.loads(output.read_text())
    assert document["function"] == CONFIG.worker_function  # the runbook's production name, this environment's function
    assert document["source"] == f"{len(seeded)} recorded run(s) of the worker"
    assert document["measured"]["peak_memory_mb"] == max(r.max_memory_mb for r in seeded)
    sizes = {c["memory_mb"]: c for c in document["candidates"]}
    assert sizes[1024]["current"] and document["configured"]["memory_mb"] == 1024
    best = sizes[document["recommended_mb"]]
    assert best["verdict"] == "fits" and Decimal(best["peak_use"]) <= Decimal("0.5")
    assert all(
        Decimal(c["cost_usd"]) >= Decimal(best["cost_usd"]) for c in document["candidates"] if c["verdict"] == "fits"
    )
    table = invoke("optimize", "lambda-memory", "--function-name", "cost-reporting-lambda").stdout
    assert "recommended" in table  # which size depends on pytest's own peak memory, the runs' measure


def test_dispatcher_memory_from_the_report_lines_lambda_writes(seeded):
    result = invoke("optimize", "lambda-memory", "--function-name", "cost-reporting-dispatcher", "--format", "json")

    document = json.loads(result.stdout)
    lines = boto3.client("logs").filter_log_events(
        logGroupName=f"/aws/lambda/{CONFIG.dispatcher_function}", filterPattern="REPORT"
    )["events"]
    assert document["source"] == f"REPORT lines of /aws/lambda/{CONFIG.dispatcher_function}"
    assert document["measured"]["runs"] == len(lines) > 0


def test_an_unknown_function_is_bad_input(seeded):
    result = invoke("optimize", "lambda-memory", "--function-name", "nope")
    assert result.exit_code == 2 and "--function-name: 'nope' is not a function of the platform" in result.output


def test_the_client_table_is_read_by_key_and_index_and_needs_no_change(seeded, tmp_path):
    output = tmp_path / "queries.json"

    result = invoke("optimize", "dynamodb-queries", "--table-name", "cost-reporting-clients", "--output", str(output))

    assert result.exit_code == 0, result.output
    (table,) = json.loads(output.read_text())["tables"]
    assert table["description"]["table"] == CONFIG.clients_table
    patterns = {(p["function"], p["operation"]) for p in table["access_patterns"]}
    assert {("ClientsTable.due", "Query"), ("ClientsTable.get_record", "GetItem")} <= patterns
    measured = table["measured"]
    assert measured["available"], measured
    assert measured["requests"]["Query"] > 0 and measured["requests"]["GetItem"] > 0
    assert sum(Decimal(share) for share in measured["read_share"].values()) == pytest.approx(1, abs=0.001)
    spread = table["keys"]["by_partition_key"]
    assert spread["client_id"]["keys"] == 5
    assert sorted(spread["due_schedule"]["top"][:2], key=lambda entry: entry["key"]) == [
        {"key": "daily", "items": 2, "share": "0.4000"},
        {"key": "weekly", "items": 2, "share": "0.4000"},  # initech-labs and hooli: as many as daily
    ]
    assert table["changes"] == []


def test_the_reviews_filtered_scan_of_the_history_is_the_change_to_make(seeded):
    result = invoke("optimize", "dynamodb-queries", "--table-name", "cost-reporting-executions", "--format", "json")

    assert result.exit_code == 1
    (table,) = json.loads(result.stdout)["tables"]
    assert [c["what"] for c in table["changes"]] == ["ExecutionsTable.started_between: an index on started_at"]
    assert "lambdas/dal/executions_table.py" in table["changes"][0]["detail"]
    assert result.stderr.strip().splitlines()[-1] == (
        "findings: 1 change(s) to make: ExecutionsTable.started_between: an index on started_at"
    )


def test_dynamodb_metrics_count_the_requests_served(platform):
    dynamodb = boto3.client("dynamodb")
    for _ in range(3):
        dynamodb.get_item(TableName=CONFIG.clients_table, Key={"client_id": {"S": "nobody"}})
    dynamodb.query(
        TableName=CONFIG.clients_table,
        IndexName="by-schedule",
        KeyConditionExpression="due_schedule = :s",
        ExpressionAttributeValues={":s": {"S": "daily"}},
    )

    def count(operation: str, metric: str = "SuccessfulRequestLatency", statistic: str = "SampleCount") -> float:
        points = boto3.client("cloudwatch").get_metric_statistics(
            Namespace="AWS/DynamoDB",
            MetricName=metric,
            Dimensions=[
                {"Name": "TableName", "Value": CONFIG.clients_table},
                {"Name": "Operation", "Value": operation},
            ],
            StartTime=NOW - timedelta(hours=1),
            EndTime=NOW + timedelta(hours=1),
            Period=7200,
            Statistics=[statistic],
        )["Datapoints"]
        return sum(p[statistic] for p in points)

    assert count("GetItem") == 3 and count("Query") == 1
    assert count("Query", "ReturnedItemCount", "Sum") == 0


def test_an_unknown_table_is_bad_input(seeded):
    result = invoke("optimize", "dynamodb-queries", "--table-name", "nope")
    assert result.exit_code == 2 and "--table-name: 'nope' is not a table of the platform" in result.output
