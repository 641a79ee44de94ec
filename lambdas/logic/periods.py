"""Which days a report covers and what it is compared with. Dates are explicit: nothing here
reads the clock, so a warm Lambda container never reports stale days."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from lambdas.models.report import Period


@dataclass(frozen=True)
class ReportWindow:
    current: Period
    previous: Period
    month_in_progress: bool  # True while the current period is an unfinished calendar month

    @property
    def query_start(self) -> date:
        return min(self.current.start, self.previous.start)

    @property
    def query_end_exclusive(self) -> date:
        return max(self.current.end, self.previous.end) + timedelta(days=1)

    @property
    def month_end(self) -> date:
        return month_last_day(self.current.start)


def month_last_day(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def previous_month_start(day: date) -> date:
    return (day.replace(day=1) - timedelta(days=1)).replace(day=1)


def same_days_previous_month(period: Period) -> Period:
    """The same day numbers one month earlier, clamped to that month's length (Mar 1-30 -> Feb 1-28)."""
    start = previous_month_start(period.start)
    last = month_last_day(start)
    end = start.replace(day=min(period.end.day, last.day))
    return Period(start=start, end=end)


def month_to_date(as_of: date) -> ReportWindow:
    """Month to date through yesterday, against the same days of the previous month.

    On the 1st the current month has no data yet: the report covers the whole previous
    month, against the whole month before it.
    """
    if as_of.day == 1:
        start = previous_month_start(as_of)
        current = Period(start=start, end=month_last_day(start))
        previous_start = previous_month_start(start)
        previous = Period(start=previous_start, end=month_last_day(previous_start))
        return ReportWindow(current=current, previous=previous, month_in_progress=False)
    current = Period(start=as_of.replace(day=1), end=as_of - timedelta(days=1))
    return ReportWindow(current=current, previous=same_days_previous_month(current), month_in_progress=True)
