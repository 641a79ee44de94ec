"""SES bounce and complaint events: which recipients they suppress, for which client."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from cli.reviews.kpis import bounced_by_run
from lambdas.models.ses_events import SesEvent, Suppression, message_tags, run_id_from_tag

RUN_ID = "2026-11-27.daily"


def mail(tags: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {
        "timestamp": "2026-11-27T06:00:01.000Z",
        "source": "reports@prod.example.com",
        "messageId": "0100019b-msg",
        "destination": ["cfo@acme.example", "ops@acme.example"],
        "tags": {"ses:configuration-set": ["cost-reporting-email"], **(tags or {})},
    }


def tagged(client_id: str = "acme-retail") -> dict[str, list[str]]:
    return {name: [value] for name, value in message_tags(client_id, RUN_ID).items()}


def bounce(bounce_type: str = "Permanent", **mail_kwargs: Any) -> dict[str, Any]:
    return {
        "eventType": "Bounce",
        "bounce": {
            "bounceType": bounce_type,
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": "CFO@Acme.example",
                    "action": "failed",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
            "timestamp": "2026-11-27T06:00:03.500Z",
            "feedbackId": "0100019b-fb",
        },
        "mail": mail(**mail_kwargs),
    }


def complaint(**mail_kwargs: Any) -> dict[str, Any]:
    return {
        "eventType": "Complaint",
        "complaint": {
            "complainedRecipients": [{"emailAddress": "ops@acme.example"}],
            "timestamp": "2026-11-28T09:15:00.000Z",
            "feedbackId": "0100019b-fc",
            "complaintFeedbackType": "abuse",
        },
        "mail": mail(**mail_kwargs),
    }


def test_permanent_bounce_suppresses_the_bounced_recipient_for_the_tagged_client():
    event = SesEvent.model_validate(bounce(tags=tagged()))

    [suppression] = event.suppressions()

    assert suppression.client_id == "acme-retail"
    assert suppression.email == "cfo@acme.example"  # lower-cased: matched without regard to case
    assert suppression.reason == "bounce"
    assert suppression.recorded_at == datetime(2026, 11, 27, 6, 0, 3, 500000, tzinfo=UTC)
    assert suppression.detail == "General 5.1.1 smtp; 550 5.1.1 user unknown"
    assert suppression.message_id == "0100019b-msg"
    assert suppression.run_id == RUN_ID


def test_complaint_suppresses_the_complaining_recipient():
    [suppression] = SesEvent.model_validate(complaint(tags=tagged("globex-health"))).suppressions()

    assert (suppression.client_id, suppression.email, suppression.reason) == (
        "globex-health",
        "ops@acme.example",
        "complaint",
    )
    assert suppression.detail == "abuse"


@pytest.mark.parametrize("bounce_type", ["Transient", "Undetermined"])
def test_a_bounce_that_is_not_permanent_suppresses_nobody(bounce_type):
    assert SesEvent.model_validate(bounce(bounce_type, tags=tagged())).suppressions() == []


def test_mail_without_a_client_tag_maps_to_no_client():
    event = SesEvent.model_validate(bounce())

    assert event.client_id is None
    assert event.suppressions() == []


def test_identity_notifications_are_read_like_event_publishing():
    notification = bounce(tags=tagged())
    notification["notificationType"] = notification.pop("eventType")

    assert [s.email for s in SesEvent.model_validate(notification).suppressions()] == ["cfo@acme.example"]


def test_other_event_types_suppress_nobody():
    event = SesEvent.model_validate({"eventType": "Delivery", "mail": mail(tagged()), "delivery": {}})

    assert event.suppressions() == []


def test_a_malformed_event_is_refused():
    broken = bounce(tags=tagged())
    del broken["bounce"]["bouncedRecipients"]

    with pytest.raises(ValidationError, match="bouncedRecipients"):
        SesEvent.model_validate(broken)


def test_a_long_diagnostic_is_cut_to_a_bounded_detail():
    notification = bounce(tags=tagged())
    notification["bounce"]["bouncedRecipients"][0]["diagnosticCode"] = "x" * 5000

    [suppression] = SesEvent.model_validate(notification).suppressions()

    assert len(suppression.detail) == 500


@given(
    st.from_regex(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\.[a-z0-9.-]{1,64}", fullmatch=True),
    st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?", fullmatch=True),
)
def test_message_tags_satisfy_ses_and_map_back_to_the_run(run_id, client_id):
    tags = message_tags(client_id, run_id)

    # SES message tag values: ASCII letters, digits, underscores and dashes only, 256 at most.
    for value in tags.values():
        assert all(char.isascii() and (char.isalnum() or char in "_-") for char in value)
        assert len(value) <= 256
    assert tags["client_id"] == client_id
    assert run_id_from_tag(tags["run_id"]) == run_id


def test_a_cleared_suppression_withholds_no_mail_but_its_bounce_still_counts():
    [bounced] = SesEvent.model_validate(bounce(tags=tagged())).suppressions()
    cleared = Suppression.model_validate(
        {**bounced.model_dump(), "cleared_at": "2026-11-28T09:00:00Z", "cleared_by": "arn:aws:iam::1:user/op"}
    )

    assert bounced.active and not cleared.active
    assert bounced_by_run([cleared]) == bounced_by_run([bounced]) == {("acme-retail", RUN_ID): 1}
