"""The report as an email: HTML (Jinja2, autoescaped, CSS inlined), plain text and CSV.

Pure: a report in, strings out. `email_view` turns a Report into the words and figures a
recipient reads, once; the HTML template, the plain-text alternative, the subject and the
Slack/Teams summaries (channels.py) all show that one view, so no channel says something
another does not. The HTML needs no JavaScript, SVG or image: charts are table cells whose
sizes are the bars, which every mail client renders.

Amounts are formatted with Babel in the client's currency and locale; the words and dates are
English (the product's language), so only numbers change with the locale.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from functools import lru_cache
from operator import attrgetter
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import css_inline
from babel import Locale
from babel.dates import format_date
from babel.numbers import format_currency, format_percent, get_currency_precision
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from lambdas.logic.cost_data import CostRow
from lambdas.logic.periods import month_last_day
from lambdas.logic.queries import PRICE_PER_REQUEST_USD
from lambdas.logic.report import percent_change
from lambdas.models.report import DailyPoint, Period, Report, ServiceLine

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
TOP_SERVICES = 8
TOP_ACCOUNTS = 12  # a payer's hundreds of accounts: the biggest, then one line for the rest (all in the CSV)
CHART_HEIGHT_PX = 110
DRIVERS_SHOWN = 2
KEY_AGE_WARN_DAYS = 60  # the runbook's credential-age warning threshold
MINUS = "−"  # U+2212: a true minus, the same width as +
ZERO = Decimal("0")
METRIC_LABELS = {
    "UnblendedCost": "Unblended cost",
    "AmortizedCost": "Amortized cost",
    "NetAmortizedCost": "Net amortized cost",
    "BlendedCost": "Blended cost",
    "NetUnblendedCost": "Net unblended cost",
}
SCHEDULE_LABELS = {"daily": "Daily", "weekly": "Weekly", "monthly": "Monthly"}
ATTACHMENT_NAMES = {"csv": "a CSV of the period's cost by account and service", "xlsx": "an Excel workbook"}


# --------------------------------------------------------------------------------------------------
# Numbers and dates
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Formatter:
    """Amounts and percentages in one currency and locale (Babel's CLDR data)."""

    currency: str
    locale: str = "en_US"

    def money(self, amount: Decimal) -> str:
        # Round first, so that -0.001 shows as $0.00, not −$0.00.
        rounded = self.rounded(amount)
        text = format_currency(abs(rounded), self.currency, locale=_locale(self.locale))
        return MINUS + text if rounded < 0 else text

    def signed(self, amount: Decimal) -> str:
        rounded = self.rounded(amount)
        return _sign(rounded) + self.money(abs(rounded))

    def rounded(self, amount: Decimal) -> Decimal:
        """The amount as shown: rounded to the currency's precision."""
        return amount.quantize(Decimal(1).scaleb(-get_currency_precision(self.currency)), ROUND_HALF_EVEN)

    def percent(self, value: Decimal | None) -> str:
        """A signed percent change (value already in percent, e.g. -2.6); 'new' without a base."""
        if value is None:
            return "new"
        pattern = _percent_pattern(self.locale)
        return _sign(value) + format_percent(abs(value) / 100, format=pattern, locale=_locale(self.locale))

    def share(self, part: Decimal, whole: Decimal) -> str:
        """Unsigned whole percent, e.g. '124%'."""
        return format_percent(part / whole, locale=_locale(self.locale)) if whole else "—"


def _sign(value: Decimal) -> str:
    return "+" if value > 0 else (MINUS if value < 0 else "±")


@lru_cache(maxsize=32)
def _locale(name: str) -> Locale:
    # Parsed once: Babel parses a locale given by name on every call (a report formats hundreds of figures).
    return Locale.parse(name)


@lru_cache(maxsize=32)
def _percent_pattern(locale: str) -> str:
    # The locale's own percent pattern (e.g. "#,##0 %" in de_DE) with one decimal.
    pattern = _locale(locale).percent_formats[None].pattern
    return pattern.replace("#,##0", "#,##0.0", 1) if "#,##0" in pattern else "#,##0.0%"


def money(amount: Decimal, currency: str, locale: str = "en_US") -> str:
    return Formatter(currency, locale).money(amount)


def _date(day: date, pattern: str) -> str:
    return format_date(day, pattern, locale=_locale("en"))


def day_label(day: date) -> str:
    return _date(day, "EEE d MMMM y")


def short_day(day: date) -> str:
    return _date(day, "EEE d MMM")


def month_label(day: date) -> str:
    return _date(day, "MMMM y")


def period_label(period: Period) -> str:
    start, end = period.start, period.end
    if start == end:
        return f"{end.day} {month_label(end)}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{end.day} {month_label(end)}"
    if start.year == end.year:
        return f"{start.day} {_date(start, 'MMM')} – {end.day} {_date(end, 'MMM y')}"
    return f"{start.day} {_date(start, 'MMM y')} – {end.day} {_date(end, 'MMM y')}"


def is_whole_month(period: Period) -> bool:
    return period.start.day == 1 and period.end == month_last_day(period.start)


def _tone(change: Decimal) -> str:
    # Costs going up is what a reader must notice: "up" is red, "down" green.
    return "up" if change > 0 else ("down" if change < 0 else "flat")


# --------------------------------------------------------------------------------------------------
# The view: what the recipient reads, in every channel
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    label: str
    amount: str
    note: str = ""


@dataclass(frozen=True)
class Headline:
    title: str  # "Yesterday, Thu 26 November 2026"
    phrase: str  # "yesterday": how the subject line says it
    total: str
    change: str  # "+$56.00 (+3.1%)"
    change_percent: str
    tone: str
    comparison: str  # "vs $1,809.12 on Wed 25 November 2026"
    drivers: str  # "Most of the increase: Amazon EC2 +$810.34, Amazon RDS +$681.54." or ""
    extra: tuple[Figure, ...]


@dataclass(frozen=True)
class BudgetView:
    amount: str
    basis: str  # "Forecast" | "Spend" | "Month to date"
    percent: int
    fill: int  # width of the bar, 0..100
    over: bool  # the basis or the spend so far is over the budget
    status: str  # "$10,840.70 over" | "$3,120.00 left"
    # What the month has already spent, once that alone is over the budget, else "":
    exceeded: str  # "Already over budget: month to date is $3,257.79 over the $45,000.00 budget (107%)."
    caption: str  # "Forecast is 124% of the budget: $10,840.70 over."; "" when `exceeded` says it already
    alert: str  # how the subject says it: "over budget: month to date 107%", "forecast 124% of budget" or ""


@dataclass(frozen=True)
class ForecastView:
    month: str
    amount: str
    method: str


@dataclass(frozen=True)
class Row:
    """One line of a table of amounts: a service, an account, a tag value."""

    name: str
    detail: str
    amount: str
    previous: str
    change: str
    change_percent: str
    tone: str
    share: int  # bar width, 0..100, against the largest line


@dataclass(frozen=True)
class Mover:
    name: str
    change: str
    change_percent: str
    amount: str
    previous: str


@dataclass(frozen=True)
class Bar:
    label: str
    title: str
    height: int
    style: str  # weekday | weekend | estimated | anomaly | credit


@dataclass(frozen=True)
class Band:
    """A run of consecutive bars under one label (the reported period, the one compared)."""

    days: int
    label: str
    style: str  # current | previous | "" (unlabelled)


@dataclass(frozen=True)
class Chart:
    title: str
    bars: tuple[Bar, ...]
    bands: tuple[Band, ...]
    legend: tuple[tuple[str, str], ...]  # (style, label) of the styles shown
    peak: str
    summary: str
    points: tuple[str, ...]  # one line per day, for the plain text: "Sat 14 Nov: $4,147.46 (anomaly)"
    height: int = CHART_HEIGHT_PX


@dataclass(frozen=True)
class TrendRow:
    month: str
    amount: str
    change_percent: str
    tone: str
    share: int
    note: str  # "estimated", "to date"


@dataclass(frozen=True)
class AnomalyView:
    day: str
    amount: str
    expected: str
    rule: str
    service: str | None
    # Before the report's period: an earlier report of this client already showed it (a daily
    # report looks back over the month, so a spike would otherwise lead every email after it).
    earlier: bool = False


@dataclass(frozen=True)
class CreditsView:
    rows: tuple[Row, ...]
    total: str
    included: bool
    note: str


@dataclass(frozen=True)
class RestatementView:
    sent_total: str
    final_total: str
    change: str
    tone: str
    summary: str
    services: tuple[Row, ...]


@dataclass(frozen=True)
class BreakdownView:
    title: str
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class ArchiveLink:
    url: str
    expiry: str  # "The link expires 7 days after this email was sent." or ""


@dataclass(frozen=True)
class EmailView:
    subject: str
    partial: str  # "" for a complete report; else what it leaves out, said first
    preheader: str
    eyebrow: str
    client_name: str
    period: str
    metric_label: str
    currency: str
    headline: Headline
    forecast: ForecastView | None
    budget: BudgetView | None
    budget_note: str
    estimate_note: str | None
    notes: tuple[str, ...]
    restatement: RestatementView | None
    anomalies: tuple[AnomalyView, ...]
    movers_up: tuple[Mover, ...]
    movers_down: tuple[Mover, ...]
    chart: Chart | None
    trend: tuple[TrendRow, ...]
    services_title: str  # "Top services", "Top services before credits and refunds"
    services: tuple[Row, ...]
    accounts_title: str
    accounts: tuple[Row, ...]
    breakdown: BreakdownView | None
    credits: CreditsView | None
    coverage: tuple[str, ...]
    archive: ArchiveLink | None
    footer: str
    period_column: str
    previous_column: str


def email_view(report: Report, attachments: Sequence[str] = ("csv",)) -> EmailView:
    """Everything the email says, as strings: built once, shown by every template and channel."""
    fmt = Formatter(report.currency, report.locale)
    headline = _headline(report, fmt)
    forecast = _forecast(report, fmt)
    budget = _budget(report, fmt)
    metric = METRIC_LABELS.get(report.metric, report.metric)
    before_credits = _before_credits(report)
    return EmailView(
        subject=_subject(report, headline, budget),
        partial=_partial(report),
        preheader=_preheader(headline, forecast, budget),
        eyebrow=_eyebrow(report),
        client_name=report.client_name,
        period=period_label(report.period),
        metric_label=metric,
        currency=report.currency,
        headline=headline,
        forecast=forecast,
        budget=budget,
        budget_note="" if budget else "No monthly budget is set for this client.",
        estimate_note=estimate_note(report),
        notes=(*report.notes, *_corrections(report, fmt)),
        restatement=_restatement(report, fmt),
        anomalies=tuple(_anomalies(report, fmt)),
        movers_up=tuple(_mover(line, fmt) for line in report.movers_up),
        movers_down=tuple(_mover(line, fmt) for line in report.movers_down),
        chart=_chart(report, fmt, before_credits),
        trend=tuple(_trend(report, fmt)),
        services_title="Top services" + before_credits,
        services=tuple(_service_rows(report, fmt)),
        accounts_title="Accounts" + before_credits,
        accounts=tuple(_account_rows(report, fmt)),
        breakdown=_breakdown(report, fmt),
        credits=_credits(report, fmt, headline),
        coverage=tuple(_coverage(report)),
        archive=_archive(report.archive_url, report.generated_at),
        footer=_footer(report, metric, attachments),
        period_column=_column_label(report.period),
        previous_column=_column_label(report.previous_period),
    )


def _eyebrow(report: Report) -> str:
    if report.kind == "final":
        return "Final AWS bill"
    if report.kind == "manual":
        return "AWS cost report (on request)"
    return f"{SCHEDULE_LABELS.get(report.schedule, report.schedule.capitalize())} AWS cost report"


def _phrases(report: Report) -> tuple[str, str]:
    """(title, phrase) of the reported period: 'Yesterday, Thu 26 November 2026', 'yesterday'."""
    period, yesterday = report.period, report.as_of - timedelta(days=1)
    if report.kind == "final":
        return f"Final bill, {month_label(period.start)}", f"final bill {month_label(period.start)}"
    if period.days == 1:
        if period.end == yesterday:
            return f"Yesterday, {day_label(period.end)}", "yesterday"
        return day_label(period.end), f"on {short_day(period.end)}"
    if is_whole_month(period):
        return month_label(period.start), f"in {month_label(period.start)}"
    if period.end == yesterday and period.days == 7:
        return f"Last 7 days, {period_label(period)}", "in the last 7 days"
    if period.end == yesterday and period.start.day == 1:
        return f"Month to date, {period_label(period)}", "month to date"
    return period_label(period), f"in {period_label(period)}"


def _comparison(period: Period) -> str:
    if period.days == 1:
        return f"on {day_label(period.end)}"
    if is_whole_month(period):
        return f"in {month_label(period.start)}"
    return f"for {period_label(period)}"


def _column_label(period: Period) -> str:
    """A table column's heading: short enough for a 110 px column."""
    start, end = period.start, period.end
    if period.days == 1:
        return short_day(end)
    if is_whole_month(period):
        return _date(start, "MMM y")
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{end.day} {_date(end, 'MMM')}"
    return f"{start.day} {_date(start, 'MMM')} – {end.day} {_date(end, 'MMM')}"


def _headline(report: Report, fmt: Formatter) -> Headline:
    title, phrase = _phrases(report)
    extra: list[Figure] = []
    mtd_already = report.period.start.day == 1 and not is_whole_month(report.period)
    if report.month_to_date is not None and not mtd_already:
        month_start = report.period.end.replace(day=1)
        extra.append(
            Figure(
                label="Month to date",
                amount=fmt.money(report.month_to_date),
                note=period_label(Period(start=month_start, end=report.period.end)),
            )
        )
    change_percent = fmt.percent(report.change_percent)
    return Headline(
        title=title,
        phrase=phrase,
        total=fmt.money(report.total),
        change=f"{fmt.signed(report.change_amount)} ({change_percent})",
        change_percent=change_percent,
        tone=_tone(report.change_amount),
        comparison=f"vs {fmt.money(report.previous_total)} {_comparison(report.previous_period)}",
        drivers=_drivers(report, fmt),
        extra=tuple(extra),
    )


def _drivers(report: Report, fmt: Formatter) -> str:
    """Why the total moved, in one line: the biggest movers in the direction of the change."""
    if report.change_amount > 0:
        lines, word = [line for line in report.movers_up if line.change > 0], "increase"
    elif report.change_amount < 0:
        lines, word = [line for line in report.movers_down if line.change < 0], "decrease"
    else:
        return ""
    if not lines:
        return ""
    names = ", ".join(f"{line.name} {fmt.signed(line.change)}" for line in lines[:DRIVERS_SHOWN])
    return f"Biggest {word}{'s' if len(lines[:DRIVERS_SHOWN]) > 1 else ''}: {names}."


def _forecast(report: Report, fmt: Formatter) -> ForecastView | None:
    if report.forecast is None:
        return None
    return ForecastView(
        month=month_label(report.period.end),
        amount=fmt.money(report.forecast),
        method=report.forecast_method or "Method not stated.",
    )


def _budget(report: Report, fmt: Formatter) -> BudgetView | None:
    """The monthly budget against the best figure for the whole month (the forecast while the
    month runs, else what it has spent), and, once what it has spent is over the budget already,
    a line that says so plainly: a forecast is a guess, money spent is not."""
    if report.budget is None or report.budget <= 0:
        return None
    budget, spent = report.budget, _spent(report)
    if report.forecast is not None:
        basis, label = report.forecast, "Forecast"
    elif spent is not None:
        basis, label = spent.amount, spent.label
    else:
        return None
    percent = _percent_of(basis, budget)
    amount = fmt.money(budget)
    gap = fmt.money(abs(basis - budget))
    status = f"{gap} over" if basis > budget else f"{gap} left"
    caption = f"{label} is {percent}% of the budget: {status}."
    alert = f"{label.lower()} {percent}% of budget" if basis > budget else ""
    exceeded = ""
    # Compared as shown (rounded to the currency), so the email never says "$0.00 over".
    if spent is not None and fmt.rounded(spent.amount) > budget:
        spent_percent, over_by = _percent_of(spent.amount, budget), fmt.money(spent.amount - budget)
        if spent.complete:
            exceeded = (
                f"Over budget: {month_label(spent.month)}'s spend was {over_by} "
                f"over the {amount} budget ({spent_percent}%)."
            )
            alert = f"over budget: spend {spent_percent}%"
        else:
            exceeded = f"Already over budget: month to date is {over_by} over the {amount} budget ({spent_percent}%)."
            alert = f"over budget: month to date {spent_percent}%"
        if report.forecast is None:
            caption = ""  # the bar shows the spend itself: the line above said it all
    return BudgetView(
        amount=amount,
        basis=label,
        percent=percent,
        fill=100 if exceeded else max(0, min(percent, 100)),
        over=basis > budget or bool(exceeded),
        status=status,
        exceeded=exceeded,
        caption=caption,
        alert=alert,
    )


@dataclass(frozen=True)
class _Spent:
    amount: Decimal
    label: str  # "Spend" (a whole month reported) | "Month to date"
    month: date  # first day
    complete: bool  # the month is over


def _spent(report: Report) -> _Spent | None:
    """What the month of the report's last day has cost so far, when the report says."""
    period, month = report.period, report.period.end.replace(day=1)
    complete = period.end == month_last_day(period.end)
    if is_whole_month(period):
        return _Spent(report.total, "Spend", month, True)
    if report.month_to_date is not None:
        return _Spent(report.month_to_date, "Month to date", month, complete)
    if period.start == month:  # the period itself is the month so far
        return _Spent(report.total, "Month to date", month, complete)
    return None


def _percent_of(amount: Decimal, budget: Decimal) -> int:
    return int((amount / budget * 100).to_integral_value(ROUND_HALF_UP))


def _partial(report: Report) -> str:
    if report.complete:
        return ""
    return (
        "Partial report: some of this period's costs could not be read from Cost Explorer, so the totals "
        f"below are incomplete ({'; '.join(report.missing)})."
    )


def _corrections(report: Report, fmt: Formatter) -> list[str]:
    return [
        f"{day_label(c.date)} was shown while Cost Explorer was still filling it in, at {fmt.money(c.reported)}; "
        f"it came to {fmt.money(c.settled)} ({fmt.signed(c.change)})."
        for c in report.corrections
    ]


def _subject(report: Report, headline: Headline, budget: BudgetView | None) -> str:
    if report.restatement is not None:
        change = Formatter(report.currency, report.locale).signed(report.restatement.change_amount)
        text = f"{report.client_name}: AWS {headline.phrase} {headline.total} ({change} vs the estimate sent)"
    else:
        text = f"{report.client_name}: AWS costs {headline.total} {headline.phrase} ({headline.change_percent})"
        if report.month_to_date is not None and headline.extra:
            text += f", {headline.extra[0].amount} month to date"
    if budget is not None and budget.alert:
        text += f" · {budget.alert}"
    return text if report.complete else f"Partial report (incomplete): {text}"


def _preheader(headline: Headline, forecast: ForecastView | None, budget: BudgetView | None) -> str:
    # The preview line mail clients show next to the subject.
    parts = [f"{headline.total} {headline.phrase}, {headline.change} {headline.comparison}"]
    if forecast is not None:
        parts.append(f"forecast {forecast.amount} for {forecast.month}")
    if budget is not None and budget.exceeded:
        parts.append(budget.exceeded[0].lower() + budget.exceeded[1:].rstrip("."))
    elif budget is not None:
        parts.append(f"{budget.basis.lower()} is {budget.percent}% of the {budget.amount} budget")
    return "; ".join(parts) + "."


def estimate_note(report: Report) -> str | None:
    if not report.estimated:
        return None
    if report.daily and all(point.estimated for point in report.daily):
        bills, _ = _bills(sorted({point.date.replace(day=1) for point in report.daily}))
        return f"All figures are estimates until AWS finalises {bills}; they may still change."
    estimated = {point.date.replace(day=1) for point in report.daily if point.estimated}
    bills, verb = _bills(sorted(estimated or {report.period.start.replace(day=1), report.period.end.replace(day=1)}))
    return f"Figures of recent days (marked) are estimates; AWS may restate them until {bills} {verb} final."


def _bills(months: Sequence[date]) -> tuple[str, str]:
    """The bills of these months, named (a report about October, sent in November, must not say
    "this month's bill"), and the verb that goes with them."""
    if len(months) == 1:
        return f"{month_label(months[0])}'s bill", "is"
    return f"the {_join([month_label(month) for month in months])} bills", "are"


def _join(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _peak(amounts: Iterable[Decimal]) -> Decimal:
    return max((max(amount, ZERO) for amount in amounts), default=ZERO)


def _row(
    name: str, detail: str, amount: Decimal, previous: Decimal, fmt: Formatter, peak: Decimal, *, tone: bool = True
) -> Row:
    change = amount - previous
    return Row(
        name=name,
        detail=detail,
        amount=fmt.money(amount),
        previous=fmt.money(previous),
        change=fmt.signed(change),
        change_percent=fmt.percent(percent_change(amount, previous)) if amount or previous else "",
        tone=_tone(change) if tone else "flat",
        share=0 if peak <= 0 else max(int(max(amount, ZERO) / peak * 100), 0),
    )


def _service_rows(report: Report, fmt: Formatter, limit: int = TOP_SERVICES) -> list[Row]:
    lines = list(report.by_service[:limit])
    rest = report.by_service[limit:]
    if len(rest) == 1:
        lines.append(rest[0])
    elif rest:
        lines.append(
            ServiceLine(
                name=f"{len(rest)} other services",
                amount=sum((line.amount for line in rest), ZERO),
                previous_amount=sum((line.previous_amount for line in rest), ZERO),
            )
        )
    peak = _peak(line.amount for line in lines)
    return [_row(line.name, "", line.amount, line.previous_amount, fmt, peak) for line in lines]


def _account_rows(report: Report, fmt: Formatter, limit: int = TOP_ACCOUNTS) -> list[Row]:
    shown = report.by_account if len(report.by_account) <= limit + 1 else report.by_account[:limit]
    rest = report.by_account[len(shown) :]
    peak = _peak(line.amount for line in shown)
    rows = [_row(line.name, line.account_id, line.amount, line.previous_amount, fmt, peak) for line in shown]
    if rest:
        amount = sum((line.amount for line in rest), ZERO)
        previous = sum((line.previous_amount for line in rest), ZERO)
        rows.append(_row(f"{len(rest)} other accounts", "in the CSV attachment", amount, previous, fmt, peak))
    return rows


def _mover(line: ServiceLine, fmt: Formatter) -> Mover:
    return Mover(
        name=line.name,
        change=fmt.signed(line.change),
        change_percent=fmt.percent(percent_change(line.amount, line.previous_amount)),
        amount=fmt.money(line.amount),
        previous=fmt.money(line.previous_amount),
    )


_BAR_LABELS = {
    "weekday": "weekday",
    "weekend": "weekend",
    "estimated": "estimated",
    "provisional": "still filling in",
    "anomaly": "anomaly",
    # Bars are before credits and refunds (report.py), so a bar below zero is not "a credit":
    # say only what it is.
    "credit": "below zero",
}


def _chart(report: Report, fmt: Formatter, before_credits: str = "") -> Chart | None:
    daily = report.daily
    if not daily:
        return None
    peak = max(abs(point.amount) for point in daily)
    anomalous = {anomaly.date for anomaly in report.anomalies}
    # While the whole month is an estimate (the usual case before the bill closes) marking every
    # bar says nothing; the note above the chart says it. Mark estimated days only among final ones.
    mark_estimates = not all(point.estimated for point in daily)
    bars = []
    for index, point in enumerate(daily):
        if point.date in anomalous:
            style = "anomaly"
        elif point.provisional:
            style = "provisional"
        elif point.amount < 0:
            style = "credit"
        elif point.estimated and mark_estimates:
            style = "estimated"
        else:
            style = "weekend" if point.date.weekday() >= 5 else "weekday"
        height = 0 if peak == 0 else int((abs(point.amount) / peak * CHART_HEIGHT_PX).to_integral_value(ROUND_HALF_UP))
        bars.append(
            Bar(
                label=_axis_label(point.date, index, len(daily)),
                title=f"{short_day(point.date)}: {fmt.money(point.amount)}"
                + (" (still filling in)" if point.provisional else " (estimated)" if point.estimated else ""),
                height=max(height, 1) if point.amount != 0 else 0,
                style=style,
            )
        )
    shown = {bar.style for bar in bars}
    legend = tuple((style, label) for style, label in _BAR_LABELS.items() if style in shown)
    average = sum((point.amount for point in daily), ZERO) / len(daily)
    high = max(daily, key=lambda point: (point.amount, point.date))
    low = min(daily, key=lambda point: (point.amount, point.date))
    summary = (
        f"Daily average {fmt.money(average)}; highest {short_day(high.date)}, {fmt.money(high.amount)}; "
        f"lowest {short_day(low.date)}, {fmt.money(low.amount)}."
    )
    span = Period(start=daily[0].date, end=daily[-1].date)
    return Chart(
        title=f"Daily cost{before_credits}, {period_label(span)}",
        bars=tuple(bars),
        bands=_bands(report, [point.date for point in daily]),
        legend=legend,
        peak=fmt.money(peak),
        summary=summary,
        points=tuple(
            _point_line(point, fmt, point.estimated and mark_estimates, point.date in anomalous) for point in daily
        ),
    )


def _point_line(point: DailyPoint, fmt: Formatter, estimated: bool, anomaly: bool) -> str:
    flags = (("still filling in", point.provisional), ("estimated", estimated), ("anomaly", anomaly))
    marks = ", ".join(mark for mark, applies in flags if applies)
    return f"{short_day(point.date)}: {fmt.money(point.amount)}" + (f" ({marks})" if marks else "")


def _bands(report: Report, days: list[date]) -> tuple[Band, ...]:
    """Label the bars of the reported period and of the period it is compared with, when the
    chart shows both whole (a weekly chart of 14 days); a single day needs no band."""
    current, previous = report.period, report.previous_period
    shown = set(days)
    both_whole = all(
        period.days > 1 and period.start in shown and period.end in shown for period in (current, previous)
    )
    if not both_whole:
        return ()
    bands: list[Band] = []
    for day in days:
        style = "current" if current.contains(day) else ("previous" if previous.contains(day) else "")
        if bands and bands[-1].style == style:
            bands[-1] = Band(days=bands[-1].days + 1, label=bands[-1].label, style=style)
        else:
            label = {"current": period_label(current), "previous": f"{period_label(previous)} (compared)"}
            bands.append(Band(days=1, label=label.get(style, ""), style=style))
    return tuple(bands)


def _axis_label(day: date, index: int, count: int) -> str:
    if count <= 10:
        return _date(day, "EEE d")
    if count <= 16 or index in (0, count - 1) or day.day % 7 == 1:
        return str(day.day)
    return ""


def _trend(report: Report, fmt: Formatter) -> list[TrendRow]:
    points = report.monthly_trend
    peak = max((point.amount for point in points), default=ZERO)
    current_month = report.as_of.replace(day=1)
    rows = []
    previous: Decimal | None = None
    for point in points:
        notes = []
        if point.month >= current_month:
            notes.append("to date")
        if point.estimated:
            notes.append("estimated")
        change = percent_change(point.amount, previous) if previous is not None else None
        rows.append(
            TrendRow(
                month=_date(point.month, "MMM y"),
                amount=fmt.money(point.amount),
                change_percent=fmt.percent(change) if previous is not None else "",
                tone=_tone(point.amount - previous) if previous is not None else "flat",
                share=0 if peak <= 0 else max(int(max(point.amount, ZERO) / peak * 100), 0),
                note=", ".join(notes),
            )
        )
        previous = point.amount
    return rows


def _anomalies(report: Report, fmt: Formatter) -> list[AnomalyView]:
    """The period's own anomalies first, then the earlier ones, each group in date order."""
    views = [
        AnomalyView(
            day=day_label(anomaly.date),
            amount=fmt.money(anomaly.amount),
            expected=f"{fmt.money(anomaly.expected_low)} – {fmt.money(anomaly.expected_high)}",
            rule=_sentence(anomaly.rule),
            service=anomaly.service,
            earlier=anomaly.date < report.period.start,
        )
        for anomaly in sorted(report.anomalies, key=lambda anomaly: anomaly.date)
    ]
    return sorted(views, key=lambda view: view.earlier)  # stable: dates stay in order within each group


def _sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?" else text + "."


def _breakdown(report: Report, fmt: Formatter) -> BreakdownView | None:
    breakdown = report.breakdown
    if breakdown is None or not breakdown.lines:
        return None
    if breakdown.type == "tag":
        title, missing = f"By tag “{breakdown.key}”", "(untagged)"
    else:
        title, missing = f"By cost category “{breakdown.key}”", "(uncategorised)"
    peak = _peak(line.amount for line in breakdown.lines)
    rows = tuple(
        _row(line.value or missing, "", line.amount, line.previous_amount, fmt, peak) for line in breakdown.lines
    )
    return BreakdownView(title=title, rows=rows)


def _before_credits(report: Report) -> str:
    """How the services, accounts and daily bars are qualified when they and the headline differ:
    with credits included the headline figures are net of them, but those are always before them
    (lambdas/logic/report.py); with credits excluded every figure is before them, nothing differs."""
    return " before credits and refunds" if report.credits and report.credits_included else ""


def _credits(report: Report, fmt: Formatter, headline: Headline) -> CreditsView | None:
    if not report.credits:
        return None
    total = sum((line.amount for line in report.credits), ZERO)
    rows = tuple(
        # A larger credit is a smaller cost: no red/green here, the sign says it.
        _row(line.record_type, "", line.amount, line.previous_amount, fmt, ZERO, tone=False)
        for line in report.credits
    )
    if report.credits_included:
        # Name each figure shown, net or not: the headline's are net, the tables and bars never are.
        net = ["the headline total"]
        net += [figure.label.lower() for figure in headline.extra]
        net += ["forecast"] if report.forecast is not None else []
        net += ["monthly trend"] if report.monthly_trend else []
        breakdown = _breakdown(report, fmt)
        net += [f"breakdown {breakdown.title[0].lower()}{breakdown.title[1:]}"] if breakdown else []
        gross = "The services and accounts tables" + (" and the daily bars" if report.daily else "")
        note = (
            f"Included in {_join(net)}, which are net of them. {gross} show costs before credits and refunds: "
            f"{fmt.money(report.total - total)} for the period."
        )
    else:
        note = (
            f"Not included in the totals above (this client's reports show costs before credits). "
            f"Net of them the period cost {fmt.money(report.total + total)}."
        )
    return CreditsView(rows=rows, total=fmt.money(total), included=report.credits_included, note=note)


def _restatement(report: Report, fmt: Formatter) -> RestatementView | None:
    restatement = report.restatement
    if restatement is None:
        return None
    change = restatement.change_amount
    percent = fmt.percent(percent_change(restatement.final_total, restatement.sent_total))
    summary = (
        f"The report sent earlier (run {restatement.sent_run_id}) estimated {fmt.money(restatement.sent_total)}. "
        f"AWS has finalised the bill at {fmt.money(restatement.final_total)}: {fmt.signed(change)} ({percent})."
    )
    if not restatement.services and change == 0:
        summary += " Nothing changed."
    peak = _peak(line.amount for line in restatement.services)
    return RestatementView(
        sent_total=fmt.money(restatement.sent_total),
        final_total=fmt.money(restatement.final_total),
        change=f"{fmt.signed(change)} ({percent})",
        tone=_tone(change),
        summary=summary,
        services=tuple(
            _row(line.name, "", line.amount, line.previous_amount, fmt, peak) for line in restatement.services
        ),
    )


def _coverage(report: Report) -> list[str]:
    coverage = report.coverage
    cost = Formatter("USD", report.locale)
    if coverage is None:
        return [f"Cost Explorer requests for this report: {report.ce_requests}."]
    lines = []
    expected, seen = coverage.accounts_expected, set(coverage.accounts_seen)
    missing = [account for account in expected if account not in seen]
    names = {line.account_id: line.name for line in report.by_account}
    line = f"Accounts: {len(expected) - len(missing)} of {len(expected)} expected reported costs"
    if missing:
        shown = ", ".join(
            f"{names[account]} ({account})" if names.get(account, account) != account else account
            for account in missing[:5]
        )
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        line += f"; none from {shown}{more}"
    lines.append(line + ".")
    lines.append(f"Days of data: {coverage.days_with_data} of {coverage.days_expected}.")
    price = cost.money(Decimal(PRICE_PER_REQUEST_USD))
    requests = f"Cost Explorer requests: {coverage.ce_requests} ({cost.money(coverage.ce_cost_usd)} at {price} each)"
    if coverage.cache_hits:
        requests += f"; {coverage.cache_hits} answered from the cache at no cost"
    lines.append(requests + ".")
    if coverage.key_age_days is not None:
        age = f"Stored access key age: {coverage.key_age_days} days"
        if coverage.key_age_days >= KEY_AGE_WARN_DAYS:
            age += " (due for rotation)"
        lines.append(age + ".")
    return lines


def _archive(url: str | None, signed_at: datetime) -> ArchiveLink | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        return None  # only a web link belongs in an href
    return ArchiveLink(url=url, expiry=_expiry(parse_qs(parts.query), signed_at))


def _expiry(query: dict[str, list[str]], signed_at: datetime) -> str:
    """How long a presigned link lasts, in words: SigV4 says it in seconds (X-Amz-Expires),
    SigV2 as an epoch time (Expires), read against the time the report was made."""
    relative, absolute = query.get("X-Amz-Expires", [""])[0], query.get("Expires", [""])[0]
    if relative.isdigit():
        seconds = int(relative)
    elif absolute.isdigit():
        seconds = int(absolute) - int(signed_at.timestamp())
    else:
        return ""
    if seconds <= 0:
        return ""
    hours = round(seconds / 3600)
    if hours >= 24 and hours % 24 == 0:
        amount, unit = hours // 24, "day"
    elif hours >= 1:
        amount, unit = hours, "hour"
    else:
        amount, unit = max(round(seconds / 60), 1), "minute"
    return f"The link expires {amount} {unit}{'s' if amount != 1 else ''} after this email was sent."


def _footer(report: Report, metric: str, attachments: Sequence[str]) -> str:
    attached = [ATTACHMENT_NAMES[name] for name in attachments if name in ATTACHMENT_NAMES]
    text = (
        f"{metric} in {report.currency}, from AWS Cost Explorer, as of {day_label(report.as_of)}. Run {report.run_id}."
    )
    if attached:
        text += " Attached: " + " and ".join(attached) + "."
    return text


# --------------------------------------------------------------------------------------------------
# HTML, text, CSV
# --------------------------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _environment() -> Environment:
    # Autoescape on for every template: client, account, service and tag names are untrusted text.
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined, trim_blocks=True)


@lru_cache(maxsize=1)
def _inliner() -> css_inline.CSSInliner:
    # @media rules (dark mode, narrow screens) stay in <style>; everything else moves inline.
    return css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


def render_html(report: Report, view: EmailView | None = None) -> str:
    view = view or email_view(report)
    html = _environment().get_template("report.html.j2").render(view=view, chart_height=CHART_HEIGHT_PX)
    return _inliner().inline(html)


def render_text(report: Report, view: EmailView | None = None) -> str:
    """The plain-text alternative: the same sections and figures, readable in any mail client."""
    v = view or email_view(report)
    out: list[str] = [v.client_name, f"{v.eyebrow}: {v.period} · {v.metric_label} · {v.currency}", ""]

    def section(title: str) -> None:
        out.extend(["", title.upper(), "=" * min(len(title), 60)])

    h = v.headline
    if v.partial:
        out += [v.partial, ""]
    out.append(f"{h.title}: {h.total}")
    out.append(f"  {h.change} {h.comparison}")
    if h.drivers:
        out.append(f"  {h.drivers}")
    for figure in h.extra:
        out.append(
            f"{figure.label} ({figure.note}): {figure.amount}" if figure.note else f"{figure.label}: {figure.amount}"
        )
    if v.estimate_note:
        out += ["", f"Note: {v.estimate_note}"]
    for note in v.notes:
        out.append(f"Note: {note}")
    if v.restatement:
        r = v.restatement
        section("What changed since the estimate")
        out.append(r.summary)
        out += [f"- {row.name}: estimated {row.previous}, final {row.amount} ({row.change})" for row in r.services]
    if v.forecast or v.budget:
        section("Forecast and budget" if v.forecast else "Budget")
    if v.forecast:
        out.append(f"Forecast for {v.forecast.month}: {v.forecast.amount}. Method: {v.forecast.method}")
    if v.budget:
        out.append(f"Monthly budget: {v.budget.amount}")
        out += [line for line in (v.budget.exceeded, v.budget.caption) if line]
    elif v.forecast:
        out.append(v.budget_note)
    if v.anomalies:
        section("Anomalies")
        for a in v.anomalies:
            earlier = "(reported before) " if a.earlier else ""
            out.append(f"- {earlier}{a.day}: {a.amount}, expected {a.expected}. Rule: {a.rule}")
            if a.service:
                out.append(f"  Biggest change that day: {a.service}")
    if v.movers_up or v.movers_down:
        section("Biggest changes")
        out += [f"- Up: {m.name} {m.change} ({m.change_percent}), now {m.amount}" for m in v.movers_up]
        out += [f"- Down: {m.name} {m.change} ({m.change_percent}), now {m.amount}" for m in v.movers_down]
    if v.chart:
        section(v.chart.title)
        out.append(v.chart.summary)
        out += v.chart.points
    if v.trend:
        section("Last months")
        for t in v.trend:
            extra = f" ({t.note})" if t.note else ""
            change = f", {t.change_percent}" if t.change_percent else ""
            out.append(f"- {t.month}: {t.amount}{change}{extra}")
    tables = [(v.services_title, v.services), (v.accounts_title, v.accounts)]
    if v.breakdown:
        tables.append((v.breakdown.title, v.breakdown.rows))
    for title, rows in tables:
        section(f"{title} ({v.period_column} vs {v.previous_column})")
        for row in rows:
            name = f"{row.name} ({row.detail})" if row.detail else row.name
            percent = f", {row.change_percent}" if row.change_percent else ""
            out.append(f"- {name}: {row.amount} (was {row.previous}, {row.change}{percent})")
    if v.credits:
        section("Credits and refunds")
        out += [f"- {row.name}: {row.amount} (was {row.previous})" for row in v.credits.rows]
        out.append(v.credits.note)
    section("About this report")
    out += v.coverage
    if v.archive:
        out.append(f"Archived report: {v.archive.url}")
        if v.archive.expiry:
            out.append(v.archive.expiry)
    out.append(v.footer)
    return "\n".join(out) + "\n"


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
