"""Month-end forecast from the daily costs already known. No extra Cost Explorer request."""

from __future__ import annotations

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


def month_end_forecast(daily: list[DailyPoint], month_end: date) -> Forecast | None:
    """Month to date plus the average of the last (up to) 7 days for each remaining day.

    Seven days hold each weekday once, so weekday seasonality averages out. None when there
    is no day of data or no day left in the month.
    """
    if not daily:
        return None
    last_day = daily[-1].date
    remaining = (month_end - last_day).days
    if remaining <= 0:
        return None
    window = daily[-TRAILING_DAYS:]
    rate = sum((point.amount for point in window), Decimal("0")) / len(window)
    to_date = sum((point.amount for point in daily), Decimal("0"))
    amount = (to_date + rate * remaining).quantize(CENT, rounding=ROUND_HALF_EVEN)
    method = (
        f"Month to date plus the average of the last {len(window)} days "
        f"for the {remaining} remaining day{'s' if remaining != 1 else ''}."
    )
    return Forecast(
        amount=amount,
        method=method,
        remaining_days=remaining,
        daily_rate=rate.quantize(CENT, rounding=ROUND_HALF_EVEN),
    )
