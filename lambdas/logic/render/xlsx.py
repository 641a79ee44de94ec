"""The report as an Excel workbook (openpyxl), attached when the client asks for it.

Pure: a report and its cost rows in, the .xlsx bytes out. Every amount is a number cell with a
number format (never text), every date a date cell, so the workbook sorts, filters and sums as
a finance team expects. Names are text cells even when they start with "=": a service or tag
name never becomes a formula.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from babel.numbers import get_currency_precision
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE, Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from lambdas.logic.cost_data import CostRow
from lambdas.logic.render.csv import data_span, rows_in_span
from lambdas.logic.render.export_views import source_line
from lambdas.logic.render.format import METRIC_LABELS, period_label
from lambdas.logic.report import percent_change
from lambdas.models.report import Report

DATE_FORMAT = "yyyy-mm-dd"
PERCENT_FORMAT = "+0.0%;-0.0%;0.0%"
SHARE_FORMAT = "0.0%"
HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="1F4E79")
TITLE_FONT = Font(bold=True, size=14)


def render_xlsx(report: Report, rows: Iterable[CostRow]) -> bytes:
    money = _money_format(report.currency)
    workbook = Workbook()
    summary = workbook.worksheets[0]
    summary.title = "Summary"
    _summary(summary, report, money)
    _table(
        workbook.create_sheet("Services"),
        ["Service", *_amount_headers(report), "Change", "Change %"],
        [
            [line.name, line.amount, line.previous_amount, line.change, _ratio(line.amount, line.previous_amount)]
            for line in report.by_service
        ],
        [None, money, money, money, PERCENT_FORMAT],
    )
    _table(
        workbook.create_sheet("Accounts"),
        ["Account ID", "Account name", *_amount_headers(report), "Change"],
        [
            [line.account_id, line.name, line.amount, line.previous_amount, line.amount - line.previous_amount]
            for line in report.by_account
        ],
        [None, None, money, money, money],
    )
    _table(
        workbook.create_sheet("Daily"),
        ["Date", f"Cost ({report.currency})", "Estimated"],
        [[point.date, point.amount, point.estimated] for point in report.daily],
        [DATE_FORMAT, money, None],
    )
    _optional_sheets(workbook, report, money)
    _data_sheet(workbook, report, rows, money)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _optional_sheets(workbook: Workbook, report: Report, money: str) -> None:
    """The sheets of the sections a report may not have: trend, breakdown, credits, anomalies."""
    if report.monthly_trend:
        _table(
            workbook.create_sheet("Months"),
            ["Month", f"Cost ({report.currency})", "Estimated"],
            [[point.month, point.amount, point.estimated] for point in report.monthly_trend],
            ["mmm yyyy", money, None],
        )
    if report.breakdown is not None:
        missing = "(untagged)" if report.breakdown.type == "tag" else "(uncategorised)"
        _table(
            workbook.create_sheet("Breakdown"),
            [f"{report.breakdown.key}", *_amount_headers(report), "Change"],
            [
                [line.value or missing, line.amount, line.previous_amount, line.amount - line.previous_amount]
                for line in report.breakdown.lines
            ],
            [None, money, money, money],
        )
    if report.credits:
        _table(
            workbook.create_sheet("Credits"),
            ["Record type", *_amount_headers(report), "Included in totals"],
            [[line.record_type, line.amount, line.previous_amount, report.credits_included] for line in report.credits],
            [None, money, money, None],
        )
    if report.top_resources:
        _table(
            workbook.create_sheet("Top resources"),
            ["Resource", "Service", "Account ID", "Account name", f"Cost ({report.currency})", "Share", "Mover"],
            [
                [
                    line.resource_id,
                    line.service,
                    line.account_id,
                    line.account_name or "",
                    line.amount,
                    line.share,
                    line.mover or "",
                ]
                for line in report.top_resources
            ],
            [None, None, None, None, money, SHARE_FORMAT, None],
        )
    if report.commitments:
        _table(
            workbook.create_sheet("Commitments"),
            ["Commitment", "Used", "Unused", "Utilisation", "Covered (on-demand)", "On demand", "Coverage"],
            [[c.type, c.used, c.unused, c.utilisation, c.covered, c.on_demand, c.coverage] for c in report.commitments],
            [None, money, money, SHARE_FORMAT, money, money, SHARE_FORMAT],
        )
    if report.anomalies:
        _table(
            workbook.create_sheet("Anomalies"),
            ["Date", "Cost", "Expected low", "Expected high", "Rule", "Service"],
            [[a.date, a.amount, a.expected_low, a.expected_high, a.rule, a.service or ""] for a in report.anomalies],
            [DATE_FORMAT, money, money, money, None, None],
        )


def _data_sheet(workbook: Workbook, report: Report, rows: Iterable[CostRow], money: str) -> None:
    """Every row of the attachments' span (the CSV's rows)."""
    names = {line.account_id: line.name for line in report.by_account}
    estimated = {point.date for point in report.daily if point.estimated}
    _table(
        workbook.create_sheet("Data"),
        ["Date", "Account ID", "Account name", "Service", f"Cost ({report.currency})", "Estimated"],
        [
            [
                row.day,
                row.account_id,
                names.get(row.account_id, row.account_id),
                row.service,
                row.amount,
                row.day in estimated,
            ]
            for row in rows_in_span(report, rows)
        ],
        [DATE_FORMAT, None, None, None, money, None],
    )


def _money_format(currency: str) -> str:
    digits = get_currency_precision(currency)
    number = "#,##0" + ("." + "0" * digits if digits else "")
    return f"{number};-{number}"


def _amount_headers(report: Report) -> list[str]:
    return [
        f"{period_label(report.period)} ({report.currency})",
        f"{period_label(report.previous_period)} ({report.currency})",
    ]


def _ratio(current: Decimal, previous: Decimal) -> Decimal | None:
    percent = percent_change(current, previous)
    return None if percent is None else percent / 100


def _summary(sheet: Worksheet, report: Report, money: str) -> None:
    sheet.append([_text(report.client_name)])
    sheet["A1"].font = TITLE_FONT
    span = data_span(report)
    facts: list[tuple[str, Any, str | None]] = [
        ("Report", f"{report.schedule} ({report.kind})", None),
        ("Period", period_label(report.period), None),
        ("Period start", report.period.start, DATE_FORMAT),
        ("Period end", report.period.end, DATE_FORMAT),
        ("Compared with", period_label(report.previous_period), None),
        ("Cost metric", METRIC_LABELS.get(report.metric, report.metric), None),
        ("Currency", report.currency, None),
        ("As of", report.as_of, DATE_FORMAT),
        ("Run", report.run_id, None),
        ("Total", report.total, money),
        ("Previous total", report.previous_total, money),
        ("Change", report.change_amount, money),
        ("Change %", None if report.change_percent is None else report.change_percent / 100, PERCENT_FORMAT),
        ("Month to date", report.month_to_date, money),
        ("Forecast to month end", report.forecast, money),
        ("Forecast method", report.forecast_method, None),
        ("Monthly budget", report.budget, money),
        ("Credits and refunds included in totals", report.credits_included, None),
        ("Estimated (AWS may still restate)", report.estimated, None),
        ("Cost source", source_line(report) if report.cost_source == "data_exports" else None, None),
        ("Cost Explorer requests", report.ce_requests, None),
        ("Sheet Data covers", period_label(span), None),
    ]
    if report.restatement is not None:
        facts += [
            ("Estimate sent (run)", report.restatement.sent_run_id, None),
            ("Estimated total sent", report.restatement.sent_total, money),
            ("Final total", report.restatement.final_total, money),
            ("Change against the estimate", report.restatement.change_amount, money),
        ]
    if report.archive_url:
        facts.append(("Archived report", report.archive_url, None))
    for note in report.notes:
        facts.append(("Note", note, None))
    sheet.append([])
    for label, value, number_format in facts:
        if value is None:
            continue
        sheet.append([label, _cell_value(value)])
        cell = sheet.cell(row=sheet.max_row, column=2)
        _keep_text(cell)
        if number_format:
            cell.number_format = number_format
        cell.alignment = Alignment(horizontal="left", wrap_text=isinstance(value, str) and len(value) > 60)
        sheet.cell(row=sheet.max_row, column=1).font = Font(bold=True)
    sheet.column_dimensions["A"].width = 40
    sheet.column_dimensions["B"].width = 60


def _table(
    sheet: Worksheet, headers: Sequence[str], rows: Sequence[Sequence[Any]], formats: Sequence[str | None]
) -> None:
    sheet.append([_text(header) for header in headers])
    for cell in sheet[1]:
        cell.font, cell.fill = HEADER_FONT, HEADER_FILL
    # Cells are built, formatted and appended as one row (sheet.max_row scans every cell).
    for values in rows:
        cells = []
        for value, number_format in zip(values, formats, strict=True):
            cell = Cell(sheet, value=_cell_value(value))
            _keep_text(cell)
            if number_format and cell.value is not None:
                cell.number_format = number_format
            cells.append(cell)
        sheet.append(cells)
    sheet.freeze_panes = "A2"
    if rows:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(rows) + 1}"
    for column, header in enumerate(headers, start=1):
        longest = max([len(str(header))] + [len(str(values[column - 1])) for values in rows[:200]])
        sheet.column_dimensions[get_column_letter(column)].width = min(max(longest + 2, 10), 60)


def _cell_value(value: Any) -> Any:
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, (Decimal, int, bool, date)) or value is None:
        return value
    return str(value)


def _text(value: str) -> str:
    # Control characters are invalid in the XML of a sheet: drop them rather than fail the run.
    return ILLEGAL_CHARACTERS_RE.sub("", value)


def _keep_text(cell: Cell) -> None:
    # openpyxl turns any string starting with "=" into a formula: names stay text.
    if isinstance(cell.value, str) and cell.value.startswith("="):
        cell.data_type = "s"
