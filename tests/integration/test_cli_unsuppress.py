"""`client unsuppress` on seeded days of the local environment: clearing a bounced address lets it
receive reports again, but the bounce stays in the operations report's delivery KPI, and the
clearing is in the audit trail with who made it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from cli.main import app
from emulator.history import seed_history
from infrastructure.config import for_environment
from lambdas.dal.clients_table import ClientsTable
from lambdas.dal.suppressions import SuppressionsTable
from lambdas.models.client import parse_client
from tests.integration.conftest import AS_OF

runner = CliRunner()
CONFIG = for_environment("local")
DAYS = [AS_OF - timedelta(days=offset) for offset in range(4, 0, -1)]  # 23 to 26 November 2026, a bounce on the 23rd
CLEARED_AT = datetime(2026, 11, 26, 12, tzinfo=UTC)


@pytest.fixture
def bounced(platform, demo_records, frozen_clock):
    """Four seeded days with one SES bounce; returns the suppression it left."""
    clients = ClientsTable(platform.clients_table)
    for record in demo_records:
        clients.put(parse_client(record))
    seed_history(CONFIG, platform, DAYS, incidents=True)
    [suppression] = SuppressionsTable(platform.suppressions_table).every_client(cleared=False)
    frozen_clock(CLEARED_AT)
    return suppression


def weekly(tmp_path: Path, name: str) -> dict[str, Any]:
    output = tmp_path / f"{name}.json"
    result = runner.invoke(
        app, ["ops", "report", "--period", "weekly", "--as-of", "2026-11-27", "--output", str(output)]
    )
    assert result.exit_code in (0, 1), result.output  # 1: a target missed
    return json.loads(output.read_text())


def delivery(document: dict[str, Any]) -> dict[str, Any]:
    return next(kpi for kpi in document["kpis"] if kpi["name"] == "email delivery rate")


def health_of(client_id: str) -> dict[str, Any]:
    result = runner.invoke(app, ["ops", "client-health", "--as-of", "2026-11-27", "--format", "json"])
    document = json.loads(result.stdout)
    return next(entry for entry in document["clients"] if entry["client_id"] == client_id)


def test_unsuppressing_keeps_the_bounce_in_the_delivery_kpi(bounced, tmp_path):
    before = weekly(tmp_path, "before")
    assert before["email"]["bounced_recipients"] == 1
    assert health_of(bounced.client_id)["suppressed_recipients"] != []

    result = runner.invoke(app, ["client", "unsuppress", "--client-id", bounced.client_id, "--email", bounced.email])

    assert result.exit_code == 0, result.output
    after = weekly(tmp_path, "after")
    assert after["email"] == before["email"]  # the bounce happened, whatever an operator did later
    assert delivery(after) == delivery(before)
    assert delivery(after)["detail"].startswith(f"{before['email']['recipients'] - 1} of ")
    # ... while the address is no longer suppressed: not listed, no health warning
    listed = runner.invoke(app, ["client", "suppressions", "--client-id", bounced.client_id, "--format", "json"])
    assert json.loads(listed.stdout)["suppressed"] == []
    assert health_of(bounced.client_id)["suppressed_recipients"] == []
    stored = boto3.client("dynamodb").get_item(
        TableName=CONFIG.suppressions_table,
        Key={"client_id": {"S": bounced.client_id}, "email": {"S": bounced.email}},
    )["Item"]
    identity = boto3.client("sts").get_caller_identity()["Arn"]
    assert (stored["cleared_at"]["S"], stored["cleared_by"]["S"]) == (CLEARED_AT.isoformat(), identity)


def test_unsuppressing_is_in_the_audit_trail_with_who_did_it_and_without_the_address(bounced):
    unknown = ["client", "unsuppress", "--client-id", bounced.client_id, "--email", "someone-else@acme.example"]
    assert runner.invoke(app, unknown).exit_code == 2  # bad input: nothing changed, nothing recorded
    cleared = ["client", "unsuppress", "--client-id", bounced.client_id, "--email", bounced.email.upper()]
    assert runner.invoke(app, cleared).exit_code == 0

    result = runner.invoke(
        app, ["ops", "audit-report", "--period", "weekly", "--as-of", "2026-11-27", "--format", "json"]
    )

    assert result.exit_code == 1, result.output  # the seeded days' refused credential
    changes = json.loads(result.stdout)["changes"]
    [event] = [e for e in changes if e["action"] == "client.unsuppress"]  # the clearing, not the refused attempt
    assert (event["at"][:19], event["client_id"], event["fields"]) == (
        "2026-11-26T12:00:00",
        bounced.client_id,
        ["suppression"],
    )
    assert event["actor"] == boto3.client("sts").get_caller_identity()["Arn"] and event["operator"]
    assert event["detail"] == f"bounce recorded {bounced.recorded_at:%Y-%m-%d %H:%M} UTC (run {bounced.run_id})"
    assert bounced.email not in result.stdout  # a recipient is not an audit fact (cli/workflows/audit_trail.py)
    table = runner.invoke(app, ["ops", "audit-report", "--period", "weekly", "--as-of", "2026-11-27"])
    assert "client.unsuppress" in table.stdout
