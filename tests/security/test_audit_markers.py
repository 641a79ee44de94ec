"""Audit markers: every authorisation refusal logs `UNAUTHORIZED`, every read of a client's cost
data logs `ACCESS`, each as one structured JSON line with the client id and the requester, so the
runbook's filters (`aws logs filter-log-events --filter-pattern "UNAUTHORIZED"`, `"ACCESS"`) find
them in the worker's log group."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from lambdas.dal.aws import platform_client
from lambdas.models.events import ReportJob
from tests.integration.conftest import AS_OF
from tests.integration.runs import register
from tests.reliability.observe import emf_metrics, record
from tests.reliability.test_redelivery import deliver
from tests.security.conftest import json_lines

runner = CliRunner()


def found_by_filter(lines: list[dict[str, Any]], marker: str) -> list[dict[str, Any]]:
    """What CloudWatch's filter pattern `marker` (a term) matches: lines whose text contains it."""
    return [line for line in lines if marker in json.dumps(line)]


def assert_audit_line(line: dict[str, Any], marker: str, client_id: str, requester: str) -> None:
    assert line["message"].startswith(f"{marker} ")
    assert (line["audit"], line["client_id"], line["requester"]) == (marker, client_id, requester)
    assert line["level"] == ("WARNING" if marker == "UNAUTHORIZED" else "INFO")


REFUSALS = [
    # (what refused, service, operation, code, HTTP status, recorded error kind)
    ("the client's role", "sts", "AssumeRole", "AccessDenied", 403, "unauthorized"),
    ("Cost Explorer, to the client's credentials", "cost-explorer", "GetCostAndUsage", "AccessDeniedException", 400,
     "unauthorized"),
    ("S3, to the platform's role", "s3", "PutObject", "AccessDenied", 403, "access_denied"),
    ("KMS behind S3", "s3", "PutObject", "KMS.AccessDeniedException", 403, "access_denied"),
    ("SES, to the platform's role", "sesv2", "SendEmail", "AccessDeniedException", 403, "access_denied"),
    ("DynamoDB, to the platform's role", "dynamodb", "Query", "AccessDeniedException", 400, "access_denied"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("what", "service", "operation", "code", "status", "kind"), REFUSALS, ids=[r[0] for r in REFUSALS]
)
def test_every_refusal_in_the_worker_logs_one_unauthorized_line_and_counts_it(
    client, job, faults, logs, capsys, quick_backoff, what, service, operation, code, status, kind
):
    faults.fail(service, operation, code, status=status)

    deliver(job)

    [line] = found_by_filter(logs.lines(), "UNAUTHORIZED")
    assert_audit_line(line, "UNAUTHORIZED", client.client_id, "worker")
    assert code in line["message"]
    assert emf_metrics(capsys.readouterr().out)["Unauthorized"] == 1
    execution = record(client.client_id, job.run_id)
    assert execution is not None and execution.error_kind == kind


def test_a_missing_stored_secret_is_an_unauthorized_refusal(stored_key_client, logs):
    client, _ = stored_key_client
    platform_client("secretsmanager").delete_secret(
        SecretId=client.credentials.secret_name, ForceDeleteWithoutRecovery=True
    )

    deliver(ReportJob.scheduled(client.client_id, client.schedule, AS_OF))

    [line] = found_by_filter(logs.lines(), "UNAUTHORIZED")
    assert_audit_line(line, "UNAUTHORIZED", client.client_id, "worker")


def test_every_read_of_cost_data_by_the_worker_logs_one_access_line(platform, demo_records, logs):
    clients = [register(record) for record in demo_records]

    deliver(*[ReportJob.scheduled(c.client_id, c.schedule, AS_OF) for c in clients])

    lines = found_by_filter(logs.lines(), "ACCESS")
    assert sorted(line["client_id"] for line in lines) == sorted(c.client_id for c in clients)
    for line in lines:
        assert_audit_line(line, "ACCESS", line["client_id"], "worker")
        [client] = [c for c in clients if c.client_id == line["client_id"]]
        assert line["accounts"] == list(client.account_ids)
    assert found_by_filter(logs.lines(), "UNAUTHORIZED") == []


def test_a_redelivered_run_reads_nothing_and_logs_no_access(client, job, logs):
    deliver(job)
    deliver(job)  # answered from the stored outcome: no cost data read
    assert len(found_by_filter(logs.lines(), "ACCESS")) == 1


def test_operator_commands_log_access_and_unauthorized_with_the_cli_as_requester(client, frozen_clock, faults):
    run = runner.invoke(app, ["report", "run", "--client-id", client.client_id, "--as-of", "2026-11-27", "--verbose"])
    [access] = found_by_filter(json_lines(run.output), "ACCESS")
    assert_audit_line(access, "ACCESS", client.client_id, "cli")

    validated = runner.invoke(app, ["credentials", "validate", "--client-id", client.client_id, "--verbose"])
    [access] = found_by_filter(json_lines(validated.output), "ACCESS")
    assert_audit_line(access, "ACCESS", client.client_id, "cli")

    faults.fail("sts", "AssumeRole", "AccessDenied", status=403)
    refused = runner.invoke(app, ["credentials", "validate", "--client-id", client.client_id])  # without --verbose too
    assert refused.exit_code == 1
    [line] = found_by_filter(json_lines(refused.output), "UNAUTHORIZED")
    assert_audit_line(line, "UNAUTHORIZED", client.client_id, "cli")
    checked = runner.invoke(app, ["system", "health-check", "--comprehensive", "--format", "json"])
    [line] = found_by_filter(json_lines(checked.output), "UNAUTHORIZED")
    assert_audit_line(line, "UNAUTHORIZED", client.client_id, "cli")
