"""One calendar: the stack's EventBridge schedules, the dispatcher and the emulator's history all
fire on the days lambdas/logic/calendar.py states. The synthesized cron expressions are read back
from the session's shared template (conftest.py) and evaluated day by day, independently of the
calendar's own code, against what the emulator's history fires."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from emulator import history
from lambdas.logic.calendar import FIRE_HOUR_UTC, MONTH_CLOSE_FIRST_DAY, TRIGGERS, WEEK_DAYS
from tests.infrastructure.conftest import ENVIRONMENTS


def _schedules(synthesized, environment: str) -> dict[str, str]:
    """schedule name (the dispatcher's input) -> its synthesized cron expression."""
    return {
        json.loads(s["Properties"]["Target"]["Input"])["schedule"]: s["Properties"]["ScheduleExpression"]
        for s in synthesized.resources(environment, "AWS::Scheduler::Schedule").values()
    }


def _fires(expression: str, day: date) -> bool:
    """Whether `cron(minute hour day-of-month month day-of-week year)` fires on `day` (the subset of
    EventBridge's syntax a schedule may use here: *, ?, a number, a range, a day name)."""
    assert expression.startswith("cron(") and expression.endswith(")"), expression
    _minute, _hour, day_of_month, month, day_of_week, year = expression[5:-1].split()
    assert (month, year) == ("*", "*"), expression
    if day_of_month not in ("*", "?"):
        first, _, last = day_of_month.partition("-")
        if not int(first) <= day.day <= int(last or first):
            return False
    return day_of_week in ("*", "?") or WEEK_DAYS[day.weekday()] == day_of_week


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_stacks_cron_expressions_are_the_calendars(synthesized, environment):
    assert _schedules(synthesized, environment) == {trigger.schedule: trigger.cron() for trigger in TRIGGERS}
    for expression in _schedules(synthesized, environment).values():
        minute, hour = expression[5:-1].split()[:2]
        assert (int(minute), int(hour)) == (0, FIRE_HOUR_UTC)


def test_the_emulators_history_fires_on_the_days_the_stack_does(synthesized):
    schedules = _schedules(synthesized, "prod")
    start = date(2026, 1, 1)
    for offset in range(366 + 365):  # two years: every weekday on every day of the month
        day = start + timedelta(days=offset)
        fired_by_stack = [name for name in schedules if _fires(schedules[name], day)]
        assert sorted(history.triggers_on(day)) == sorted(fired_by_stack), day
    assert history.FIRE_HOUR == FIRE_HOUR_UTC


def test_the_month_close_fires_from_the_day_the_dispatcher_accepts_it(synthesized):
    month_close = _schedules(synthesized, "prod")["month-close"]
    fire_days = [day for day in range(1, 32) if _fires(month_close, date(2026, 1, day))]
    assert fire_days[0] == MONTH_CLOSE_FIRST_DAY
