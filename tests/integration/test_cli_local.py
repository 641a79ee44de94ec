"""`local up | status | down | bootstrap`: a real background emulator, and commands that find it."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess

import boto3
import pytest
from typer.testing import CliRunner

import cli.commands.local
import cli.context
from cli.main import app
from infrastructure.config import for_environment
from lambdas.dal.clients_table import ClientsTable

runner = CliRunner()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def local_dir(tmp_path, monkeypatch):
    """An empty state directory, and a process that has no endpoint of its own."""
    monkeypatch.setenv("COST_REPORTING_LOCAL_DIR", str(tmp_path))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(name, os.environ[name])  # restored after `use_local_aws` rewrites them
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    yield tmp_path
    state = cli.context.read_local_state()
    if state:  # a failed test must not leave a server behind
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(state["pid"]), signal.SIGTERM)


def test_up_status_commands_down(local_dir):
    port = free_port()
    before = runner.invoke(app, ["client", "list", "--environment", "local"])
    assert before.exit_code == 2 and "local up" in before.output

    up = runner.invoke(app, ["local", "up", "--port", str(port), "--as-of", "2026-11-27"])
    assert up.exit_code == 0, up.output
    state = json.loads((local_dir / "local-aws.json").read_text())
    assert state["endpoint_url"] == f"http://127.0.0.1:{port}" and state["as_of"] == "2026-11-27"
    hint = next(line for line in up.output.splitlines() if line.startswith("AWS CLI against it:"))
    words = hint.removeprefix("AWS CLI against it:").split()
    variables = dict(word.split("=", 1) for word in words if "=" in word)
    assert variables == {  # the region too: without ~/.aws the AWS CLI refuses to run
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    # The endpoint on the command line: AWS CLI v1 ignores AWS_ENDPOINT_URL for SQS.
    assert words[words.index("--endpoint-url") + 1] == state["endpoint_url"]
    if shutil.which("aws"):
        command = [word for word in words if "=" not in word]
        queues = subprocess.run(  # noqa: S603 - the printed line, against the loopback emulator
            [*command[: command.index("dynamodb")], "sqs", "list-queues"],
            env={**os.environ, **variables, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"},  # a wrong one is ignored
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert queues.returncode == 0, queues.stderr
        assert "cost-reporting-jobs-local" in queues.stdout

    status = runner.invoke(app, ["local", "status"])
    assert status.exit_code == 0 and "answering" in status.output
    listed = runner.invoke(app, ["client", "list", "--environment", "local", "--format", "json"])
    assert listed.exit_code == 0, listed.output
    assert [c["client_id"] for c in json.loads(listed.stdout)["clients"]] == [
        "acme-retail", "globex-health", "hooli", "initech-labs", "umbrella-media",
    ]  # fmt: skip
    assert os.environ["AWS_ENDPOINT_URL"] == state["endpoint_url"]
    # hooli is read from its Data Export: `local up` had its payer deliver it (through hooli's role).
    manifests = boto3.client("s3").list_objects_v2(
        Bucket="hooli-billing-exports", Prefix="exports/hooli-focus/metadata/"
    )
    assert [key["Key"].split("/")[3] for key in manifests["Contents"]] == [
        "BILLING_PERIOD=2026-09", "BILLING_PERIOD=2026-10", "BILLING_PERIOD=2026-11",
    ]  # fmt: skip
    again = runner.invoke(app, ["local", "up", "--port", str(port)])
    assert again.exit_code == 0 and "Already running" in again.output
    bigger = runner.invoke(app, ["local", "up", "--extra-clients", "1000"])
    assert bigger.exit_code == 2, bigger.output  # never silently the 5 clients it runs with
    assert "--extra-clients: the local environment is already running" in bigger.output
    assert "--extra-clients 1000 (running with 0)" in bigger.output and "local down" in bigger.output
    assert json.loads((local_dir / "local-aws.json").read_text()) == state

    down = runner.invoke(app, ["local", "down"])
    assert down.exit_code == 0, down.output
    assert not (local_dir / "local-aws.json").exists()
    assert not cli.commands.local.ours(int(state["pid"]))
    assert runner.invoke(app, ["local", "status"]).exit_code == 1


def test_up_refuses_a_port_in_use(local_dir):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = runner.invoke(app, ["local", "up", "--port", str(busy.getsockname()[1])])
    assert result.exit_code == 2 and "already in use" in result.output
    assert not (local_dir / "local-aws.json").exists()


def test_bootstrap_provisions_at_the_endpoint_and_only_there(platform, embedded_aws, monkeypatch):
    result = runner.invoke(app, ["local", "bootstrap", "--environment", "dev", "--demo-clients"])

    assert result.exit_code == 0, result.output
    dev = ClientsTable(for_environment("dev").clients_table)
    assert sorted(r["client_id"] for r in dev.records()) == sorted(
        c["client_id"] for c in json.loads(json.dumps(embedded_aws.dataset.clients))
    )
    monkeypatch.delenv("AWS_ENDPOINT_URL")
    refused = runner.invoke(app, ["local", "bootstrap", "--environment", "staging"])
    assert refused.exit_code == 2 and "AWS_ENDPOINT_URL is not set" in refused.output
