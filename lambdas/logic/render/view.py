"""`email_view`: a Report turned into the words and figures a recipient reads, once; the HTML
template, the plain-text alternative, the subject and the chat summaries all show that one view,
so no channel says something another does not. The headline, the subject and the notes are here;
the sections of the body (tables, chart, trend, credits...) in sections.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from lambdas.logic.periods import month_last_day
from lambdas.logic.render.export_views import (
    commitments_view,
    resources_view,
    source_line,
    source_name,
)
from lambdas.logic.render.format import (
    METRIC_LABELS,
    SCHEDULE_LABELS,
    Formatter,
    day_label,
    english_date,
    is_whole_month,
    join_words,
    month_label,
    period_label,
    short_day,
    tone_of,
)
from lambdas.logic.render.sections import (
    account_rows,
    anomaly_views,
    archive_link,
    before_credits_suffix,
    breakdown_view,
    chart_view,
    coverage_lines,
    credits_view,
    mover_view,
    restatement_view,
    service_rows,
    trend_rows,
)
from lambdas.logic.render.view_model import BudgetView, EmailView, Figure, ForecastView, Headline
from lambdas.models.report import Period, Report

DRIVERS_SHOWN = 2

ATTACHMENT_NAMES = {"csv": "a CSV of the period's cost by account and service", "xlsx": "an Excel workbook"}


def email_view(report: Report, attachments: Sequence[str] = ("csv",)) -> EmailView:
    """Everything the email says, as strings: built once, shown by every template and channel."""
    fmt = Formatter(report.currency, report.locale)
    headline = _headline(report, fmt)
    forecast = _forecast(report, fmt)
    budget = _budget(report, fmt)
    metric = METRIC_LABELS.get(report.metric, report.metric)
    before_credits = before_credits_suffix(report)
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
        restatement=restatement_view(report, fmt),
        anomalies=tuple(anomaly_views(report, fmt)),
        movers_up=tuple(mover_view(line, fmt) for line in report.movers_up),
        movers_down=tuple(mover_view(line, fmt) for line in report.movers_down),
        chart=chart_view(report, fmt, before_credits),
        trend=tuple(trend_rows(report, fmt)),
        services_title="Top services" + before_credits,
        services=tuple(service_rows(report, fmt)),
        accounts_title="Accounts" + before_credits,
        accounts=tuple(account_rows(report, fmt)),
        breakdown=breakdown_view(report, fmt),
        credits=credits_view(report, fmt, headline),
        coverage=tuple(coverage_lines(report)),
        archive=archive_link(report.archive_url, report.generated_at),
        footer=_footer(report, metric, attachments),
        period_column=_column_label(report.period),
        previous_column=_column_label(report.previous_period),
        resources=resources_view(report, fmt),
        commitments=commitments_view(report, fmt),
        source=source_line(report),
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
        return english_date(start, "MMM y")
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{end.day} {english_date(end, 'MMM')}"
    return f"{start.day} {english_date(start, 'MMM')} – {end.day} {english_date(end, 'MMM')}"


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
        tone=tone_of(report.change_amount),
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
        f"Partial report: some of this period's costs could not be read from {source_name(report)}, so the totals "
        f"below are incomplete ({'; '.join(report.missing)})."
    )


def _corrections(report: Report, fmt: Formatter) -> list[str]:
    return [
        f"{day_label(c.date)} was shown while {source_name(report)} was still filling it in, "
        f"at {fmt.money(c.reported)}; "
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
    return f"the {join_words([month_label(month) for month in months])} bills", "are"


def _footer(report: Report, metric: str, attachments: Sequence[str]) -> str:
    attached = [ATTACHMENT_NAMES[name] for name in attachments if name in ATTACHMENT_NAMES]
    text = (
        f"{metric} in {report.currency}, from {source_line(report)}, as of {day_label(report.as_of)}. "
        f"Run {report.run_id}."
    )
    if attached:
        text += " Attached: " + " and ".join(attached) + "."
    return text
