"""The report, computed from cost rows. Pure: no I/O, no clock."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from lambdas.logic.cost_data import CostData
from lambdas.logic.forecast import month_end_forecast
from lambdas.logic.periods import ReportWindow
from lambdas.models.client import Client
from lambdas.models.exceptions import CostDataError
from lambdas.models.report import AccountLine, DailyPoint, Period, Report, ServiceLine

ZERO = Decimal("0")
PERCENT = Decimal("0.1")


def percent_change(current: Decimal, previous: Decimal) -> Decimal | None:
    if previous == 0:
        return None
    return ((current - previous) / abs(previous) * 100).quantize(PERCENT, rounding=ROUND_HALF_UP)


def _days(period: Period) -> list[date]:
    return [period.start + timedelta(days=offset) for offset in range(period.days)]


def build_report(
    client: Client,
    window: ReportWindow,
    data: CostData,
    *,
    run_id: str,
    as_of: date,
    generated_at: datetime,
    ce_requests: int,
) -> Report:
    if data.unit is not None and data.unit != client.currency:
        raise CostDataError(f"Cost Explorer reports {data.unit}, the client is configured for {client.currency}")
    current, previous = window.current, window.previous

    by_service: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    by_account: dict[str, list[Decimal]] = {account: [ZERO, ZERO] for account in client.account_ids}
    by_day: dict[date, Decimal] = dict.fromkeys(_days(current), ZERO)
    for row in data.rows:
        if current.contains(row.day):
            slot = 0
            by_day[row.day] += row.amount
        elif previous.contains(row.day):
            slot = 1
        else:
            continue  # the rest of the query range (e.g. the end of last month): not in this report
        by_service[row.service][slot] += row.amount
        by_account.setdefault(row.account_id, [ZERO, ZERO])[slot] += row.amount

    services = sorted(
        (ServiceLine(name=name, amount=amounts[0], previous_amount=amounts[1]) for name, amounts in by_service.items()),
        key=lambda line: (-line.amount, -line.previous_amount, line.name),
    )
    accounts = sorted(
        (
            AccountLine(
                account_id=account,
                name=data.account_names.get(account, account),
                amount=amounts[0],
                previous_amount=amounts[1],
            )
            for account, amounts in by_account.items()
        ),
        key=lambda line: (-line.amount, line.account_id),
    )
    daily = [
        DailyPoint(date=day, amount=amount, estimated=day in data.estimated_days)
        for day, amount in sorted(by_day.items())
    ]
    total = sum((line.amount for line in services), ZERO)
    previous_total = sum((line.previous_amount for line in services), ZERO)
    forecast = month_end_forecast(daily, window.month_end) if window.month_in_progress else None
    return Report(
        client_id=client.client_id,
        client_name=client.name,
        run_id=run_id,
        as_of=as_of,
        generated_at=generated_at,
        metric=client.metric,
        currency=client.currency,
        period=current,
        previous_period=previous,
        total=total,
        previous_total=previous_total,
        change_amount=total - previous_total,
        change_percent=percent_change(total, previous_total),
        forecast=forecast.amount if forecast else None,
        forecast_method=forecast.method if forecast else None,
        budget=client.budget,
        by_service=services,
        by_account=accounts,
        daily=daily,
        estimated=any(point.estimated for point in daily),
        ce_requests=ce_requests,
    )
