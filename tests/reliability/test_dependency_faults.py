"""Faults of each dependency, injected at botocore's HTTP layer (and the Cost Explorer emulator's own
throttling): what the recipient, the archive, the execution record, the logs and the metrics show.

The promises: a transient fault is retried (by botocore, then by the queue) and the report goes
out once; a permanent one is recorded and alerted, not retried forever; no email goes out
without its archived copy; one client's fault never touches another's run.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdas.dal.aws import SES_ATTEMPTS, platform_client
from lambdas.dal.clients_table import ClientsTable
from lambdas.dal.mailer import Mailer
from lambdas.models.client import parse_client
from lambdas.models.events import ReportJob
from lambdas.models.settings import get_settings
from tests.integration.conftest import AS_OF
from tests.integration.helpers import sent_messages
from tests.integration.runs import admin, register
from tests.reliability.faults import DROPPED, Request
from tests.reliability.observe import archive_of, archived, emf_metrics, mail_to, record
from tests.reliability.test_redelivery import deliver, failed_jobs


@pytest.fixture
def acme(platform, demo_records):
    return register(next(r for r in demo_records if r["client_id"] == "acme-retail"))


@pytest.fixture
def globex(platform, demo_records):
    return register(next(r for r in demo_records if r["client_id"] == "globex-health"))


def job_of(client: Any) -> ReportJob:
    return ReportJob.scheduled(client.client_id, client.schedule, AS_OF)


def naming(*fragments: str):
    """A rule's `when`: the request mentions every fragment (an account, a table, a key...)."""
    return lambda request: all(fragment in request.url + request.body for fragment in fragments)


def executions_update(request: Request) -> bool:
    return request.json().get("TableName") == get_settings().executions_table


def sent_to(aws: Any, client: Any) -> int:
    return len(mail_to(aws.endpoint_url, client.recipients[0]))


# -- Cost Explorer ------------------------------------------------------------------------------


def test_cost_explorer_throttling_is_retried_then_the_report_goes_out_once(
    embedded_aws, globex, logs, capsys, quick_backoff
):
    admin(embedded_aws, "ce/throttle", {"count": 3, "code": "ThrottlingException"})
    try:
        answer, _ = deliver(job_of(globex))
    finally:
        admin(embedded_aws, "ce/throttle", {"count": 0})

    assert answer == {"batchItemFailures": []}
    assert len(quick_backoff) == 3  # three throttled answers, three waits, then success
    assert sent_to(embedded_aws, globex) == 1
    assert archived(globex.client_id) == archive_of(globex, job_of(globex).run_id)
    execution = record(globex.client_id, job_of(globex).run_id)
    assert execution is not None and (execution.status, execution.delivery) == ("succeeded", "sent")
    metrics = emf_metrics(capsys.readouterr().out)
    assert (metrics["ReportsSent"], metrics["RunsFailed"]) == (1, 0)


def test_cost_explorer_access_denied_fails_that_client_at_once_and_the_other_is_unaffected(
    embedded_aws, acme, globex, faults, logs, capsys
):
    denied = faults.fail("cost-explorer", "GetCostAndUsage", "AccessDeniedException", when=naming(acme.account_ids[0]))

    answer, _ = deliver(job_of(acme), job_of(globex))

    assert answer == {"batchItemFailures": []}  # permanent: retrying cannot help
    assert denied.answered == 1  # refused once, not retried
    assert (sent_to(embedded_aws, acme), sent_to(embedded_aws, globex)) == (0, 1)
    assert archived(acme.client_id) == []
    assert archived(globex.client_id) == archive_of(globex, job_of(globex).run_id)
    execution = record(acme.client_id, job_of(acme).run_id)
    assert execution is not None
    assert (execution.status, execution.error_kind) == ("failed", "unauthorized")
    assert execution.error == "Cost Explorer refused the request (AccessDeniedException)"
    [refusal] = logs.marked("UNAUTHORIZED")
    assert refusal["level"] == "WARNING" and refusal["message"].startswith("UNAUTHORIZED ")
    assert (refusal["client_id"], refusal["requester"], refusal["audit"]) == (acme.client_id, "worker", "UNAUTHORIZED")
    metrics = emf_metrics(capsys.readouterr().out)
    assert (metrics["Unauthorized"], metrics["RunsFailed"], metrics["ReportsSent"]) == (1, 1, 1)

    again, _ = deliver(job_of(acme))  # a redelivery is answered from the recorded outcome
    assert again == {"batchItemFailures": []} and denied.answered == 1


# -- SES ------------------------------------------------------------------------------------------


