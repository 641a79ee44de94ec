"""`report run` drives the worker's pipeline for one client, against the environment's AWS."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cli.main import app
from emulator.admin import admin
from lambdas.dal.clients_table import ClientsTable
from lambdas.dal.executions_table import ExecutionsTable
from lambdas.models.client import parse_client
from tests.integration.helpers import sent_messages

runner = CliRunner()


def test_dry_run_writes_the_files_and_sends_nothing(platform, embedded_aws, demo_records, tmp_path):
    client = parse_client(demo_records[0])
    ClientsTable(platform.clients_table).put(client)

    result = runner.invoke(
        app,
        [
            "report",
            "run",
            "--client-id",
            client.client_id,
            "--as-of",
            "2026-11-27",
            "--dry-run",
            "--output",
            str(tmp_path),
        ],
    )

    assert result.exit_code == 0, result.output
    folder = tmp_path / client.client_id
    assert {p.name for p in folder.iterdir()} == {
        "report.html",
        "report.txt",
        "report.csv",
        "report.json",
        "report.xlsx",  # the demo's acme-retail asks for the workbook
        "message.eml",
    }
    report = json.loads((folder / "report.json").read_text())
    assert report["client_id"] == client.client_id
    assert sent_messages(embedded_aws.endpoint_url) == []
    assert ExecutionsTable(platform.executions_table).history(client.client_id) == []


def test_a_real_run_sends_and_records(platform, embedded_aws, demo_records):
    client = parse_client(demo_records[0])
    ClientsTable(platform.clients_table).put(client)

    result = runner.invoke(app, ["report", "run", "--client-id", client.client_id, "--as-of", "2026-11-27"])

    assert result.exit_code == 0, result.output
    assert len(sent_messages(embedded_aws.endpoint_url)) == 1
    [record] = ExecutionsTable(platform.executions_table).history(client.client_id)
    assert record.kind == "manual" and record.status == "succeeded"


def test_bad_input_is_one_line_and_exit_code_2(platform):
    unknown = runner.invoke(app, ["report", "run", "--client-id", "nobody"])
    assert unknown.exit_code == 2
    assert "client_id: no client 'nobody'" in unknown.output
    bad_date = runner.invoke(app, ["report", "run", "--client-id", "x1", "--as-of", "27/11/2026"])
    assert bad_date.exit_code == 2
    assert "--as-of" in bad_date.output


def test_run_all_runs_every_active_client_and_skips_paused_ones(platform, embedded_aws, demo_records):
    table = ClientsTable(platform.clients_table)
    for record in demo_records:
        table.put(parse_client(record))
    table.put(parse_client(dict(demo_records[3], status="paused")))
    admin(embedded_aws.endpoint_url, "exports/deliver", {})  # hooli is read from its Data Export
    from aws_lambda_powertools.metrics import MetricUnit

    from lambdas.observability import metrics

    for _ in range(99):  # Powertools prints its EMF buffer to stdout at 100 values: never into our JSON
        metrics.add_metric(name="ReportsSent", unit=MetricUnit.Count, value=1)

    result = runner.invoke(app, ["report", "run", "--all", "--as-of", "2026-11-27", "--format", "json"])

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert [run["client_id"] for run in document["runs"]] == ["acme-retail", "globex-health", "hooli", "initech-labs"]
    assert {run["status"] for run in document["runs"]} == {"succeeded"} and document["failed"] == 0
    assert [run["ce_requests"] for run in document["runs"] if run["client_id"] == "hooli"] == [0]
    assert len(sent_messages(embedded_aws.endpoint_url)) == 4


def test_run_all_reports_failures_with_exit_1(platform, demo_records):
    table = ClientsTable(platform.clients_table)
    table.put(parse_client(demo_records[0]))
    broken = dict(
        demo_records[1],
        credentials={"type": "stored_keys", "secret_name": "cost-reporting-local/clients/globex-health"},
    )
    table.put(parse_client(broken))

    result = runner.invoke(app, ["report", "run", "--all", "--as-of", "2026-11-27", "--format", "json"])

    assert result.exit_code == 1
    runs = {run["client_id"]: run for run in json.loads(result.stdout)["runs"]}
    assert runs["acme-retail"]["status"] == "succeeded"
    assert runs["globex-health"]["error_kind"] == "unauthorized"
    # Under the table (a thousand rows long in the drill): the summary, then what fell short.
    *_, summary, last = result.stderr.strip().splitlines()
    requests = runs["acme-retail"]["ce_requests"]
    assert summary == f"2 run(s): 1 succeeded, 1 failed; 1 report(s) sent; {requests} Cost Explorer request(s)"
    assert last == "findings: 1 run(s) failed: globex-health"


def test_history_lists_the_recorded_runs_newest_first(platform, demo_records, tmp_path):
    client = parse_client(demo_records[0])
    ClientsTable(platform.clients_table).put(client)
    for day in ("2026-11-25", "2026-11-26"):
        assert runner.invoke(app, ["report", "run", "--client-id", client.client_id, "--as-of", day]).exit_code == 0
    output = tmp_path / "history.json"

    result = runner.invoke(app, ["report", "history", "--client-id", client.client_id, "--output", str(output)])

    assert result.exit_code == 0, result.output
    runs = json.loads(output.read_text())["runs"]
    assert [run["as_of"] for run in runs] == ["2026-11-26", "2026-11-25"]
    assert all(run["status"] == "succeeded" and run["kind"] == "manual" for run in runs)


def test_run_needs_exactly_one_of_client_id_and_all(platform):
    for arguments in ([], ["--client-id", "acme-retail", "--all"]):
        result = runner.invoke(app, ["report", "run", *arguments])
        assert result.exit_code == 2
        assert "--client-id: give one client, or --all" in result.output
    history = runner.invoke(app, ["report", "history", "--client-id", "nobody"])
    assert history.exit_code == 2 and "no client 'nobody'" in history.output
