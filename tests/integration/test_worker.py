"""One worker run through the Lambda handler, on the embedded AWS."""

from __future__ import annotations

import email
import json

from lambdas.dal.archive import ReportArchive
from lambdas.dal.clients_table import ClientsTable
from lambdas.dal.executions_table import ExecutionsTable
from lambdas.models.client import parse_client
from lambdas.models.events import ReportJob
from tests.integration.conftest import AS_OF
from tests.integration.helpers import invoke_worker, sent_messages


def register(settings, record):
    client = parse_client(record)
    ClientsTable(settings.clients_table).put(client)
    return client


def test_one_run_sends_an_email_archives_the_report_and_records_the_execution(platform, embedded_aws, demo_records):
    client = register(platform, demo_records[0])
    job = ReportJob.scheduled(client.client_id, client.schedule, AS_OF)

    response = invoke_worker(job)

    assert response == {"batchItemFailures": []}
    messages = sent_messages(embedded_aws.endpoint_url)
    assert len(messages) == 1
    message = email.message_from_string(messages[0]["raw"])
    types = {part.get_content_type() for part in message.walk()}
    assert {"text/plain", "text/html", "text/csv"} <= types
    assert client.name in message["Subject"]

    prefix = f"reports/{client.client_id}/{job.run_id}/"
    keys = ReportArchive(platform.assets_bucket).list(prefix)
    names = ("report.csv", "report.html", "report.json", "report.txt", "report.xlsx")  # acme asks for the workbook
    assert sorted(keys) == [prefix + name for name in names]
    report = json.loads(ReportArchive(platform.assets_bucket).get(prefix + "report.json"))
    for key in (
        "client_id",
        "period",
        "currency",
        "total",
        "previous_total",
        "forecast",
        "by_service",
        "by_account",
        "daily",
        "estimated",
        "ce_requests",
    ):
        assert key in report
    assert isinstance(report["total"], str)
    # daily: the newest settled day (at 09:00 UTC on the 27th, yesterday is still filling in)
    assert report["period"] == {"start": "2026-11-25", "end": "2026-11-25"}
    assert report["month_to_date"] is not None
    assert {a["account_id"] for a in report["by_account"]} == set(client.account_ids)
    assert report["ce_requests"] >= 1

    record = ExecutionsTable(platform.executions_table).get(client.client_id, job.run_id)
    assert record is not None
    assert record.status == "succeeded"
    assert record.delivery == "sent"
    assert record.message_id == messages[0]["id"]
    assert record.ce_requests == report["ce_requests"]
    assert str(record.total) == report["total"]


def test_the_same_message_delivered_five_times_sends_one_email(platform, embedded_aws, demo_records):
    client = register(platform, demo_records[1])
    job = ReportJob.scheduled(client.client_id, client.schedule, AS_OF)

    for _ in range(5):
        assert invoke_worker(job) == {"batchItemFailures": []}

    assert len(sent_messages(embedded_aws.endpoint_url)) == 1
    record = ExecutionsTable(platform.executions_table).get(client.client_id, job.run_id)
    assert record is not None and record.status == "succeeded"
    assert record.attempts == 1  # later deliveries were answered from the idempotency record


def test_an_invalid_client_record_fails_the_run_and_sends_nothing(platform, embedded_aws, demo_records):
    record = dict(demo_records[0], recipients=["not-an-email"])
    table = ClientsTable(platform.clients_table)
    from lambdas.dal.dynamo import to_item

    table.client.put_item(TableName=platform.clients_table, Item=to_item(record))
    job = ReportJob.scheduled(record["client_id"], record["schedule"], AS_OF)

    assert invoke_worker(job) == {"batchItemFailures": []}  # permanent: retrying cannot help

    assert sent_messages(embedded_aws.endpoint_url) == []
    execution = ExecutionsTable(platform.executions_table).get(record["client_id"], job.run_id)
    assert execution is not None
    assert execution.status == "failed"
    assert execution.error_kind == "invalid_input"
    assert execution.error is not None and execution.error.startswith("recipients.0:")


def test_an_unknown_client_fails_without_retry(platform, embedded_aws):
    job = ReportJob.scheduled("nobody", "daily", AS_OF)
    assert invoke_worker(job) == {"batchItemFailures": []}
    assert sent_messages(embedded_aws.endpoint_url) == []


def test_clients_sharing_a_schedule_and_day_each_get_their_report(platform, embedded_aws, demo_records):
    daily = [r for r in demo_records if r["schedule"] == "daily"][:2]
    jobs = [ReportJob.scheduled(register(platform, r).client_id, "daily", AS_OF) for r in daily]
    assert jobs[0].run_id == jobs[1].run_id  # same run id, different clients

    assert invoke_worker(*jobs) == {"batchItemFailures": []}

    recipients = {tuple(sorted(set(m["destinations"]))) for m in sent_messages(embedded_aws.endpoint_url)}
    assert len(recipients) == 2
