"""Practising the runbook on `local`: what a new operator meets after `local seed-history`.

A seeded environment passes the daily check except for the incidents it seeds on purpose, and
the embedded AWS answers SES the way AWS would: each report counted on its own day, the seeded
bounce in the statistics, the sender identity verified for sending in both SES APIs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import pytest
from typer.testing import CliRunner

from cli.main import app
from emulator.admin import admin
from lambdas.dal.clients_table import ClientsTable
from lambdas.dal.executions_table import ExecutionsTable
from lambdas.models.client import parse_client

runner = CliRunner()
NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)  # the suite's pinned clock: today's 06:00 run is due


@pytest.fixture
def seeded(platform, embedded_aws, demo_records, frozen_clock):
    table = ClientsTable(platform.clients_table)
    for record in demo_records:
        table.put(parse_client(dict(record, created_at=NOW.isoformat())))
    # hooli is read from its Data Export: its payer has it delivered, as `local up` does.
    [hooli] = admin(embedded_aws.endpoint_url, "exports/deliver", {})["exports"]
    assert (hooli["bucket"], hooli["periods"]) == ("hooli-billing-exports", ["2026-09", "2026-10", "2026-11"])
    frozen_clock(NOW)
    result = runner.invoke(app, ["local", "seed-history", "--days", "8"])
    assert result.exit_code == 0, result.output
    return platform


def _sent_recipients(platform, day: str) -> int:
    runs = [r for c in ("acme-retail", "globex-health", "initech-labs", "umbrella-media", "hooli")
            for r in ExecutionsTable(platform.executions_table).history(c, limit=50)]  # fmt: skip
    return sum(r.recipients for r in runs if r.delivery == "sent" and r.as_of.isoformat() == day)


def test_a_seeded_environment_passes_the_daily_check_but_for_its_incidents(seeded):
    result = runner.invoke(app, ["system", "health-check", "--format", "json"])

    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    not_ok = {name: check["status"] for name, check in checks.items() if check["status"] != "OK"}
    assert not_ok == {"suppressed recipients": "WARNING"}, result.stdout  # the seeded bounce, on purpose
    assert result.exit_code == 1
    assert checks["SES sending"]["detail"] == "enabled, enforcement HEALTHY"
    today, yesterday = _sent_recipients(seeded, "2026-11-27"), _sent_recipients(seeded, "2026-11-26")
    assert today > 0 and yesterday > 0  # only the last 24 hours count against the quota
    assert checks["SES quota"]["detail"].startswith(f"{today} of 50000 in 24 h")
    # The bounce the suppression comes from is in SES's statistics too.
    sent = sum(_sent_recipients(seeded, f"2026-11-{day}") for day in range(20, 28))
    assert checks["SES reputation"]["detail"].startswith(f"{sent} sent in 14 days: 1 bounced")
    points = boto3.client("ses").get_send_statistics()["SendDataPoints"]
    assert (sum(p["Bounces"] for p in points), sum(p["DeliveryAttempts"] for p in points)) == (1, sent)
    assert len({p["Timestamp"].date() for p in points}) == 8  # each day's reports on their own day


def test_the_sender_identity_is_verified_in_both_ses_apis(platform):
    v1 = boto3.client("ses").get_identity_verification_attributes(Identities=["example.com"])
    v2 = boto3.client("sesv2").get_email_identity(EmailIdentity="example.com")

    assert v1["VerificationAttributes"]["example.com"]["VerificationStatus"] == "Success"
    assert v2["VerifiedForSendingStatus"] is True
    result = runner.invoke(app, ["deploy", "validate", "--format", "json"])
    check = next(c for c in json.loads(result.stdout)["checks"] if c["name"].startswith("SES identity"))
    assert check == {"name": "SES identity example.com", "status": "OK", "detail": "example.com verified for sending"}


def test_every_exit_1_ends_with_the_line_naming_what_fell_short(seeded, tmp_path):
    """Whatever the command, an operator never meets a bare exit 1."""
    expected = {  # command: what its last line names
        ("system", "health-check"): "1 check(s) not OK: suppressed recipients (WARNING)",
        ("ops", "report", "--period", "weekly"): "KPI(s) missed their target: success rate",
        ("ops", "client-health", "--days", "7"): "client(s) need attention: acme-retail",
        ("ops", "security-audit", "--weekly"): "finding(s) above INFO: 1 HIGH",
        ("ops", "audit-report", "--period", "weekly"): "UNAUTHORIZED log line(s), 1 refused run(s)",
        ("ops", "monthly-report", "--month", "2026-11", "--output", str(tmp_path / "m.pdf")): "success rate",
    }
    for command, line in expected.items():
        result = runner.invoke(app, list(command))
        assert result.exit_code == 1, (command, result.output)
        last = result.output.strip().splitlines()[-1]
        assert last.startswith("findings: ") and line in last, (command, result.output[-400:])
