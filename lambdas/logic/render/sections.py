"""The sections of the email's body, each from the Report to its part of the view model:
service and account tables, movers, the daily chart, the trend, anomalies, breakdown, credits,
the restatement, the coverage notes and the archive link."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import parse_qs, urlsplit

from lambdas.logic.calendar import KEY_AGE_WARN_DAYS
from lambdas.logic.queries import PRICE_PER_REQUEST_USD
from lambdas.logic.render.export_views import requests_line
from lambdas.logic.render.format import (
    ZERO,
    Formatter,
    day_label,
    english_date,
    join_words,
    period_label,
    short_day,
    tone_of,
)
from lambdas.logic.render.view_model import (
    CHART_HEIGHT_PX,
    AnomalyView,
    ArchiveLink,
    Band,
    Bar,
    BreakdownView,
    Chart,
    CreditsView,
    Headline,
    Mover,
    RestatementView,
    Row,
    TrendRow,
)
from lambdas.logic.report import percent_change
from lambdas.models.report import DailyPoint, Period, Report, ServiceLine

TOP_SERVICES = 8

TOP_ACCOUNTS = 12  # a payer's hundreds of accounts: the biggest, then one line for the rest (all in the CSV)


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
        tone=tone_of(change) if tone else "flat",
        share=0 if peak <= 0 else max(int(max(amount, ZERO) / peak * 100), 0),
    )


def service_rows(report: Report, fmt: Formatter, limit: int = TOP_SERVICES) -> list[Row]:
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


def account_rows(report: Report, fmt: Formatter, limit: int = TOP_ACCOUNTS) -> list[Row]:
    shown = report.by_account if len(report.by_account) <= limit + 1 else report.by_account[:limit]
    rest = report.by_account[len(shown) :]
    peak = _peak(line.amount for line in shown)
    rows = [_row(line.name, line.account_id, line.amount, line.previous_amount, fmt, peak) for line in shown]
    if rest:
        amount = sum((line.amount for line in rest), ZERO)
        previous = sum((line.previous_amount for line in rest), ZERO)
        rows.append(_row(f"{len(rest)} other accounts", "in the CSV attachment", amount, previous, fmt, peak))
    return rows


def mover_view(line: ServiceLine, fmt: Formatter) -> Mover:
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


def chart_view(report: Report, fmt: Formatter, before_credits: str = "") -> Chart | None:
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
        return english_date(day, "EEE d")
    if count <= 16 or index in (0, count - 1) or day.day % 7 == 1:
        return str(day.day)
    return ""


def trend_rows(report: Report, fmt: Formatter) -> list[TrendRow]:
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
                month=english_date(point.month, "MMM y"),
                amount=fmt.money(point.amount),
                change_percent=fmt.percent(change) if previous is not None else "",
                tone=tone_of(point.amount - previous) if previous is not None else "flat",
                share=0 if peak <= 0 else max(int(max(point.amount, ZERO) / peak * 100), 0),
                note=", ".join(notes),
            )
        )
        previous = point.amount
    return rows


def anomaly_views(report: Report, fmt: Formatter) -> list[AnomalyView]:
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


def breakdown_view(report: Report, fmt: Formatter) -> BreakdownView | None:
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


def before_credits_suffix(report: Report) -> str:
    """How the services, accounts and daily bars are qualified when they and the headline differ:
    with credits included the headline figures are net of them, but those are always before them
    (lambdas/logic/report.py); with credits excluded every figure is before them, nothing differs."""
    return " before credits and refunds" if report.credits and report.credits_included else ""


def credits_view(report: Report, fmt: Formatter, headline: Headline) -> CreditsView | None:
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
        breakdown = breakdown_view(report, fmt)
        net += [f"breakdown {breakdown.title[0].lower()}{breakdown.title[1:]}"] if breakdown else []
        gross = "The services and accounts tables" + (" and the daily bars" if report.daily else "")
        note = (
            f"Included in {join_words(net)}, which are net of them. {gross} show costs before credits and refunds: "
            f"{fmt.money(report.total - total)} for the period."
        )
    else:
        note = (
            f"Not included in the totals above (this client's reports show costs before credits). "
            f"Net of them the period cost {fmt.money(report.total + total)}."
        )
    return CreditsView(rows=rows, total=fmt.money(total), included=report.credits_included, note=note)


def restatement_view(report: Report, fmt: Formatter) -> RestatementView | None:
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
        tone=tone_of(change),
        summary=summary,
        services=tuple(
            _row(line.name, "", line.amount, line.previous_amount, fmt, peak) for line in restatement.services
        ),
    )


def coverage_lines(report: Report) -> list[str]:
    coverage = report.coverage
    cost = Formatter("USD", report.locale)
    if coverage is None:
        return [requests_line(report) or f"Cost Explorer requests for this report: {report.ce_requests}."]
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
    lines.append(requests_line(report) or requests + ".")
    if coverage.key_age_days is not None:
        age = f"Stored access key age: {coverage.key_age_days} days"
        if coverage.key_age_days >= KEY_AGE_WARN_DAYS:
            age += " (due for rotation)"
        lines.append(age + ".")
    return lines


def archive_link(url: str | None, signed_at: datetime) -> ArchiveLink | None:
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
