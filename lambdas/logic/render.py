"""The report as an email: HTML (Jinja2, autoescaped, CSS inlined), plain text and CSV.

Pure: a report in, strings out. The HTML needs no JavaScript and no SVG: the daily trend is
a row of table cells whose heights are the bars, which every mail client renders.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path

import css_inline
from babel.numbers import format_currency
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from lambdas.logic.cost_data import CostRow
from lambdas.models.report import DailyPoint, Period, Report, ServiceLine

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
TOP_SERVICES = 8
CHART_HEIGHT_PX = 96
LOCALE = "en_US"
METRIC_LABELS = {
    "UnblendedCost": "Unblended cost",
    "AmortizedCost": "Amortized cost",
    "NetAmortizedCost": "Net amortized cost",
}


def money(amount: Decimal, currency: str) -> str:
    return format_currency(amount, currency, locale=LOCALE)


def signed_money(amount: Decimal, currency: str) -> str:
    sign = "+" if amount > 0 else ("−" if amount < 0 else "±")
    return sign + money(abs(amount), currency)


def signed_percent(value: Decimal | None) -> str:
    if value is None:
        return "new"
    sign = "+" if value > 0 else ("−" if value < 0 else "±")
    return f"{sign}{abs(value)}%"


def period_label(period: Period) -> str:
    start, end = period.start, period.end
    if start == end:
        return f"{end.day} {end:%B %Y}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{end.day} {end:%B %Y}"
    if start.year == end.year:
        return f"{start.day} {start:%b} – {end.day} {end:%b %Y}"
    return f"{start.day} {start:%b %Y} – {end.day} {end:%b %Y}"


@dataclass(frozen=True)
class Bar:
    label: str
    title: str
    height: int
    estimated: bool
    weekend: bool
    negative: bool


def trend_bars(daily: list[DailyPoint], currency: str) -> list[Bar]:
    peak = max((abs(point.amount) for point in daily), default=Decimal("0"))
    # While the whole month is an estimate (the usual case before the bill closes) marking every
    # bar says nothing; the note above the chart says it. Mark estimated days only among final ones.
    mark_estimates = not all(point.estimated for point in daily)
    bars = []
    for index, point in enumerate(daily):
        height = 0 if peak == 0 else int((abs(point.amount) / peak * CHART_HEIGHT_PX).to_integral_value(ROUND_HALF_UP))
        show_label = index in (0, len(daily) - 1) or point.date.day % 7 == 1
        bars.append(
            Bar(
                label=str(point.date.day) if show_label else "",
                title=f"{point.date:%a %d %b}: {money(point.amount, currency)}"
                + (" (estimated)" if point.estimated else ""),
                height=max(height, 1) if point.amount != 0 else 0,
                estimated=point.estimated and mark_estimates,
                weekend=point.date.weekday() >= 5,
                negative=point.amount < 0,
            )
        )
    return bars


@dataclass(frozen=True)
class ServiceRow:
    name: str
    amount: str
    previous: str
    change: str
    change_class: str
    share: int


def service_rows(report: Report, limit: int = TOP_SERVICES) -> list[ServiceRow]:
    lines = list(report.by_service[:limit])
    rest = report.by_service[limit:]
    if rest:
        lines.append(
            ServiceLine(
                name=f"{len(rest)} other services",
                amount=sum((line.amount for line in rest), Decimal("0")),
                previous_amount=sum((line.previous_amount for line in rest), Decimal("0")),
            )
        )
    top = max((line.amount for line in lines), default=Decimal("0"))
    rows = []
    for line in lines:
        change = line.change
        rows.append(
            ServiceRow(
                name=line.name,
                amount=money(line.amount, report.currency),
                previous=money(line.previous_amount, report.currency),
                change=signed_money(change, report.currency),
                change_class="up" if change > 0 else ("down" if change < 0 else "flat"),
                share=0 if top <= 0 else max(int(line.amount / top * 100), 0),
            )
        )
    return rows


def subject(report: Report) -> str:
    change = signed_percent(report.change_percent)
    return (
        f"{report.client_name}: AWS costs {period_label(report.period)} "
        f"{money(report.total, report.currency)} ({change} vs previous period)"
    )


@lru_cache(maxsize=1)
def _environment() -> Environment:
    # Autoescape on for every template: client and service names are untrusted text.
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined, trim_blocks=True)
    env.filters["money"] = money
    env.filters["signed_money"] = signed_money
    env.filters["signed_percent"] = signed_percent
    env.filters["period"] = period_label
    return env


@lru_cache(maxsize=1)
def _inliner() -> css_inline.CSSInliner:
    return css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


def render_html(report: Report) -> str:
    html = (
        _environment()
        .get_template("report.html.j2")
        .render(
            report=report,
            subject=subject(report),
            metric_label=METRIC_LABELS.get(report.metric, report.metric),
            bars=trend_bars(report.daily, report.currency),
            chart_height=CHART_HEIGHT_PX,
            services=service_rows(report),
            budget_percent=_budget_percent(report),
            estimate_note=estimate_note(report),
        )
    )
    return _inliner().inline(html)


def estimate_note(report: Report) -> str | None:
    if not report.estimated:
        return None
    if all(point.estimated for point in report.daily):
        return "All figures are estimates until AWS finalises this month's bill; they may still change."
    return "Figures of recent days are estimates; AWS may restate them until the month's bill is final."


def _budget_percent(report: Report) -> int | None:
    if report.budget is None or report.budget <= 0:
        return None
    basis = report.forecast if report.forecast is not None else report.total
    return int((basis / report.budget * 100).to_integral_value(ROUND_HALF_UP))


def render_text(report: Report) -> str:
    """The plain-text alternative: the same facts, readable in any mail client."""
    cur = report.currency
    lines = [
        subject(report),
        "",
        f"Total {period_label(report.period)}: {money(report.total, cur)}",
        f"Same days last period ({period_label(report.previous_period)}): {money(report.previous_total, cur)}",
        f"Change: {signed_money(report.change_amount, cur)} ({signed_percent(report.change_percent)})",
    ]
    if report.forecast is not None:
        lines.append(f"Forecast to month end: {money(report.forecast, cur)}. {report.forecast_method}")
    if report.budget is not None:
        lines.append(f"Budget: {money(report.budget, cur)} ({_budget_percent(report)}% used by the forecast)")
    note = estimate_note(report)
    if note:
        lines.append(note)
    lines += ["", "Top services", "------------"]
    for row in service_rows(report):
        lines.append(f"{row.name}: {row.amount} (was {row.previous}, {row.change})")
    lines += ["", "Accounts", "--------"]
    for account in report.by_account:
        lines.append(f"{account.name} ({account.account_id}): {money(account.amount, cur)}")
    lines += ["", "Daily", "-----"]
    for point in report.daily:
        mark = " (estimated)" if point.estimated else ""
        lines.append(f"{point.date:%a %d %b}: {money(point.amount, cur)}{mark}")
    lines += [
        "",
        f"{METRIC_LABELS.get(report.metric, report.metric)} in {cur}, as of {report.as_of}. "
        f"Cost Explorer requests for this report: {report.ce_requests}. Run {report.run_id}.",
    ]
    return "\n".join(lines) + "\n"


def render_csv(report: Report, rows: Iterable[CostRow]) -> str:
    """Daily cost of the report period by account and service (one row each)."""
    names = {line.account_id: line.name for line in report.by_account}
    estimated = {point.date for point in report.daily if point.estimated}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["date", "account_id", "account_name", "service", "amount", "currency", "estimated"])
    in_period = sorted(
        (row for row in rows if report.period.contains(row.day)),
        key=lambda row: (row.day, row.account_id, row.service),
    )
    for row in in_period:
        writer.writerow(
            [
                row.day.isoformat(),
                row.account_id,
                _csv_safe(names.get(row.account_id, row.account_id)),
                _csv_safe(row.service),
                str(row.amount),
                report.currency,
                "true" if row.day in estimated else "false",
            ]
        )
    return out.getvalue()


def _csv_safe(value: str) -> str:
    # A cell starting with = + - @ runs as a formula in a spreadsheet: neutralise it.
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
