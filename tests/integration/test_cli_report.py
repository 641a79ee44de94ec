"""`report run` drives the worker's pipeline for one client, against the environment's AWS."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from cli.main import app
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
