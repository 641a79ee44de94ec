from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from lambdas.logic.forecast import month_end_forecast
from lambdas.models.report import DailyPoint

amounts = st.decimals(min_value=Decimal("-500"), max_value=Decimal("100000"), places=2, allow_nan=False)


def points(values: list[Decimal], start: date = date(2026, 11, 1)) -> list[DailyPoint]:
    return [DailyPoint(date=start + timedelta(days=i), amount=v, estimated=False) for i, v in enumerate(values)]


def test_forecast_is_month_to_date_plus_trailing_week_average_times_remaining_days():
    daily = points([Decimal(10)] * 19 + [Decimal(20)] * 7)  # 1..26 November
    forecast = month_end_forecast(daily, date(2026, 11, 30))
    assert forecast is not None
    assert forecast.remaining_days == 4
    assert forecast.daily_rate == Decimal("20.00")
    assert forecast.amount == Decimal(190 + 140 + 80)
    assert "last 7 days" in forecast.method and "4 remaining days" in forecast.method


def test_single_day_of_data_uses_that_day():
    forecast = month_end_forecast(points([Decimal("3.50")]), date(2026, 11, 30))
    assert forecast is not None
    assert forecast.amount == Decimal("105.00")
    assert "last 1 days" in forecast.method


def test_no_forecast_without_data_or_without_days_left():
    assert month_end_forecast([], date(2026, 11, 30)) is None
    assert month_end_forecast(points([Decimal(1)] * 30), date(2026, 11, 30)) is None


@given(st.lists(amounts, min_size=1, max_size=30))
def test_forecast_adds_the_rate_for_each_remaining_day(values):
    daily = points(values)
    month_end = date(2026, 11, 30)
    forecast = month_end_forecast(daily, month_end)
    if len(values) == 30:
        assert forecast is None
        return
    assert forecast is not None
    window = values[-7:]
    expected = sum(values) + sum(window) / len(window) * forecast.remaining_days
    assert abs(forecast.amount - expected) <= Decimal("0.005")
    assert forecast.remaining_days == 30 - len(values)
