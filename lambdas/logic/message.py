"""The email as one MIME message: text and HTML alternatives plus the CSV attachment."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from lambdas.models.report import Report


def build_message(
    report: Report, *, sender: str, recipients: list[str], subject: str, html: str, text: str, csv_data: str
) -> bytes:
    message = EmailMessage(policy=SMTP)
    message["Subject"] = subject
    message["From"] = Address(display_name="Cost Reports", addr_spec=sender)
    message["To"] = ", ".join(recipients)
    message["Date"] = format_datetime(report.generated_at)
    message["Message-ID"] = make_msgid(idstring=report.run_id, domain=sender.split("@")[-1])
    message.set_content(text, subtype="plain", charset="utf-8")
    message.add_alternative(html, subtype="html", charset="utf-8")
    message.add_attachment(
        csv_data.encode("utf-8"),
        maintype="text",
        subtype="csv",
        filename=f"{report.client_id}-{report.period.start}-{report.period.end}.csv",
    )
    return message.as_bytes()
