"""Retries and redelivery: SQS delivers at least once, Lambda can stop a worker anywhere. Whatever
happens, each run sends one email and keeps one execution record."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from emulator.admin import admin
from emulator.lambda_runtime import LocalContext
from lambdas import clock
from lambdas.dal.aws import platform_client
from lambdas.dal.executions_table import ExecutionsTable
from lambdas.dal.mailer import Mailer
from lambdas.models.events import ReportJob
from lambdas.models.settings import get_settings
from tests.integration.conftest import AS_OF
from tests.integration.helpers import sent_messages, sqs_record
from tests.integration.runs import register
from tests.reliability.observe import archive_of, archived, emf_metrics, mail_to, record


class Killed(BaseException):
    """Lambda stopping the sandbox: no `except Exception` runs, nothing is cleaned up."""


def deliver(*jobs: ReportJob, timeout_seconds: int = 300) -> tuple[dict[str, Any], dict[str, ReportJob]]:
    """One invocation of the worker handler with these jobs, as the SQS event source sends them;
    returns the answer and the jobs by message id."""
    from lambdas.handlers import worker

    records = [sqs_record(job) for job in jobs]
    context = LocalContext("cost-reporting-lambda-local", timeout_seconds=timeout_seconds)
    answer = worker.handler({"Records": records}, context)
    return answer, {r["messageId"]: job for r, job in zip(records, jobs, strict=True)}


def failed_jobs(answer: dict[str, Any], by_message: dict[str, ReportJob]) -> list[ReportJob]:
    return [by_message[item["itemIdentifier"]] for item in answer["batchItemFailures"]]


def the_dead_invocation_times_out() -> None:
    """What the passing of time does to a sandbox Lambda stopped: its idempotency record stops being
    "in progress" and its delivery lease ends (both were set to the invocation's deadline)."""
    dynamodb = platform_client("dynamodb")
    settings = get_settings()
    # Powertools times its "in progress" records by the system clock; the delivery lease by ours.
    past = int(time.time()) - 1
    lease_past = int(clock.now().timestamp()) - 1
    for item in dynamodb.scan(TableName=settings.idempotency_table)["Items"]:
        dynamodb.update_item(
            TableName=settings.idempotency_table,
            Key={"id": item["id"]},
            UpdateExpression="SET in_progress_expiration = :past",
            ExpressionAttributeValues={":past": {"N": str(past * 1000)}},
        )
    for item in dynamodb.scan(TableName=settings.executions_table)["Items"]:
        if "delivery_lease_until" in item:
            dynamodb.update_item(
                TableName=settings.executions_table,
                Key={"client_id": item["client_id"], "run_id": item["run_id"]},
                UpdateExpression="SET delivery_lease_until = :past",
                ExpressionAttributeValues={":past": {"N": str(lease_past)}},
            )


def test_the_same_job_delivered_five_times_in_sequence_sends_one_email_and_keeps_one_record(
    embedded_aws, client, job, logs, capsys
):
    for _ in range(5):
        answer, _ = deliver(job)
        assert answer == {"batchItemFailures": []}

    [message] = sent_messages(embedded_aws.endpoint_url)
    execution = record(client.client_id, job.run_id)
    assert execution is not None
    assert (execution.status, execution.delivery, execution.attempts) == ("succeeded", "sent", 1)
    assert execution.message_id == message["id"]
    assert ExecutionsTable(get_settings().executions_table).history(client.client_id) == [execution]
    assert archived(client.client_id) == archive_of(client, job.run_id)
    assert emf_metrics(capsys.readouterr().out)["ReportsSent"] == 1


def test_the_same_job_delivered_five_times_at_once_sends_one_email_and_keeps_one_record(
    embedded_aws, client, job, atomic_dynamodb, monkeypatch
):
    """Five sandboxes receiving the same message at once. Threads stand in for the sandboxes; what
    sandboxes never share (the metrics buffer) is serialized so that it does not break the test."""
    from lambdas.observability import metrics

    lock = threading.Lock()
    for name in ("add_metric", "flush_metrics"):
        original = getattr(metrics, name)
        monkeypatch.setattr(metrics, name, lambda *a, __f=original, **k: _locked(lock, __f, *a, **k))
    start = threading.Barrier(5)
    answers: list[tuple[dict[str, Any], dict[str, ReportJob]]] = []

    def sandbox() -> None:
        start.wait()
        answers.append(deliver(job))

    threads = [threading.Thread(target=sandbox) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert len(answers) == 5
    # The one that won runs; the others found the run in progress and go back to the queue.
    retried = [job for answer, by_message in answers for job in failed_jobs(answer, by_message)]
    assert 1 <= len(retried) <= 4
    assert len(sent_messages(embedded_aws.endpoint_url)) == 1
    for again in retried:  # SQS redelivers them once their visibility timeout ends
        answer, _ = deliver(again)
        assert answer == {"batchItemFailures": []}
    assert len(sent_messages(embedded_aws.endpoint_url)) == 1
    execution = record(client.client_id, job.run_id)
    assert execution is not None and (execution.status, execution.attempts) == ("succeeded", 1)


def _locked(lock: threading.Lock, function: Any, *args: Any, **kwargs: Any) -> Any:
    with lock:
        return function(*args, **kwargs)


def test_a_worker_stopped_after_archiving_and_before_sending_is_redelivered_and_sends_once(
    embedded_aws, client, job, monkeypatch
):
    real_send = Mailer.send_raw

    def stopped(self: Mailer, *args: Any, **kwargs: Any) -> str:
        raise Killed  # Lambda's timeout: the message is claimed, SES never called

    monkeypatch.setattr(Mailer, "send_raw", stopped)
    with pytest.raises(Killed):
        deliver(job)
    assert sent_messages(embedded_aws.endpoint_url) == []
    assert archived(client.client_id, job.run_id) == archive_of(client, job.run_id)
    execution = record(client.client_id, job.run_id)
    assert execution is not None and (execution.status, execution.message_id) == ("running", None)

    monkeypatch.setattr(Mailer, "send_raw", real_send)
    # Redelivered before the dead invocation's deadline: it might still be sending, so no one else may.
    answer, _ = deliver(job)
    assert len(answer["batchItemFailures"]) == 1
    assert sent_messages(embedded_aws.endpoint_url) == []

    the_dead_invocation_times_out()
    answer, _ = deliver(job)

    assert answer == {"batchItemFailures": []}
    [message] = mail_to(embedded_aws.endpoint_url, client.recipients[0])
    assert client.name in message["Subject"]
    assert len(sent_messages(embedded_aws.endpoint_url)) == 1
    execution = record(client.client_id, job.run_id)
    assert execution is not None
    assert (execution.status, execution.delivery, execution.attempts) == ("succeeded", "sent", 2)
    assert archived(client.client_id) == archive_of(client, job.run_id)


def test_a_worker_stopped_after_sending_and_before_recording_is_redelivered_and_does_not_send_again(
    embedded_aws, client, job, monkeypatch
):
    real_finish = ExecutionsTable.finish

    def stopped(self: ExecutionsTable, *args: Any, **kwargs: Any) -> None:
        raise Killed

    monkeypatch.setattr(ExecutionsTable, "finish", stopped)
    with pytest.raises(Killed):
        deliver(job)
    [sent] = sent_messages(embedded_aws.endpoint_url)

    monkeypatch.setattr(ExecutionsTable, "finish", real_finish)
    the_dead_invocation_times_out()
    answer, _ = deliver(job)

    assert answer == {"batchItemFailures": []}
    assert len(sent_messages(embedded_aws.endpoint_url)) == 1
    execution = record(client.client_id, job.run_id)
    assert execution is not None
    assert (execution.status, execution.delivery, execution.message_id) == ("succeeded", "sent", sent["id"])
    assert execution.recipients == len(client.recipients)


def test_a_run_too_close_to_the_timeout_stops_before_claiming_and_the_retry_sends_once(
    embedded_aws, client, job, logs, capsys
):
    answer, _ = deliver(job, timeout_seconds=100)  # less than a send may take (SES_CALL_BUDGET_SECONDS)

    assert len(answer["batchItemFailures"]) == 1
    assert sent_messages(embedded_aws.endpoint_url) == []
    assert archived(client.client_id, job.run_id) == archive_of(client, job.run_id)
    execution = record(client.client_id, job.run_id)
    assert execution is not None and (execution.status, execution.error_kind) == ("failed", "out_of_time")
    item = platform_client("dynamodb").get_item(
        TableName=get_settings().executions_table,
        Key={"client_id": {"S": client.client_id}, "run_id": {"S": job.run_id}},
    )["Item"]
    assert "delivery_claimed_at" not in item
    assert emf_metrics(capsys.readouterr().out)["RunsFailed"] == 1

    answer, _ = deliver(job)

    assert answer == {"batchItemFailures": []}
    assert len(sent_messages(embedded_aws.endpoint_url)) == 1
    execution = record(client.client_id, job.run_id)
    assert execution is not None
    assert (execution.status, execution.delivery, execution.attempts) == ("succeeded", "sent", 2)


def test_a_batch_of_ten_with_three_failing_returns_exactly_those_three_and_the_seven_complete(
    platform, embedded_aws, demo_records, faults, quick_backoff
):
    clients = [
        register(
            demo_records[n % len(demo_records)],
            client_id=f"batch-client-{n}",
            recipients=[f"finance-{n}@batch.example"],
        )
        for n in range(10)
    ]
    jobs = [ReportJob.scheduled(c.client_id, c.schedule, AS_OF) for c in clients]
    # batch-client-4 and -9 are hooli's copies, read from its Data Export: its payer delivered it.
    admin(embedded_aws.endpoint_url, "exports/deliver", {})
    failing = {"batch-client-2", "batch-client-5", "batch-client-9"}
    # S3 keeps answering 503 for their archive: botocore retries, then the run gives up (transient).
    faults.fail(
        "s3",
        "PutObject",
        "SlowDown",
        status=503,
        when=lambda request: any(f"/reports/{client_id}/" in request.url for client_id in failing),
    )

    answer, by_message = deliver(*jobs)

    assert {job.client_id for job in failed_jobs(answer, by_message)} == failing
    for n, client in enumerate(clients):
        expected = 0 if client.client_id in failing else 1
        assert len(mail_to(embedded_aws.endpoint_url, f"finance-{n}@batch.example")) == expected
        execution = record(client.client_id, jobs[n].run_id)
        assert execution is not None
        if client.client_id in failing:
            assert (execution.status, execution.error_kind, execution.delivery) == ("failed", "dependency", None)
            assert execution.error == "PutObject failed (SlowDown)"
        else:
            assert (execution.status, execution.delivery) == ("succeeded", "sent")

    faults.clear()  # S3 recovers; SQS redelivers the three
    retry, retry_messages = deliver(*failed_jobs(answer, by_message))

    assert retry == {"batchItemFailures": []}
    assert {job.client_id for job in retry_messages.values()} == failing
    for n in range(10):
        assert len(mail_to(embedded_aws.endpoint_url, f"finance-{n}@batch.example")) == 1
    assert len(sent_messages(embedded_aws.endpoint_url)) == 10
