from datetime import date

import pytest

from lambdas.logic.periods import month_to_date, same_days_previous_month, window_for
from lambdas.models.report import Period


def test_month_to_date_runs_through_yesterday_against_the_same_days_of_last_month():
    window = month_to_date(date(2026, 11, 27))
    assert window.current == Period(start=date(2026, 11, 1), end=date(2026, 11, 26))
    assert window.previous == Period(start=date(2026, 10, 1), end=date(2026, 10, 26))
    assert window.month_in_progress
    # One query covers both periods; Cost Explorer's End is exclusive.
    assert window.query_start == date(2026, 10, 1)
    assert window.query_end_exclusive == date(2026, 11, 27)


def test_on_the_first_the_report_covers_the_whole_previous_month():
    window = month_to_date(date(2026, 12, 1))
    assert window.current == Period(start=date(2026, 11, 1), end=date(2026, 11, 30))
    assert window.previous == Period(start=date(2026, 10, 1), end=date(2026, 10, 31))
    assert not window.month_in_progress


def test_year_boundary():
    window = month_to_date(date(2027, 1, 1))
    assert window.current == Period(start=date(2026, 12, 1), end=date(2026, 12, 31))
    assert window.previous == Period(start=date(2026, 11, 1), end=date(2026, 11, 30))
    assert month_to_date(date(2027, 1, 15)).previous == Period(start=date(2026, 12, 1), end=date(2026, 12, 14))


@pytest.mark.parametrize(
    ("current_end", "previous_end"),
    [
        (date(2026, 3, 30), date(2026, 2, 28)),  # February is shorter: clamp
        (date(2028, 3, 30), date(2028, 2, 29)),  # leap year
        (date(2026, 5, 31), date(2026, 4, 30)),
    ],
)
def test_comparison_clamps_to_the_shorter_month(current_end, previous_end):
    previous = same_days_previous_month(Period(start=current_end.replace(day=1), end=current_end))
    assert previous.end == previous_end
    assert previous.start == previous_end.replace(day=1)


def test_leap_day_as_of():
    window = month_to_date(date(2028, 2, 29))
    assert window.current == Period(start=date(2028, 2, 1), end=date(2028, 2, 28))
    assert window.month_end == date(2028, 2, 29)


def test_daily_window_is_yesterday_against_the_same_weekday_a_week_before_with_month_to_date():
    window = window_for("daily", date(2026, 11, 27))
    assert window.current == Period(start=date(2026, 11, 26), end=date(2026, 11, 26))
    assert window.previous == Period(start=date(2026, 11, 19), end=date(2026, 11, 19))
    assert window.chart_period == window.month_to_date == Period(start=date(2026, 11, 1), end=date(2026, 11, 26))
    assert window.month_in_progress


def test_daily_window_on_the_first_closes_the_month():
    window = window_for("daily", date(2026, 12, 1))
    assert window.current == Period(start=date(2026, 11, 30), end=date(2026, 11, 30))
    assert window.month_to_date == Period(start=date(2026, 11, 1), end=date(2026, 11, 30))
    assert not window.month_in_progress


def test_weekly_window_is_the_last_seven_days_against_the_seven_before():
    window = window_for("weekly", date(2026, 11, 27))
    assert window.current == Period(start=date(2026, 11, 20), end=date(2026, 11, 26))
    assert window.previous == Period(start=date(2026, 11, 13), end=date(2026, 11, 19))
    assert window.chart_period == Period(start=date(2026, 11, 13), end=date(2026, 11, 26))


@pytest.mark.parametrize("kind", ["scheduled", "final"])
def test_monthly_and_final_windows_are_last_month_against_the_one_before_with_six_months(kind):
    window = window_for("monthly" if kind == "scheduled" else "daily", date(2027, 1, 5), kind=kind)
    assert window.current == Period(start=date(2026, 12, 1), end=date(2026, 12, 31))
    assert window.previous == Period(start=date(2026, 11, 1), end=date(2026, 11, 30))
    assert window.trend_months == tuple(date(2026, m, 1) for m in range(7, 13))
    assert not window.month_in_progress


def test_unknown_schedule_is_refused():
    with pytest.raises(ValueError, match="schedule"):
        window_for("hourly", date(2026, 11, 27))