def test_ses_throttling_is_retried_then_the_report_goes_out_once(embedded_aws, acme, faults, quick_backoff):
    throttled = faults.fail("sesv2", "SendEmail", "TooManyRequestsException", status=429, times=2)

    answer, _ = deliver(job_of(acme))

    assert answer == {"batchItemFailures": []}
    assert throttled.answered == 2 and len(quick_backoff) == 2
    assert sent_to(embedded_aws, acme) == 1
    execution = record(acme.client_id, job_of(acme).run_id)
    assert execution is not None and (execution.status, execution.delivery) == ("succeeded", "sent")


def test_ses_throttling_that_outlives_the_retries_returns_the_message_and_the_retry_sends_once(
    embedded_aws, acme, faults, quick_backoff, logs, capsys
):
    throttled = faults.fail("sesv2", "SendEmail", "TooManyRequestsException", status=429)

    answer, by_message = deliver(job_of(acme))

    assert len(answer["batchItemFailures"]) == 1
    # Exactly the attempts the send's time budget allows for (SES_CALL_BUDGET_SECONDS), not one more.
    assert throttled.answered == SES_ATTEMPTS
    assert sent_to(embedded_aws, acme) == 0
    assert archived(acme.client_id) == archive_of(acme, job_of(acme).run_id)  # archived before the send
    execution = record(acme.client_id, job_of(acme).run_id)
    assert execution is not None
    assert (execution.status, execution.error_kind) == ("failed", "dependency")
    assert execution.error == "SES failed after retries (TooManyRequestsException)"
    assert emf_metrics(capsys.readouterr().out)["RunsFailed"] == 1

    faults.clear()
    retry, _ = deliver(*failed_jobs(answer, by_message))

    assert retry == {"batchItemFailures": []}
    assert sent_to(embedded_aws, acme) == 1
    execution = record(acme.client_id, job_of(acme).run_id)
    assert execution is not None and (execution.status, execution.attempts) == ("succeeded", 2)


def test_ses_message_rejected_is_recorded_and_alerted_and_nothing_is_sent_or_resent(
    embedded_aws, acme, faults, logs, capsys
):
    faults.fail("sesv2", "SendEmail", "MessageRejected")

    answer, _ = deliver(job_of(acme))

    assert answer == {"batchItemFailures": []}  # permanent: SES refused this message
    assert sent_messages(embedded_aws.endpoint_url) == []
    assert archived(acme.client_id) == archive_of(acme, job_of(acme).run_id)
    execution = record(acme.client_id, job_of(acme).run_id)
    assert execution is not None
    assert (execution.status, execution.error_kind, execution.delivery) == ("failed", "delivery_rejected", None)
    metrics = emf_metrics(capsys.readouterr().out)
    assert (metrics["DeliveryRejected"], metrics["RunsFailed"]) == (1, 1)

    faults.clear()
    again, _ = deliver(job_of(acme))  # redelivered: the recorded outcome, no second attempt at SES
    assert again == {"batchItemFailures": []}
    assert sent_messages(embedded_aws.endpoint_url) == []


def test_an_unverified_sender_identity_is_refused_recorded_and_alerted_then_a_rerun_sends_once(
    embedded_aws, acme, logs, capsys
):
    ses = platform_client("ses")
    domain = get_settings().sender_email.split("@")[1]
    ses.delete_identity(Identity=domain)  # the sender's domain loses its verification: SES refuses

    answer, _ = deliver(job_of(acme))

    assert answer == {"batchItemFailures": []}
    assert sent_messages(embedded_aws.endpoint_url) == []
    execution = record(acme.client_id, job_of(acme).run_id)
    assert execution is not None and execution.error == "SES refused the message (MessageRejected)"
    assert emf_metrics(capsys.readouterr().out)["DeliveryRejected"] == 1

    ses.verify_domain_identity(Domain=domain)  # the operator verifies the domain again
    rerun = ReportJob(run_id=f"{AS_OF.isoformat()}.manual-rerun", client_id=acme.client_id, as_of=AS_OF, kind="manual")
    answer, _ = deliver(rerun)

    assert answer == {"batchItemFailures": []}
    assert len(sent_messages(embedded_aws.endpoint_url)) == 1


# -- S3 -------------------------------------------------------------------------------------------


def test_s3_errors_are_retried_by_botocore_then_the_report_is_archived_and_sent_once(
    embedded_aws, acme, faults, quick_backoff
):
    failing = faults.fail("s3", "PutObject", "InternalError", status=500, times=2)

    answer, _ = deliver(job_of(acme))

    assert answer == {"batchItemFailures": []}
    assert failing.answered == 2
    assert archived(acme.client_id) == archive_of(acme, job_of(acme).run_id)
    assert sent_to(embedded_aws, acme) == 1


