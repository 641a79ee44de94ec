"""The feedback Lambda's job: SES bounce and complaint events become recipient suppressions of
the client each message was sent for. An event without a `client_id` tag (mail not sent by the
worker) is logged and counted, not retried."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from lambdas.dal.suppressions import SuppressionsTable
from lambdas.models.settings import Settings
from lambdas.observability import logger

if TYPE_CHECKING:
    from lambdas.models.ses_events import SesEvent, Suppression


class SuppressionRecorder(Protocol):
    def add(self, suppression: Suppression) -> bool: ...


@dataclass(frozen=True)
class FeedbackRecorded:
    events: int
    suppressed: int  # recipients newly suppressed
    unmapped: int  # events that named no client


def record_feedback(events: Sequence[SesEvent], suppressions: SuppressionRecorder) -> FeedbackRecorded:
    recorded = unmapped = 0
    for ses_event in events:
        if ses_event.client_id is None:
            unmapped += 1
            logger.warning("SES event without a client_id tag", extra={"message_id": ses_event.mail.message_id})
            continue
        found = ses_event.suppressions()
        recorded += sum(suppressions.add(suppression) for suppression in found)
        # Counts and ids only: recipients' addresses stay in the table, out of the logs.
        logger.info(
            "SES feedback",
            extra={
                "client_id": ses_event.client_id,
                "run_id": ses_event.run_id,
                "event_type": ses_event.event_type,
                "suppressed": len(found),
            },
        )
    return FeedbackRecorded(events=len(events), suppressed=recorded, unmapped=unmapped)


def suppressions_table(settings: Settings) -> SuppressionsTable:
    return SuppressionsTable(settings.suppressions_table)
