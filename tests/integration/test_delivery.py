"""Who gets a report: suppressed recipients are left out, chat webhooks follow the email."""

from __future__ import annotations

import email
import json
import threading
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest

from lambdas.dal.archive import ReportArchive
from lambdas.dal.aws import platform_client
from lambdas.dal.clients_table import ClientsTable
from lambdas.dal.executions_table import ExecutionsTable
from lambdas.dal.suppressions import SuppressionsTable
from lambdas.models.client import parse_client
from lambdas.models.events import ReportJob
from lambdas.models.ses_events import Suppression
from tests.integration.conftest import AS_OF
from tests.integration.helpers import invoke_worker, sent_messages


def suppress(settings, client_id: str, address: str) -> None:
    SuppressionsTable(settings.suppressions_table).add(
        Suppression(client_id=client_id, email=address, reason="bounce", recorded_at=datetime(2026, 11, 20, tzinfo=UTC))
    )


def test_a_suppressed_recipient_gets_no_further_mail(platform, embedded_aws, demo_records):
    record = demo_records[0]
    assert len(record["recipients"]) >= 2
    client = parse_client(record)
    ClientsTable(platform.clients_table).put(client)
    bounced, kept = client.recipients[0], client.recipients[1:]
    suppress(platform, client.client_id, bounced.upper())  # matched without regard to case

    job = ReportJob.scheduled(client.client_id, client.schedule, AS_OF)
    assert invoke_worker(job) == {"batchItemFailures": []}

    [message] = sent_messages(embedded_aws.endpoint_url)
    assert bounced not in message["raw"]
    assert set(email.message_from_string(message["raw"])["To"].split(", ")) == set(kept)
    execution = ExecutionsTable(platform.executions_table).get(client.client_id, job.run_id)
    assert execution is not None
    assert (execution.delivery, execution.recipients, execution.suppressed) == ("sent", len(kept), 1)


def test_when_every_recipient_is_suppressed_the_report_is_archived_and_nothing_is_sent(
    platform, embedded_aws, demo_records
):
    client = parse_client(demo_records[1])
    ClientsTable(platform.clients_table).put(client)
    for address in client.recipients:
        suppress(platform, client.client_id, address)

    job = ReportJob.scheduled(client.client_id, client.schedule, AS_OF)
    assert invoke_worker(job) == {"batchItemFailures": []}

    assert sent_messages(embedded_aws.endpoint_url) == []
    prefix = f"reports/{client.client_id}/{job.run_id}/"
    assert prefix + "report.html" in ReportArchive(platform.assets_bucket).list(prefix)
    execution = ExecutionsTable(platform.executions_table).get(client.client_id, job.run_id)
    assert execution is not None
    assert (execution.status, execution.delivery, execution.suppressed) == ("succeeded", "suppressed", 2)


class _Hook(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        self.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Hook.received.clear()
    yield f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/secret-token"
    server.shutdown()
    server.server_close()


def test_the_slack_summary_follows_the_email_once_and_its_url_is_recorded_nowhere(
    platform, embedded_aws, demo_records, hook_url
):
    secret = "cost-reporting-local/clients/acme-retail/slack"
    platform_client("secretsmanager").create_secret(
        Name=secret, SecretString=hook_url, Tags=[{"Key": "client_id", "Value": "acme-retail"}]
    )
    client = parse_client(dict(demo_records[0], webhooks=[{"kind": "slack", "secret_name": secret}]))
    ClientsTable(platform.clients_table).put(client)
    job = ReportJob.scheduled(client.client_id, client.schedule, AS_OF)

    for _ in range(3):  # redelivered: neither the email nor the Slack message repeats
        assert invoke_worker(job) == {"batchItemFailures": []}

    assert len(sent_messages(embedded_aws.endpoint_url)) == 1
    assert len(_Hook.received) == 1
    assert client.name in json.dumps(_Hook.received[0])
    execution = ExecutionsTable(platform.executions_table).get(client.client_id, job.run_id)
    assert execution is not None
    assert [(c["kind"], c["ok"]) for c in execution.channels] == [("slack", True)]
    assert "secret-token" not in execution.model_dump_json()