@pytest.mark.parametrize(
    ("code", "status", "fragment", "kind", "error"),
    [
        ("SlowDown", 503, "report.html", "dependency", "PutObject failed (SlowDown)"),
        ("SlowDown", 503, "report.txt", "dependency", "PutObject failed (SlowDown)"),  # after two files were stored
        ("AccessDenied", 403, "report.html", "access_denied", "PutObject refused (AccessDenied)"),
        (DROPPED, 0, "report.html", "dependency", "AWS unreachable (EndpointConnectionError)"),
    ],
)
def test_no_email_goes_out_without_its_archived_copy(
    embedded_aws, acme, faults, quick_backoff, logs, capsys, code, status, fragment, kind, error
):
    faults.fail("s3", "PutObject", code, status=status, when=naming(fragment))

    answer, by_message = deliver(job_of(acme))

    assert len(answer["batchItemFailures"]) == 1  # the queue retries
    assert sent_messages(embedded_aws.endpoint_url) == []
    metrics = emf_metrics(capsys.readouterr().out)
    assert (metrics["RunsFailed"], metrics["ReportsSent"], metrics["Unauthorized"]) == (
        1,
        0,
        1 if kind == "access_denied" else 0,
    )
    execution = record(acme.client_id, job_of(acme).run_id)
    assert execution is not None
    assert (execution.status, execution.error_kind, execution.error) == ("failed", kind, error)
    assert len(logs.marked("UNAUTHORIZED")) == (1 if kind == "access_denied" else 0)

    faults.clear()
    retry, _ = deliver(*failed_jobs(answer, by_message))

    assert retry == {"batchItemFailures": []}
    assert archived(acme.client_id) == archive_of(acme, job_of(acme).run_id)
    assert sent_to(embedded_aws, acme) == 1


# -- DynamoDB -----------------------------------------------------------------------------------


def test_dynamodb_throttling_is_retried_by_botocore(embedded_aws, acme, faults, quick_backoff):
    throttled = faults.fail("dynamodb", "GetItem", "ProvisionedThroughputExceededException", times=2)

    answer, _ = deliver(job_of(acme))

    assert answer == {"batchItemFailures": []}
    assert throttled.answered == 2
    assert sent_to(embedded_aws, acme) == 1


def test_an_executions_table_outage_before_the_run_returns_the_message_and_the_retry_sends_once(
    embedded_aws, acme, faults, quick_backoff, logs, capsys
):
    faults.fail("dynamodb", "UpdateItem", "InternalServerError", status=500, when=executions_update)

    answer, by_message = deliver(job_of(acme))

    assert len(answer["batchItemFailures"]) == 1
    assert sent_messages(embedded_aws.endpoint_url) == []
    assert archived(acme.client_id) == []
    assert record(acme.client_id, job_of(acme).run_id) is None  # nowhere to record it: the log and metric say it
    [failed] = [line for line in logs.lines() if line["message"] == "run failed"]
    assert (failed["error_kind"], failed["error"]) == ("dependency", "UpdateItem failed (InternalServerError)")
    assert emf_metrics(capsys.readouterr().out)["RunsFailed"] == 1

    faults.clear()
    retry, _ = deliver(*failed_jobs(answer, by_message))

    assert retry == {"batchItemFailures": []}
    assert sent_to(embedded_aws, acme) == 1


def test_an_unreadable_suppressions_table_sends_nothing_rather_than_mail_a_suppressed_recipient(
    embedded_aws, acme, faults, quick_backoff
):
    suppressions = get_settings().suppressions_table
    faults.fail("dynamodb", "Query", "InternalServerError", status=500, when=lambda r: suppressions in r.body)

    answer, by_message = deliver(job_of(acme))

    assert len(answer["batchItemFailures"]) == 1
    assert sent_messages(embedded_aws.endpoint_url) == []
    assert archived(acme.client_id) == []  # who may receive it is decided before anything is rendered
    execution = record(acme.client_id, job_of(acme).run_id)
    assert execution is not None
    assert (execution.status, execution.error) == ("failed", "Query failed (InternalServerError)")
    faults.clear()
    assert deliver(*failed_jobs(answer, by_message))[0] == {"batchItemFailures": []}
    assert sent_to(embedded_aws, acme) == 1


