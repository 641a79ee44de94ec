"""The SES feedback handler and the suppressions table against the embedded AWS: an SNS
notification of a bounce or complaint becomes a suppression of that client's recipient."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from emulator.lambda_runtime import LocalContext
from infrastructure.config import for_environment
from lambdas.dal.mailer import Mailer
from lambdas.dal.suppressions import SuppressionsTable
from lambdas.models.ses_events import Suppression, message_tags
from tests.unit.test_feedback import bounce, complaint, tagged

TOPIC = "arn:aws:sns:us-east-1:123456789012:cost-reporting-ses-feedback-local"


def sns_event(message: dict[str, Any] | str) -> dict[str, Any]:
    """What Lambda receives from an SNS subscription: one record per invocation."""
    body = message if isinstance(message, str) else json.dumps(message)
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{TOPIC}:5f3c1a2e-0000-4000-8000-000000000001",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                    "TopicArn": TOPIC,
                    "Subject": None,
                    "Message": body,
                    "Timestamp": "2026-11-27T06:00:04.000Z",
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
                    "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {},
                },
            }
        ]
    }


@pytest.fixture
def suppressions(platform, monkeypatch) -> SuppressionsTable:
    """The local environment's suppressions table (provisioned from TABLES) named to the handler."""
    from lambdas.models.settings import get_settings

    name = for_environment("local").suppressions_table
    monkeypatch.setenv("SUPPRESSIONS_TABLE", name)
    get_settings.cache_clear()
    return SuppressionsTable(name)


def invoke(message: dict[str, Any] | str) -> dict[str, int]:
    from lambdas.handlers import feedback

    return feedback.handler(sns_event(message), LocalContext("cost-reporting-feedback-local"))


def test_a_permanent_bounce_suppresses_the_recipient_for_that_client_only(suppressions):
    outcome = invoke(bounce(tags=tagged("acme-retail")))

    assert outcome == {"events": 1, "suppressed": 1, "unmapped": 0}
    assert suppressions.is_suppressed("acme-retail", "cfo@acme.example")
    assert suppressions.is_suppressed("acme-retail", "CFO@ACME.example")  # case does not matter
    assert not suppressions.is_suppressed("globex-health", "cfo@acme.example")
    [stored] = suppressions.list("acme-retail")
    assert stored.reason == "bounce"
    assert stored.run_id == "2026-11-27.daily"
    assert stored.recorded_at == datetime(2026, 11, 27, 6, 0, 3, 500000, tzinfo=UTC)


def test_a_complaint_is_recorded_and_a_transient_bounce_is_not(suppressions):
    invoke(complaint(tags=tagged("acme-retail")))
    invoke(bounce("Transient", tags=tagged("acme-retail")))

    assert [(s.email, s.reason) for s in suppressions.list("acme-retail")] == [("ops@acme.example", "complaint")]


def test_a_redelivered_or_late_event_never_overwrites_a_newer_suppression(suppressions):
    invoke(complaint(tags=tagged("acme-retail")))  # 28 November, for ops@
    late_bounce = bounce(tags=tagged("acme-retail"))
    late_bounce["bounce"]["bouncedRecipients"][0]["emailAddress"] = "ops@acme.example"  # 27 November

    outcome = invoke(late_bounce)
    again = invoke(complaint(tags=tagged("acme-retail")))

    assert outcome["suppressed"] == 0
    assert again["suppressed"] == 1  # the same event again: same time, rewritten, still one item
    [stored] = suppressions.list("acme-retail")
    assert stored.reason == "complaint"


def test_mail_without_a_client_tag_is_counted_and_not_retried(suppressions):
    assert invoke(bounce()) == {"events": 1, "suppressed": 0, "unmapped": 1}
    assert suppressions.list("acme-retail") == []


def test_an_unreadable_notification_fails_the_invocation_so_it_reaches_the_dead_letter_queue(suppressions):
    with pytest.raises(ValidationError):
        invoke("not an SES event")
    with pytest.raises(ValidationError):
        invoke({"eventType": "Bounce", "mail": {"messageId": "m"}})


def test_suppressions_can_be_listed_and_cleared(suppressions):
    at = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    for email in ("b@client.example", "a@client.example"):
        assert suppressions.add(Suppression(client_id="initech-labs", email=email, reason="bounce", recorded_at=at))

    assert [s.email for s in suppressions.list("initech-labs")] == ["a@client.example", "b@client.example"]
    assert suppressions.clear("initech-labs", "A@client.example", at=at, by="operator") is not None
    assert suppressions.clear("initech-labs", "a@client.example", at=at, by="operator") is None  # cleared already
    assert not suppressions.is_suppressed("initech-labs", "a@client.example")
    assert suppressions.is_suppressed("initech-labs", "b@client.example")


def test_report_emails_carry_the_tags_that_map_feedback_back(platform, embedded_aws):
    """SES accepts the message tags the feedback handler reads (botocore validates their shape)."""
    mailer = Mailer(platform.sender_email, platform.configuration_set)
    raw = b"From: reports@example.com\r\nTo: cfo@acme.example\r\nSubject: test\r\n\r\nbody\r\n"

    message_id = mailer.send_raw(raw, ["cfo@acme.example"], tags=message_tags("acme-retail", "2026-11-27.daily"))

    assert message_id


def test_recipients_addresses_stay_out_of_the_logs(suppressions):
    from lambdas.observability import logs_to

    sink = io.StringIO()
    with logs_to(sink):
        invoke(bounce(tags=tagged("acme-retail")))

    [line] = [json.loads(line) for line in sink.getvalue().splitlines() if "SES feedback" in line]
    assert (line["client_id"], line["event_type"], line["suppressed"]) == ("acme-retail", "Bounce", 1)
    assert "acme.example" not in sink.getvalue().lower()
