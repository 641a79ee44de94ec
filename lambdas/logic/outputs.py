"""Everything a report becomes: the files archived and the message sent. The pipeline calls
only `render_outputs`; how each file is made lives in render/ (html.py, text.py, csv.py, xlsx.py)
and message.py.

Both are imported when first needed (tests/unit/test_lazy_imports.py keeps them out of the
handlers' imports): xlsx.py (openpyxl) only for a client that asks for the workbook, for the others
it was a third of the worker's cold start; the render package by the first run that renders."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lambdas.logic.message import Attachment, attachment_name, build_message

if TYPE_CHECKING:
    from lambdas.logic.cost_data import CostRow
    from lambdas.models.report import Report

MESSAGE = "message.eml"
XLSX = "report.xlsx"
CONTENT_TYPES = {
    "report.html": "text/html; charset=utf-8",
    "report.txt": "text/plain; charset=utf-8",
    "report.csv": "text/csv; charset=utf-8",
    "report.json": "application/json",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    MESSAGE: "message/rfc822",
}


@dataclass(frozen=True)
class ReportOutputs:
    subject: str
    files: dict[str, bytes]  # file name -> content; MESSAGE is the MIME message to send

    @property
    def message(self) -> bytes:
        return self.files[MESSAGE]

    def archived(self) -> dict[str, bytes]:
        """The files kept in S3 (the message itself is not: it repeats them)."""
        return {name: body for name, body in self.files.items() if name != MESSAGE}


def render_outputs(
    report: Report, rows: Iterable[CostRow], *, sender: str, recipients: list[str], attach_xlsx: bool = False
) -> ReportOutputs:
    # The renderer (Jinja2, css-inline, Babel's dates) is imported by the first run that renders: a run
    # that ends before (a month-close run with nothing new, a paused client, a refused credential) never needs it.
    from lambdas.logic.render.csv import render_csv
    from lambdas.logic.render.html import render_html
    from lambdas.logic.render.text import render_text
    from lambdas.logic.render.view import email_view

    rows = list(rows)
    view = email_view(report, attachments=("csv", "xlsx") if attach_xlsx else ("csv",))
    html, text, csv_data = render_html(report, view), render_text(report, view), render_csv(report, rows)
    files = {
        "report.html": html.encode(),
        "report.txt": text.encode(),
        "report.csv": csv_data.encode(),
        "report.json": report.model_dump_json(indent=2).encode(),
    }
    attachments = [Attachment(attachment_name(report, "csv"), "text/csv", files["report.csv"])]
    if attach_xlsx:
        from lambdas.logic.render.xlsx import render_xlsx  # openpyxl: only for the clients that ask for it

        files[XLSX] = render_xlsx(report, rows)
        attachments.append(Attachment(attachment_name(report, "xlsx"), CONTENT_TYPES[XLSX], files[XLSX]))
    files[MESSAGE] = build_message(
        report,
        sender=sender,
        recipients=recipients,
        subject=view.subject,
        html=html,
        text=text,
        attachments=attachments,
    )
    return ReportOutputs(subject=view.subject, files=files)