def test_dynamodb_failing_right_after_ses_accepted_does_not_send_the_report_again(
    embedded_aws, acme, faults, quick_backoff, logs, capsys, monkeypatch
):
    real_send = Mailer.send_raw

    def send_then_dynamodb_fails(self: Mailer, *args: Any, **kwargs: Any) -> str:
        message_id = real_send(self, *args, **kwargs)
        faults.fail("dynamodb", "UpdateItem", "InternalServerError", status=500, when=executions_update)
        return message_id

    monkeypatch.setattr(Mailer, "send_raw", send_then_dynamodb_fails)

    answer, _ = deliver(job_of(acme))

    assert answer == {"batchItemFailures": []}  # retrying could only send it again
    unrecorded = [line for line in logs.lines() if line["message"] == "report sent, execution record not written"]
    [sent] = sent_messages(embedded_aws.endpoint_url)
    assert unrecorded and all(line["level"] == "ERROR" and line["message_id"] == sent["id"] for line in unrecorded)
    assert emf_metrics(capsys.readouterr().out)["RecordsFailed"] >= 1

    faults.clear()
    monkeypatch.setattr(Mailer, "send_raw", real_send)
    for _ in range(3):  # SQS redelivers anyway (at least once): still one email
        assert deliver(job_of(acme))[0] == {"batchItemFailures": []}
    assert sent_to(embedded_aws, acme) == 1


# -- STS and Secrets Manager: one client's credentials -------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "retried", "kind"),
    [
        ("AccessDenied", 403, False, "unauthorized"),  # the client removed the role's trust
        ("ExpiredToken", 400, False, "unauthorized"),
        ("ServiceUnavailable", 503, True, "dependency"),  # STS down: the queue retries
        (DROPPED, 0, True, "dependency"),
    ],
)
def test_an_sts_failure_for_one_client_fails_that_client_only(
    embedded_aws, acme, globex, faults, quick_backoff, logs, capsys, code, status, retried, kind
):
    role = json.dumps(acme.credentials.role_arn)[1:-1]  # as it appears, URL-encoded, in the query body
    faults.fail("sts", "AssumeRole", code, status=status, when=lambda r: _form_value(role) in r.body)

    answer, by_message = deliver(job_of(acme), job_of(globex))

    assert [job.client_id for job in failed_jobs(answer, by_message)] == ([acme.client_id] if retried else [])
    assert (sent_to(embedded_aws, acme), sent_to(embedded_aws, globex)) == (0, 1)
    execution = record(acme.client_id, job_of(acme).run_id)
    assert execution is not None and (execution.status, execution.error_kind) == ("failed", kind)
    metrics = emf_metrics(capsys.readouterr().out)
    assert metrics["Unauthorized"] == (0 if retried else 1)
    assert len(logs.marked("UNAUTHORIZED")) == (0 if retried else 1)


def test_a_secrets_manager_outage_for_a_stored_key_client_is_retried(
    embedded_aws, stored_key_client, faults, quick_backoff
):
    client, _ = stored_key_client
    faults.fail("secrets-manager", "GetSecretValue", "InternalServiceError", status=500)

    answer, by_message = deliver(job_of(client))

    assert len(answer["batchItemFailures"]) == 1
    execution = record(client.client_id, job_of(client).run_id)
    assert execution is not None and (execution.status, execution.error_kind) == ("failed", "dependency")
    faults.clear()
    assert deliver(*failed_jobs(answer, by_message))[0] == {"batchItemFailures": []}
    assert sent_to(embedded_aws, client) == 1


def _form_value(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


def test_report_run_all_goes_on_past_a_client_whose_run_fails_and_ends_with_exit_1_and_a_summary(
    platform, demo_records, faults, quick_backoff, embedded_aws
):
    """A transient failure (STS 503 outliving botocore's retries) for one client used to stop
    `report run --all` there, with a traceback: the clients after it got no report."""
    from typer.testing import CliRunner

    from cli.main import app

    table = ClientsTable(platform.clients_table)
    for demo in demo_records[:3]:
        table.put(parse_client(demo))
    globex = parse_client(demo_records[1])
    faults.fail("sts", "AssumeRole", "ServiceUnavailable", status=503, when=lambda r: "globex" in r.body)

    result = CliRunner().invoke(app, ["report", "run", "--all", "--as-of", AS_OF.isoformat(), "--format", "json"])

    assert result.exit_code == 1, result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    runs = {run["client_id"]: run for run in json.loads(result.stdout)["runs"]}
    assert list(runs) == ["acme-retail", "globex-health", "initech-labs"]  # the one after the failure ran
    assert runs[globex.client_id]["status"] == "failed" and runs[globex.client_id]["error_kind"] == "dependency"
    assert runs["acme-retail"]["status"] == runs["initech-labs"]["status"] == "succeeded"
    assert "3 run(s): 2 succeeded, 1 failed; 2 report(s) sent" in result.stderr
    assert len(sent_messages(embedded_aws.endpoint_url)) == 2
