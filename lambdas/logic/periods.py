"""Which days a report covers and what it is compared with, per schedule (issue 6). Dates are
explicit: nothing here reads the clock, so a warm Lambda container never reports stale days.

| layout        | period (headline)          | previous_period          | daily (chart)   | trend    |
| ------------- | -------------------------- | ------------------------ | --------------- | -------- |
| daily         | the newest settled day     | same weekday a week back | month to date   |          |
| weekly        | the last 7 days            | the 7 days before        | both weeks      |          |
| monthly/final | last complete month        | the month before         | the period      | 6 months |
| month-to-date | month to date (legacy)     | same days of last month  | the period      |          |
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from lambdas.models.report import Period

ANOMALY_BASELINE_DAYS = 28  # the trailing window the anomaly rule compares each day with
TREND_MONTHS = 6
ONE_DAY = timedelta(days=1)
# A day's figures are settled once Cost Explorer has refreshed at least once after the whole day
# was over: AWS refreshes billing data at least once every 24 hours, so data read 24 hours or more
# after the day ended holds such a refresh. Before that the day may still be filling in
# (docs/cost-explorer.md, late data).
SETTLED_AFTER = timedelta(hours=24)


def settled_through(now: datetime) -> date:
    """The newest day whose data, read at `now`, is settled: at 06:00 UTC, the day before yesterday."""
    return (now - SETTLED_AFTER - ONE_DAY).date()


@dataclass(frozen=True)
class ReportWindow:
    current: Period
    previous: Period
    month_in_progress: bool  # True while the month of the last reported day is not over: a forecast is due
    layout: str = "month-to-date"
    chart: Period | None = None  # the days of `Report.daily`; None: the current period
    month_to_date: Period | None = None  # the month of the last reported day, through that day
    trend_months: tuple[date, ...] = ()  # first days of the trend's months, oldest first

    @property
    def chart_period(self) -> Period:
        return self.chart or self.current

    @property
    def forecast_basis(self) -> Period:
        """The days a month-end forecast extrapolates from: the month so far."""
        return self.month_to_date or Period(start=self.current.end.replace(day=1), end=self.current.end)

    @property
    def query_start(self) -> date:
        """First day any section needs, anomaly baseline included."""
        starts = [self.current.start, self.previous.start, self.chart_period.start - timedelta(ANOMALY_BASELINE_DAYS)]
        if self.month_in_progress:
            starts.append(self.forecast_basis.start)
        return min(starts)

    @property
    def query_end_exclusive(self) -> date:
        return max(self.current.end, self.previous.end, self.chart_period.end) + ONE_DAY

    @property
    def comparison_start(self) -> date:
        return min(self.current.start, self.previous.start)

    @property
    def month_end(self) -> date:
        return month_last_day(self.current.end)


def month_last_day(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def previous_month_start(day: date) -> date:
    return (day.replace(day=1) - ONE_DAY).replace(day=1)


def add_months(first_day: date, months: int) -> date:
    index = first_day.year * 12 + first_day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def whole_month(first_day: date) -> Period:
    return Period(start=first_day, end=month_last_day(first_day))


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
        return ReportWindow(
            current=whole_month(start), previous=whole_month(previous_month_start(start)), month_in_progress=False
        )
    current = Period(start=as_of.replace(day=1), end=as_of - ONE_DAY)
    return ReportWindow(current=current, previous=same_days_previous_month(current), month_in_progress=True)


def daily_window(as_of: date, *, settled: date | None = None) -> ReportWindow:
    """The newest complete day before `as_of`: yesterday once it has settled (`settled`: the newest
    settled day), else the newest settled day. A daily report at 06:00 UTC covers the day before
    yesterday: yesterday is still filling in, and a day at 80% of its cost would show a false drop
    every morning (docs/cost-explorer.md)."""
    yesterday = as_of - ONE_DAY
    if settled is not None:
        yesterday = min(yesterday, settled)
    week_before = yesterday - timedelta(days=7)
    mtd = Period(start=yesterday.replace(day=1), end=yesterday)
    return ReportWindow(
        current=Period(start=yesterday, end=yesterday),
        previous=Period(start=week_before, end=week_before),
        month_in_progress=yesterday < month_last_day(yesterday),
        layout="daily",
        chart=mtd,
        month_to_date=mtd,
    )


def weekly_window(as_of: date) -> ReportWindow:
    yesterday = as_of - ONE_DAY
    current = Period(start=yesterday - timedelta(days=6), end=yesterday)
    previous = Period(start=current.start - timedelta(days=7), end=current.start - ONE_DAY)
    return ReportWindow(
        current=current,
        previous=previous,
        month_in_progress=yesterday < month_last_day(yesterday),
        layout="weekly",
        chart=Period(start=previous.start, end=current.end),  # both weeks, side by side
        month_to_date=Period(start=yesterday.replace(day=1), end=yesterday),
    )


def monthly_window(as_of: date, *, layout: str = "monthly") -> ReportWindow:
    last_month = previous_month_start(as_of)
    return ReportWindow(
        current=whole_month(last_month),
        previous=whole_month(previous_month_start(last_month)),
        month_in_progress=False,
        layout=layout,
        trend_months=tuple(add_months(last_month, -offset) for offset in range(TREND_MONTHS - 1, -1, -1)),
    )


def window_for(schedule: str, as_of: date, *, kind: str = "scheduled", settled: date | None = None) -> ReportWindow:
    """The window of a run: the month-close ("final") run re-reports last month whatever the schedule.
    `settled`: the newest settled day at the time of the run (`settled_through`), for daily reports."""
    if kind == "final":
        return monthly_window(as_of, layout="final")
    if schedule == "daily":
        return daily_window(as_of, settled=settled)
    if schedule == "weekly":
        return weekly_window(as_of)
    if schedule == "monthly":
        return monthly_window(as_of)
    raise ValueError(f"schedule: unknown schedule {schedule!r}")
