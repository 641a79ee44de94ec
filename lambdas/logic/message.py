"""The email as one MIME message: text and HTML alternatives plus the attachments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from lambdas.models.report import Report


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    data: bytes


def attachment_name(report: Report, extension: str) -> str:
    return f"{report.client_id}-{report.period.start}-{report.period.end}.{extension}"


def build_message(
    report: Report,
    *,
    sender: str,
    recipients: list[str],
    subject: str,
    html: str,
    text: str,
    attachments: Sequence[Attachment] = (),
) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["Subject"] = subject
    message["From"] = Address(display_name="Cost Reports", addr_spec=sender)
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(report.generated_at)
    message["Message-ID"] = make_msgid(idstring=report.run_id, domain=sender.split("@")[-1])
    # A report is machine-sent: out-of-office and other auto-replies must not answer it (RFC 3834;
    # the second header is Exchange's own).
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(text, subtype="plain", charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    for attachment in attachments:
        maintype, subtype = attachment.content_type.split("/", 1)
        message.add_attachment(attachment.data, maintype=maintype, subtype=subtype, filename=attachment.filename)
    return message.as_bytes()
