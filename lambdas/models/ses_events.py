"""SES bounce and complaint events (configuration-set event publishing, delivered through SNS),
and the recipient suppressions they lead to.

Each sent message carries two SES message tags, `client_id` and `run_id`, so an event maps
back to the client whose report bounced. SES tag values allow only ASCII letters, digits, `_`
and `-`: the run id's dots travel as underscores (run ids never contain `_`, so the mapping
is reversible).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

TAG_CLIENT_ID = "client_id"
TAG_RUN_ID = "run_id"
_DETAIL_MAX = 500

SuppressionReason = Literal["bounce", "complaint"]


def message_tags(client_id: str, run_id: str) -> dict[str, str]:
    """The SES message tags of one report email."""
    return {TAG_CLIENT_ID: client_id, TAG_RUN_ID: run_id.replace(".", "_")}


def run_id_from_tag(value: str) -> str:
    return value.replace("_", ".")


class Suppression(BaseModel):
    """A recipient no report of this client may be sent to again, until an operator clears it."""

    model_config = ConfigDict(frozen=True)

    client_id: str
    email: str = Field(description="Lower-cased: addresses are matched without regard to case.")
    reason: SuppressionReason
    recorded_at: datetime = Field(description="When SES observed the bounce or complaint.")
    detail: str = Field(default="", description="Bounce type and status, or the complaint feedback type.")
    message_id: str = ""
    run_id: str | None = None
    # An operator's clearing keeps the item (a bounce stays counted in the delivery KPI): the address
    # receives reports again until a newer bounce or complaint suppresses it again.
    cleared_at: datetime | None = Field(default=None, description="When an operator let the address receive again.")
    cleared_by: str | None = Field(default=None, description="The AWS principal that cleared it.")

    @property
    def active(self) -> bool:
        """Whether reports are withheld from the address now."""
        return self.cleared_at is None


class _Recipient(BaseModel):
    model_config = ConfigDict(extra="ignore")

    email_address: str = Field(alias="emailAddress")
    status: str | None = None
    diagnostic_code: str | None = Field(default=None, alias="diagnosticCode")


class Bounce(BaseModel):
    model_config = ConfigDict(extra="ignore")

    bounce_type: str = Field(alias="bounceType")  # Permanent | Transient | Undetermined
    bounce_sub_type: str = Field(default="", alias="bounceSubType")
    bounced_recipients: list[_Recipient] = Field(alias="bouncedRecipients")
    timestamp: datetime


class Complaint(BaseModel):
    model_config = ConfigDict(extra="ignore")

    complained_recipients: list[_Recipient] = Field(alias="complainedRecipients")
    timestamp: datetime
    complaint_feedback_type: str = Field(default="", alias="complaintFeedbackType")


class Mail(BaseModel):
    model_config = ConfigDict(extra="ignore")

    message_id: str = Field(alias="messageId")
    timestamp: datetime
    tags: dict[str, list[str]] = {}

    def tag(self, name: str) -> str | None:
        values = self.tags.get(name) or []
        return values[0] if values else None


class SesEvent(BaseModel):
    """One SES event. Event publishing says `eventType`; identity notifications say
    `notificationType`: both are accepted so either kind of SNS topic can feed the handler."""

    model_config = ConfigDict(extra="ignore")

    event_type: str = Field(validation_alias=AliasChoices("eventType", "notificationType"))
    mail: Mail
    bounce: Bounce | None = None
    complaint: Complaint | None = None

    @property
    def client_id(self) -> str | None:
        return self.mail.tag(TAG_CLIENT_ID)

    @property
    def run_id(self) -> str | None:
        tag = self.mail.tag(TAG_RUN_ID)
        return run_id_from_tag(tag) if tag else None

    def suppressions(self) -> list[Suppression]:
        """What this event suppresses. Only permanent bounces and complaints count: a transient
        bounce (mailbox full, greylisting) says nothing lasting about the address."""
        client_id = self.client_id
        if client_id is None:
            return []
        if self.event_type == "Bounce" and self.bounce and self.bounce.bounce_type == "Permanent":
            return [
                self._suppression(
                    client_id,
                    recipient.email_address,
                    "bounce",
                    self.bounce.timestamp,
                    " ".join(
                        part
                        for part in (self.bounce.bounce_sub_type, recipient.status, recipient.diagnostic_code)
                        if part
                    ),
                )
                for recipient in self.bounce.bounced_recipients
            ]
        if self.event_type == "Complaint" and self.complaint:
            return [
                self._suppression(
                    client_id,
                    recipient.email_address,
                    "complaint",
                    self.complaint.timestamp,
                    self.complaint.complaint_feedback_type,
                )
                for recipient in self.complaint.complained_recipients
            ]
        return []

    def _suppression(
        self, client_id: str, email: str, reason: SuppressionReason, at: datetime, detail: str
    ) -> Suppression:
        return Suppression(
            client_id=client_id,
            email=email.strip().lower(),
            reason=reason,
            recorded_at=at,
            detail=detail[:_DETAIL_MAX],
            message_id=self.mail.message_id,
            run_id=self.run_id,
        )


class _SnsMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    type: Literal["Notification"] = Field(alias="Type")
    message: str = Field(alias="Message")


class _SnsRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    event_source: Literal["aws:sns"] = Field(alias="EventSource")
    sns: _SnsMessage = Field(alias="Sns")


class SnsDelivery(BaseModel):
    """What Lambda receives from an SNS subscription: the records whose `Message` is an SES event.
    Only the fields the handler reads are modelled: Powertools' parser envelopes would import a
    model of every event source Lambda has (about 0.1 s of the feedback function's cold start)."""

    model_config = ConfigDict(extra="ignore")

    records: list[_SnsRecord] = Field(alias="Records", min_length=1)

    def ses_events(self) -> list[SesEvent]:
        return [SesEvent.model_validate_json(record.sns.message) for record in self.records]
