"""The platform's calendar: when each schedule fires, which days a month-close run may send, how
long a client may go without a report before it is stale, and the limits tied to them. Pure: the
one place these facts are stated. The CDK renders its cron expressions from `TRIGGERS`; the
dispatcher, the emulator's history, the operations reviews and the health checks import them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

WEEK_DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")  # cron's names, by date.weekday()
FIRE_HOUR_UTC = 6  # yesterday is in Cost Explorer's overnight refresh; mail is in before Europe's working day

# AWS finalises a month's bill in the first days of the next month, usually by the 5th: the
# month-close run re-sends last month as final from the 5th, and tries daily until the 10th.
MONTH_CLOSE_FIRST_DAY = 5
MONTH_CLOSE_LAST_DAY = 10


@dataclass(frozen=True)
class Trigger:
    """One EventBridge schedule: the `schedule` the dispatcher receives, and when it fires (UTC)."""

    schedule: str  # daily | weekly | monthly | month-close
    description: str
    week_day: str | None = None  # cron day of week (MON) or None
    days_of_month: tuple[int, int] | None = None  # first and last day of month, or None

    def fires_on(self, day: date) -> bool:
        if self.week_day is not None and WEEK_DAYS[day.weekday()] != self.week_day:
            return False
        if self.days_of_month is not None:
            first, last = self.days_of_month
            return first <= day.day <= last
        return True

    def cron_fields(self) -> dict[str, str]:
        """The cron fields of EventBridge Scheduler's `cron(minutes hours day-of-month month
        day-of-week year)`; day of month and day of week cannot both be set: the other is "?"."""
        day = None
        if self.days_of_month is not None:
            first, last = self.days_of_month
            day = str(first) if first == last else f"{first}-{last}"
        return {
            "minute": "0",
            "hour": str(FIRE_HOUR_UTC),
            "day": day or ("?" if self.week_day else "*"),
            "month": "*",
            "week_day": self.week_day or "?",
            "year": "*",
        }

    def cron(self) -> str:
        f = self.cron_fields()
        return f"cron({f['minute']} {f['hour']} {f['day']} {f['month']} {f['week_day']} {f['year']})"


TRIGGERS: tuple[Trigger, ...] = (
    Trigger("daily", "Every day: clients on the daily schedule"),
    Trigger("weekly", "Mondays: clients on the weekly schedule", week_day="MON"),
    Trigger("monthly", "The 1st: clients on the monthly schedule (the whole previous month)", days_of_month=(1, 1)),
    Trigger(
        "month-close",
        f"The {MONTH_CLOSE_FIRST_DAY}th to the {MONTH_CLOSE_LAST_DAY}th: last month again, final, once AWS has "
        "finalised it",
        days_of_month=(MONTH_CLOSE_FIRST_DAY, MONTH_CLOSE_LAST_DAY),
    ),
)
TRIGGERS_BY_SCHEDULE = {trigger.schedule: trigger for trigger in TRIGGERS}


def triggers_on(day: date) -> list[str]:
    """The schedules that fire on `day` (at FIRE_HOUR_UTC), in the order of TRIGGERS."""
    return [trigger.schedule for trigger in TRIGGERS if trigger.fires_on(day)]


def run_days(schedule: str, start: date, end: date) -> list[date]:
    """Days in [start, end) a client schedule (daily, weekly, monthly) has a scheduled run."""
    trigger = TRIGGERS_BY_SCHEDULE[schedule]
    days = (start + timedelta(days=offset) for offset in range((end - start).days))
    return [day for day in days if trigger.fires_on(day)]


# A client's last successful report is stale after this long (its schedule's period plus a margin
# for the run's own time and a late dispatch).
STALE_AFTER: dict[str, timedelta] = {
    "daily": timedelta(hours=26),
    "weekly": timedelta(days=8),
    "monthly": timedelta(days=32),
}

# Reports a month per client schedule (monthly clients also get the month-close report).
REPORTS_PER_MONTH: dict[str, Decimal] = {"daily": Decimal(30), "weekly": Decimal(52) / 12, "monthly": Decimal(2)}

# Stored access keys: the runbook's age limits (warning, critical), in days.
KEY_AGE_WARN_DAYS = 60
KEY_AGE_CRITICAL_DAYS = 80
