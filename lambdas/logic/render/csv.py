"""The CSV attachment: the period's cost by day, account and service, one row each, and the span
of data the attachments cover (the workbook shows the same rows)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import date
from operator import attrgetter

from lambdas.logic.cost_data import CostRow
from lambdas.models.report import Period, Report


def render_csv(report: Report, rows: Iterable[CostRow]) -> str:
    """The period's cost by day (month, for monthly reports), account and service, one row each."""
    names = {line.account_id: _csv_safe(line.name) for line in report.by_account}
    flags = {point.date: "true" if point.estimated else "false" for point in report.daily}
    unknown = "true" if report.estimated else "false"  # a day the chart does not show
    services: dict[str, str] = {}
    days: dict[date, tuple[str, str]] = {}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", "account_id", "account_name", "service", "amount", "currency", "estimated"])
    currency = report.currency
    for row in rows_in_span(report, rows):
        day = days.get(row.day)
        if day is None:
            day = days[row.day] = (row.day.isoformat(), flags.get(row.day, unknown))
        service = services.get(row.service)
        if service is None:
            service = services[row.service] = _csv_safe(row.service)
        account = row.account_id
        name = names.get(account)
        if name is None:
            name = names[account] = _csv_safe(account)
        writer.writerow((day[0], account, name, service, str(row.amount), currency, day[1]))
    return out.getvalue()


def data_span(report: Report) -> Period:
    """The days the attachments' rows cover: the reported period (its detail by service and account;
    the chart and the comparison are in the email and report.json)."""
    return report.period


def rows_in_span(report: Report, rows: Iterable[CostRow]) -> list[CostRow]:
    span = data_span(report)
    first, last = span.start, span.end
    return sorted((row for row in rows if first <= row.day <= last), key=attrgetter("day", "account_id", "service"))


def _csv_safe(value: str) -> str:
    # A cell starting with = + - @ runs as a formula in a spreadsheet: neutralise it.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
