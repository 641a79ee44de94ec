"""The report, computed from cost rows. Pure: no I/O, no clock.

Conventions (docs/report-schema.md): `by_service`, `by_account` and `daily` are costs before
credits and refunds; credits and refunds are their own lines (`credits`), and count in `total`,
`previous_total`, `month_to_date`, the forecast and the trend only when the client includes them
(`credits_included`). So `total == sum(by_service) + (sum(credits) if credits_included)`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from lambdas.dal.cost_explorer import requests_cost_usd
from lambdas.logic.anomalies import detect
from lambdas.logic.cost_data import CostData, CostRow
from lambdas.logic.forecast import CENT, month_end_forecast
from lambdas.logic.periods import ReportWindow
from lambdas.logic.queries import CREDIT_RECORD_TYPES
from lambdas.models.client import Client
from lambdas.models.exceptions import CostDataError
from lambdas.models.report import (
    AccountLine,
    Anomaly,
    Breakdown,
    BreakdownLine,
    Coverage,
    CreditLine,
    DailyPoint,
    MonthPoint,
    Period,
    Report,
    ReportKind,
    Restatement,
    ServiceLine,
)

ZERO = Decimal("0")
PERCENT = Decimal("0.1")
MOVERS = 3  # biggest absolute movers shown each way

SECTION_NAMES = {
    "services": "costs by service and account",
    "record_types": "credits, refunds and the monthly trend",
    "breakdown": "the tag / cost category breakdown",
}


def percent_change(current: Decimal, previous: Decimal) -> Decimal | None:
    if previous == 0:
        return None
    return ((current - previous) / abs(previous) * 100).quantize(PERCENT, rounding=ROUND_HALF_UP)


def _days(period: Period) -> list[date]:
    return [period.start + timedelta(days=offset) for offset in range(period.days)]


def _split(rows: Iterable[CostRow], current: Period, previous: Period, key: str) -> dict[str, list[Decimal]]:
    """Amounts per `key` attribute of the rows: [current period, previous period]."""
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    for row in rows:
        if current.contains(row.day):
            sums[getattr(row, key)][0] += row.amount
        elif previous.contains(row.day):
            sums[getattr(row, key)][1] += row.amount
    return sums


def movers(services: list[ServiceLine]) -> tuple[list[ServiceLine], list[ServiceLine]]:
    """The MOVERS biggest increases and the MOVERS biggest decreases, by absolute change."""
    ups = sorted((s for s in services if s.change > 0), key=lambda s: (-s.change, s.name))[:MOVERS]
    downs = sorted((s for s in services if s.change < 0), key=lambda s: (s.change, s.name))[:MOVERS]
    return ups, downs


def build_report(
    client: Client,
    window: ReportWindow,
    data: CostData,
    *,
    run_id: str,
    as_of: date,
    generated_at: datetime,
    ce_requests: int,
    kind: ReportKind = "scheduled",
    cache_hits: int = 0,
    notes: Iterable[str] = (),
    archive_url: str | None = None,
    restatement: Restatement | None = None,
    ce_forecast_remaining: Decimal | None = None,
    key_age_days: int | None = None,
) -> Report:
    if data.unit is not None and data.unit != client.currency:
        raise CostDataError(f"Cost Explorer reports {data.unit}, the client is configured for {client.currency}")
    current, previous, chart = window.current, window.previous, window.chart_period
    include = client.include_credits
    notes = list(notes)

    by_service = _split(data.rows, current, previous, "service")
    by_account = _split(data.rows, current, previous, "account_id")
    services = sorted(
        (ServiceLine(name=name, amount=amounts[0], previous_amount=amounts[1]) for name, amounts in by_service.items()),
        key=lambda line: (-line.amount, -line.previous_amount, line.name),
    )
    accounts = sorted(
        (
            AccountLine(
                account_id=account,
                name=data.account_names.get(account, account),
                amount=by_account.get(account, [ZERO, ZERO])[0],
                previous_amount=by_account.get(account, [ZERO, ZERO])[1],
            )
            for account in dict.fromkeys([*client.account_ids, *by_account])
        ),
        key=lambda line: (-line.amount, line.account_id),
    )
    credit_sums = _split(data.credit_rows, current, previous, "service")
    credits = [
        CreditLine(
            record_type=record_type, amount=credit_sums[record_type][0], previous_amount=credit_sums[record_type][1]
        )
        for record_type in CREDIT_RECORD_TYPES
        if record_type in credit_sums
    ]
    credits += [
        CreditLine(record_type=name, amount=amounts[0], previous_amount=amounts[1])
        for name, amounts in sorted(credit_sums.items())
        if name not in CREDIT_RECORD_TYPES
    ]

    gross_by_day: dict[date, Decimal] = defaultdict(lambda: ZERO)
    service_by_day: dict[date, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for row in data.rows:
        gross_by_day[row.day] += row.amount
        service_by_day[row.day][row.service] += row.amount
    series = {day: gross_by_day[day] for day in sorted(data.days | set(gross_by_day))}
    daily = [
        DailyPoint(date=day, amount=gross_by_day.get(day, ZERO), estimated=day in data.estimated_days)
        for day in _days(chart)
    ]

    total = sum((line.amount for line in services), ZERO)
    previous_total = sum((line.previous_amount for line in services), ZERO)
    if include:
        total += sum((line.amount for line in credits), ZERO)
        previous_total += sum((line.previous_amount for line in credits), ZERO)

    anomalies: list[Anomaly] = detect(series, _days(chart), service_by_day)
    month_to_date = None
    forecast_amount, forecast_method = None, None
    if window.month_to_date is not None or window.month_in_progress:
        basis = window.forecast_basis
        daily_credits: dict[date, Decimal] = defaultdict(lambda: ZERO)
        if include:
            for row in data.credit_rows:
                daily_credits[row.day] += row.amount

        def net(day: date) -> DailyPoint:
            amount = gross_by_day.get(day, ZERO) + daily_credits.get(day, ZERO)
            return DailyPoint(date=day, amount=amount, estimated=day in data.estimated_days)

        month_days = [net(day) for day in _days(basis)]
        if window.month_to_date is not None:
            month_to_date = sum((point.amount for point in month_days), ZERO)
        if window.month_in_progress:
            # The run rate may reach back into last month: every fetched day up to the basis's end.
            history = [net(day) for day in series if day <= basis.end]
            forecast_amount, forecast_method = _forecast(
                month_days, window, ce_forecast_remaining, history, {a.date for a in anomalies}
            )

    ups, downs = movers(services)
    breakdown = _breakdown(client, data, current, previous)
    trend = _trend(window, data, include)

    for section in data.missing:
        notes.append(
            f"Request budget reached ({client.max_ce_requests} per run): {SECTION_NAMES[section]} not complete."
        )
    days_with_data = sum(1 for day in _days(chart) if day in data.days)
    if days_with_data < chart.days and "services" not in data.missing:
        notes.append(f"Cost Explorer had no data yet for {chart.days - days_with_data} day(s) of the chart.")
    seen = sorted({row.account_id for row in data.rows if current.contains(row.day) or previous.contains(row.day)})
    estimated_period = any(day in data.estimated_days for day in _days(current)) or (
        current.start.replace(day=1) in data.estimated_months
    )
    return Report(
        client_id=client.client_id,
        client_name=client.name,
        run_id=run_id,
        kind=kind,
        schedule=client.schedule,
        as_of=as_of,
        generated_at=generated_at,
        metric=client.metric,
        currency=client.currency,
        locale=client.locale,
        period=current,
        previous_period=previous,
        total=total,
        previous_total=previous_total,
        change_amount=total - previous_total,
        change_percent=percent_change(total, previous_total),
        month_to_date=month_to_date,
        forecast=forecast_amount,
        forecast_method=forecast_method,
        budget=client.budget,
        by_service=services,
        movers_up=ups,
        movers_down=downs,
        by_account=accounts,
        breakdown=breakdown,
        credits=credits,
        credits_included=include,
        daily=daily,
        monthly_trend=trend,
        anomalies=anomalies,
        restatement=restatement,
        estimated=estimated_period,
        ce_requests=ce_requests,
        notes=notes,
        coverage=Coverage(
            accounts_expected=list(client.account_ids),
            accounts_seen=seen,
            days_expected=chart.days,
            days_with_data=days_with_data,
            ce_requests=ce_requests,
            ce_cost_usd=requests_cost_usd(ce_requests),
            cache_hits=cache_hits,
            key_age_days=key_age_days,
        ),
        archive_url=archive_url,
    )


def _forecast(
    net: list[DailyPoint],
    window: ReportWindow,
    ce_remaining: Decimal | None,
    history: list[DailyPoint],
    anomalies: set[date],
) -> tuple[Decimal | None, str | None]:
    if ce_remaining is not None:
        to_date = sum((point.amount for point in net), ZERO)
        remaining = (window.month_end - window.forecast_basis.end).days
        return (
            (to_date + ce_remaining).quantize(CENT),
            f"Month to date plus Cost Explorer's forecast (GetCostForecast) for the {remaining} remaining days.",
        )
    forecast = month_end_forecast(net, window.month_end, history=history, anomalies=anomalies)
    return (forecast.amount, forecast.method) if forecast else (None, None)


def _breakdown(client: Client, data: CostData, current: Period, previous: Period) -> Breakdown | None:
    if client.breakdown is None or "breakdown" in data.missing:
        return None
    sums = _split(data.breakdown_rows, current, previous, "service")
    lines = sorted(
        (BreakdownLine(value=value, amount=amounts[0], previous_amount=amounts[1]) for value, amounts in sums.items()),
        key=lambda line: (-line.amount, line.value),
    )
    return Breakdown(type=client.breakdown.type, key=client.breakdown.key, lines=lines)


def _trend(window: ReportWindow, data: CostData, include_credits: bool) -> list[MonthPoint]:
    if not window.trend_months or "record_types" in data.missing:
        return []
    sums: dict[date, Decimal] = defaultdict(lambda: ZERO)
    answered = {row.day for row in data.monthly_rows} | data.estimated_months
    for row in data.monthly_rows:
        if include_credits or row.service not in CREDIT_RECORD_TYPES:
            sums[row.day] += row.amount
    return [
        MonthPoint(month=month, amount=sums.get(month, ZERO), estimated=month in data.estimated_months)
        for month in window.trend_months
        if month in answered or month >= min(answered, default=month)
    ]
