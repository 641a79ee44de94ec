"""The periods the reviews cover (a day, a week, a month, a window of days) and their statistics:
percentiles, means, ratios, a least-squares fit. Pure: callers pass the time and the records."""

from __future__ import annotations

import calendar
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from lambdas.logic.periods import previous_month_start
from lambdas.models.execution import ExecutionRecord

# -- periods -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """[start, end) in UTC days; `end` exclusive."""

    kind: str
    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time(0), tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        return datetime.combine(self.end, time(0), tzinfo=UTC)

    @property
    def label(self) -> str:
        last = self.end - timedelta(days=1)
        if self.kind == "monthly":
            return f"{self.start:%B %Y}"
        if self.start == last:
            return f"{self.start:%-d %B %Y}"
        return f"{self.start:%-d %b} – {last:%-d %b %Y}"

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "start": self.start, "end": self.end - timedelta(days=1), "label": self.label}

    def day_list(self) -> list[date]:
        return [self.start + timedelta(days=offset) for offset in range(self.days)]


def month_window(first: date) -> Window:
    first = first.replace(day=1)
    return Window("monthly", first, first + timedelta(days=calendar.monthrange(first.year, first.month)[1]))


def parse_month(value: str) -> date:
    """`YYYY-MM` -> the month's first day; ValueError otherwise."""
    try:
        if re.fullmatch(r"\d{4}-\d{2}", value):
            return date.fromisoformat(f"{value}-01")
    except ValueError:
        pass
    raise ValueError(f"not a month (YYYY-MM): {value!r}")


def period_window(period: str, as_of: date, month: date | None = None) -> Window:
    """daily: the day before `as_of`; weekly: the 7 days before it; monthly: `month`, or the
    calendar month before `as_of`'s."""
    if period == "daily":
        return Window("daily", as_of - timedelta(days=1), as_of)
    if period == "weekly":
        return Window("weekly", as_of - timedelta(days=7), as_of)
    if period == "monthly":
        return month_window(month or previous_month_start(as_of))
    raise ValueError(period)


def in_window(record: ExecutionRecord, window: Window) -> bool:
    return window.start_at <= record.started_at < window.end_at


# -- statistics ----------------------------------------------------------------------------------


def percentile(values: Sequence[int | Decimal], q: int) -> Decimal | None:
    """Nearest-rank percentile (the smallest value with at least q% of values at or below it):
    always one of the values, never an interpolation."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-q * len(ordered) // 100))  # ceil(q/100 * n)
    return Decimal(ordered[rank - 1])


def mean(values: Sequence[int | Decimal]) -> Decimal | None:
    return Decimal(sum(values)) / len(values) if values else None


def ratio(numerator: int | Decimal, denominator: int | Decimal) -> Decimal | None:
    return Decimal(numerator) / Decimal(denominator) if denominator else None


def rounded(value: Decimal | None, places: str = "0.0001") -> Decimal | None:
    return None if value is None else value.quantize(Decimal(places), rounding=ROUND_HALF_UP)


def linear_fit(points: Sequence[tuple[int, Decimal]]) -> tuple[Decimal, Decimal]:
    """Least-squares line through (x, y): (slope, intercept). One point: a flat line."""
    if not points:
        return Decimal(0), Decimal(0)
    n = Decimal(len(points))
    mean_x = sum(Decimal(x) for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    spread = sum((Decimal(x) - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return Decimal(0), mean_y
    slope = sum((Decimal(x) - mean_x) * (y - mean_y) for x, y in points) / spread
    return slope, mean_y - slope * mean_x
