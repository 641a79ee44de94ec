"""Email reputation: SES bounce and complaint events suppress the recipient for that client; the
health check shows it; the recipient gets no further mail until an operator clears it."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from cli.main import app
from emulator.lambda_runtime import LocalContext
from lambdas.dal.suppressions import SuppressionsTable
from lambdas.models.events import ReportJob
from lambdas.models.ses_events import message_tags
from tests.integration.conftest import AS_OF
from tests.integration.helpers import sent_messages
from tests.integration.runs import register
from tests.reliability.observe import mail_to, record
from tests.reliability.test_redelivery import deliver

runner = CliRunner()
SHARED = "shared-finance@partner.example"  # a recipient of two clients


def ses_event(kind: str, message: dict[str, Any], client_id: str, run_id: str, address: str, **extra: Any) -> dict:
    """An SES event as the configuration set publishes it for a message the worker sent; `at`
    (an ISO time) is when SES observed it."""
    tags = {name: [value] for name, value in message_tags(client_id, run_id).items()}
    event: dict[str, Any] = {
        "eventType": kind,
        "mail": {"timestamp": "2026-11-27T06:00:01.000Z", "messageId": message["id"], "tags": tags},
    }
    if kind == "Bounce":
        event["bounce"] = {
            "bounceType": extra.get("bounce_type", "Permanent"),
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": address, "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1"}],
            "timestamp": extra.get("at", "2026-11-27T06:00:04.000Z"),
        }
    else:
        event["complaint"] = {
            "complainedRecipients": [{"emailAddress": address}],
            "timestamp": extra.get("at", "2026-11-27T08:30:00.000Z"),
            "complaintFeedbackType": "abuse",
        }
    return event


def feedback(event: dict[str, Any]) -> dict[str, int]:
    from lambdas.handlers import feedback as handler

    sns = {"Records": [{"EventSource": "aws:sns", "Sns": {"Type": "Notification", "Message": json.dumps(event)}}]}
    sns["Records"][0]["Sns"].update(
        {
            "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:cost-reporting-ses-feedback-local",
            "Subject": None,
            "Timestamp": "2026-11-27T06:00:05.000Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/cert.pem",
            "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
            "MessageAttributes": {},
        }
    )
    sns["Records"][0].update({"EventVersion": "1.0", "EventSubscriptionArn": "arn:aws:sns:us-east-1:1:t:1"})
    return handler.handler(sns, LocalContext("cost-reporting-feedback-local"))


def day_job(client: Any, day: int) -> ReportJob:
    as_of = AS_OF + timedelta(days=day)
    return ReportJob(run_id=f"{as_of.isoformat()}.manual-{day}", client_id=client.client_id, as_of=as_of, kind="manual")


def health() -> tuple[int, dict[str, Any]]:
    result = runner.invoke(app, ["system", "health-check", "--format", "json"])
    [check] = [c for c in json.loads(result.stdout)["checks"] if c["name"] == "suppressed recipients"]
    return result.exit_code, check


@pytest.fixture
def clients(platform, demo_records, frozen_clock):
    acme = register(demo_records[0], recipients=[*demo_records[0]["recipients"], SHARED])
    globex = register(demo_records[1], recipients=[demo_records[1]["recipients"][0], SHARED])
    return acme, globex


@pytest.mark.parametrize("kind", ["Bounce", "Complaint"])
def test_a_bounce_or_complaint_suppresses_that_recipient_for_that_client_until_an_operator_clears_it(
    embedded_aws, clients, kind
):
    acme, globex = clients
    first = day_job(acme, 0)
    assert deliver(first, day_job(globex, 0))[0] == {"batchItemFailures": []}
    [sent] = [m for m in sent_messages(embedded_aws.endpoint_url) if acme.recipients[0] in m["destinations"]]

    assert feedback(ses_event(kind, sent, acme.client_id, first.run_id, SHARED.upper())) == {
        "events": 1,
        "suppressed": 1,
        "unmapped": 0,
    }

    [stored] = SuppressionsTable(platform_suppressions()).list(acme.client_id)
    assert (stored.email, stored.reason, stored.run_id) == (SHARED, kind.lower(), first.run_id)
    assert stored.recorded_at.isoformat().startswith("2026-11-27T0")  # when SES saw it
    assert SuppressionsTable(platform_suppressions()).list(globex.client_id) == []

    code, check = health()
    assert (code, check["status"]) == (1, "WARNING")
    assert check["suppressed"] == [{"client_id": acme.client_id, "email": SHARED, "reason": kind.lower()}]
    assert f"{acme.client_id}: {SHARED} ({kind.lower()})" in check["detail"]

    listed = runner.invoke(app, ["client", "suppressions", "--client-id", acme.client_id, "--format", "json"])
    assert listed.exit_code == 0
    assert [entry["email"] for entry in json.loads(listed.stdout)["suppressed"]] == [SHARED]

    for day in (1, 2):  # no further mail to the suppressed address, whatever runs
        assert deliver(day_job(acme, day), day_job(globex, day))[0] == {"batchItemFailures": []}
    assert len(mail_to(embedded_aws.endpoint_url, SHARED)) == 2 + 2  # day 0 for both, globex's days 1 and 2
    acme_day_2 = record(acme.client_id, day_job(acme, 2).run_id)
    assert acme_day_2 is not None
    assert (acme_day_2.delivery, acme_day_2.recipients, acme_day_2.suppressed) == ("sent", 2, 1)

    cleared = runner.invoke(app, ["client", "unsuppress", "--client-id", acme.client_id, "--email", SHARED])
    assert cleared.exit_code == 0 and SHARED in cleared.stdout
    assert health()[1]["status"] == "OK"
    assert deliver(day_job(acme, 3))[0] == {"batchItemFailures": []}
    [latest] = [m for m in sent_messages(embedded_aws.endpoint_url) if SHARED in m["destinations"]][-1:]
    assert acme.recipients[0] in latest["destinations"]  # acme's day 3 report reached it again


def test_a_transient_bounce_suppresses_nothing(embedded_aws, clients):
    acme, _ = clients
    job = day_job(acme, 0)
    deliver(job)
    [sent] = sent_messages(embedded_aws.endpoint_url)

    outcome = feedback(ses_event("Bounce", sent, acme.client_id, job.run_id, SHARED, bounce_type="Transient"))

    assert outcome["suppressed"] == 0
    assert SuppressionsTable(platform_suppressions()).list(acme.client_id) == []


def test_a_client_whose_every_recipient_is_suppressed_is_critical_and_its_reports_are_archived_not_sent(
    embedded_aws, clients
):
    acme, _ = clients
    job = day_job(acme, 0)
    deliver(job)
    [sent] = sent_messages(embedded_aws.endpoint_url)
    for address in acme.recipients:
        feedback(ses_event("Bounce", sent, acme.client_id, job.run_id, address))

    code, check = health()
    assert (code, check["status"]) == (1, "CRITICAL")
    assert check["no_recipient_left"] == [acme.client_id]

    assert deliver(day_job(acme, 1))[0] == {"batchItemFailures": []}
    assert len(sent_messages(embedded_aws.endpoint_url)) == 1
    execution = record(acme.client_id, day_job(acme, 1).run_id)
    assert execution is not None and (execution.status, execution.delivery) == ("succeeded", "suppressed")


def test_unsuppressing_an_address_that_is_not_suppressed_is_bad_input(clients):
    acme, _ = clients
    result = runner.invoke(app, ["client", "unsuppress", "--client-id", acme.client_id, "--email", "nobody@x.example"])
    assert result.exit_code == 2
    assert result.output.strip() == f"error: --email: nobody@x.example is not suppressed for {acme.client_id}"


def listed(client_id: str) -> list[str]:
    result = runner.invoke(app, ["client", "suppressions", "--client-id", client_id, "--format", "json"])
    assert result.exit_code == 0, result.output
    return [entry["email"] for entry in json.loads(result.stdout)["suppressed"]]


@pytest.mark.parametrize("kind", ["Bounce", "Complaint"])
def test_a_cleared_address_gets_mail_again_until_a_newer_bounce_or_complaint_suppresses_it_again(
    embedded_aws, clients, frozen_clock, kind
):
    acme, _ = clients
    first = day_job(acme, 0)
    deliver(first)
    [sent] = sent_messages(embedded_aws.endpoint_url)
    original = ses_event(kind, sent, acme.client_id, first.run_id, SHARED)
    feedback(original)
    frozen_clock()  # 27 November 09:00, after SES saw the bounce or complaint

    cleared = runner.invoke(app, ["client", "unsuppress", "--client-id", acme.client_id, "--email", SHARED])

    assert cleared.exit_code == 0, cleared.output
    assert listed(acme.client_id) == []
    assert not SuppressionsTable(platform_suppressions()).is_suppressed(acme.client_id, SHARED)
    again = runner.invoke(app, ["client", "unsuppress", "--client-id", acme.client_id, "--email", SHARED])
    assert again.exit_code == 2  # cleared already: nothing to unsuppress
    assert again.output.strip() == f"error: --email: {SHARED} is not suppressed for {acme.client_id}"
    # SNS redelivers the event that was cleared: old news, the address stays allowed.
    assert feedback(original)["suppressed"] == 0
    assert listed(acme.client_id) == []

    second = day_job(acme, 1)
    assert deliver(second)[0] == {"batchItemFailures": []}  # the worker does not skip the address
    to_shared = [m for m in sent_messages(embedded_aws.endpoint_url) if SHARED in m["destinations"]]
    assert len(to_shared) == 2 and acme.recipients[0] in to_shared[-1]["destinations"]  # acme's day 1 report
    later = record(acme.client_id, second.run_id)
    assert later is not None and (later.recipients, later.suppressed) == (3, 0)

    newer = ses_event(kind, to_shared[-1], acme.client_id, second.run_id, SHARED, at="2026-11-28T06:00:04.000Z")
    assert feedback(newer)["suppressed"] == 1

    assert listed(acme.client_id) == [SHARED]
    [stored] = SuppressionsTable(platform_suppressions()).list(acme.client_id)
    assert (stored.run_id, stored.cleared_at, stored.cleared_by) == (second.run_id, None, None)
    assert stored.recorded_at.isoformat().startswith("2026-11-28T06:00:04")
    assert deliver(day_job(acme, 2))[0] == {"batchItemFailures": []}
    assert len(mail_to(embedded_aws.endpoint_url, SHARED)) == 2  # suppressed again: no third message


def platform_suppressions() -> str:
    from lambdas.models.settings import get_settings

    return get_settings().suppressions_table
