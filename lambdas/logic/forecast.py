"""Month-end forecast from the daily costs already known. No extra Cost Explorer request."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from lambdas.models.report import DailyPoint

TRAILING_DAYS = 7
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Forecast:
    amount: Decimal
    method: str
    remaining_days: int
    daily_rate: Decimal


def month_end_forecast(
    daily: list[DailyPoint],
    month_end: date,
    *,
    history: Sequence[DailyPoint] = (),
    anomalies: Collection[date] = (),
    provisional: Collection[date] = (),
) -> Forecast | None:
    """Month to date (`daily`, the month's days so far) plus a daily run rate for each remaining day.

    The run rate is the average of the last (up to) 7 usual days up to the last known day, taken
    from `history` (every known day, last month's included) or else `daily`. Usual: not the 1st of
    a month, when AWS books monthly charges (support, tax, subscriptions) that do not recur daily,
    not a day flagged as an anomaly, and not a day AWS is still filling in (provisional: Cost Explorer or the export).
    Seven days hold each weekday once, so weekday seasonality averages out. None when there is no
    day of data, no usual day to take a rate from (the 2nd of an account's first month: better no
    forecast than thirty times the monthly charges), or no day left in the month.
    """
    if not daily:
        return None
    last_day = daily[-1].date
    remaining = (month_end - last_day).days
    if remaining <= 0:
        return None
    by_day = {point.date: point for point in [*history, *daily] if point.date <= last_day}
    known = [by_day[day] for day in sorted(by_day)]
    usual = [
        point
        for point in known
        if point.date.day != 1 and point.date not in anomalies and point.date not in provisional
    ]
    window = usual[-TRAILING_DAYS:]
    if not window:
        return None
    used = {point.date for point in window}
    since = window[0].date if len(window) == TRAILING_DAYS else date.min  # a short window: all known days
    skipped = [day for day in sorted(by_day) if day >= since and day not in used]
    left_out = []
    if any(day.day == 1 for day in skipped):
        left_out.append("the 1st, when AWS books monthly charges")
    if any(day in anomalies for day in skipped):
        left_out.append("days flagged as anomalies")
    if any(day in provisional for day in skipped):
        left_out.append("days AWS is still filling in")
    rate = sum((point.amount for point in window), Decimal("0")) / len(window)
    to_date = sum((point.amount for point in daily), Decimal("0"))
    amount = (to_date + rate * remaining).quantize(CENT, rounding=ROUND_HALF_EVEN)
    days = f"last {len(window)} days" + (f", leaving out {' and '.join(left_out)}," if left_out else "")
    method = (
        f"Month to date plus the average of the {days} "
        f"for the {remaining} remaining day{'s' if remaining != 1 else ''}."
    )
    return Forecast(
        amount=amount,
        method=method,
        remaining_days=remaining,
        daily_rate=rate.quantize(CENT, rounding=ROUND_HALF_EVEN),
    )
