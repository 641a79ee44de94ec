"""render_outputs: the files archived and the one MIME message sent."""

from __future__ import annotations

import email
import json
from email.policy import default

from lambdas.logic.outputs import CONTENT_TYPES, MESSAGE, render_outputs
from tests.unit import report_fixtures as fx

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def outputs(attach_xlsx=False, report=None):
    if report is None:
        report, rows = fx.daily_report()
    else:
        rows = fx.cost_rows(report.daily[0].date, report.period.end)
    return report, render_outputs(
        report,
        rows,
        sender="reports@example.com",
        recipients=["a@example.com", "b@example.com"],
        attach_xlsx=attach_xlsx,
    )


def parts(raw: bytes):
    message = email.message_from_bytes(raw, policy=default)
    return message, {part.get_content_type(): part for part in message.walk()}


def test_files_and_message_without_workbook():
    report, out = outputs()
    assert set(out.files) == {"report.html", "report.txt", "report.csv", "report.json", MESSAGE}
    assert set(out.archived()) == {"report.html", "report.txt", "report.csv", "report.json"}
    assert all(name in CONTENT_TYPES for name in out.files)
    assert json.loads(out.files["report.json"])["total"] == str(report.total)
    message, by_type = parts(out.message)
    assert message["Subject"] == out.subject
    assert message["To"] == "a@example.com, b@example.com"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/mixed"
    assert set(by_type) == {"multipart/mixed", "multipart/alternative", "text/plain", "text/html", "text/csv"}
    # SMTP policy: lines end in CRLF on the wire.
    for kind, name in (("text/html", "report.html"), ("text/plain", "report.txt")):
        sent = by_type[kind].get_content().replace("\r\n", "\n")
        assert sent.rstrip("\n") == out.files[name].decode().rstrip("\n")
    csv_part = by_type["text/csv"]
    assert csv_part.get_filename() == "acme-2026-11-26-2026-11-26.csv"
    assert csv_part.get_payload(decode=True) == out.files["report.csv"]
    assert "Attached: a CSV of the period's cost by account and service." in out.files["report.txt"].decode()


def test_workbook_is_archived_and_attached_when_the_client_asks():
    _, out = outputs(attach_xlsx=True)
    assert "report.xlsx" in out.archived()
    _, by_type = parts(out.message)
    workbook = by_type[XLSX_TYPE]
    assert workbook.get_filename() == "acme-2026-11-26-2026-11-26.xlsx"
    assert workbook.get_payload(decode=True) == out.files["report.xlsx"]
    assert out.files["report.xlsx"][:2] == b"PK"  # a zip: the OOXML container
    assert "Attached: a CSV of the period's cost by account and service and an Excel workbook." in (
        out.files["report.txt"].decode()
    )


def test_hostile_client_name_in_the_subject_header_is_encoded_not_injected():
    report = fx.hostile(fx.daily_report()[0])
    _, out = outputs(report=report)
    raw_headers = out.message.split(b"\r\n\r\n", 1)[0]
    assert raw_headers.isascii()  # non-ASCII names are RFC 2047 encoded
    message, _ = parts(out.message)
    assert report.client_name in message["Subject"]
