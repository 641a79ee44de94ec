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


def test_a_single_usual_day_sets_the_rate():
    forecast = month_end_forecast(points([Decimal(40), Decimal("3.50")]), date(2026, 11, 30))
    assert forecast is not None
    assert forecast.amount == Decimal("43.50") + Decimal("3.50") * 28
    assert "last 1 days, leaving out the 1st" in forecast.method


def test_no_forecast_without_data_or_without_days_left():
    assert month_end_forecast([], date(2026, 11, 30)) is None
    assert month_end_forecast(points([Decimal(1)] * 30), date(2026, 11, 30)) is None


@given(st.lists(amounts, min_size=1, max_size=30))
def test_forecast_adds_the_rate_for_each_remaining_day(values):
    daily = points(values)
    month_end = date(2026, 11, 30)
    forecast = month_end_forecast(daily, month_end)
    if len(values) in (1, 30):  # only the 1st (AWS's monthly charges: no rate to take), or no day left
        assert forecast is None
        return
    assert forecast is not None
    window = values[1:][-7:]  # the 1st is left out of the rate
    expected = sum(values) + sum(window) / len(window) * forecast.remaining_days
    assert abs(forecast.amount - expected) <= Decimal("0.005")
    assert forecast.remaining_days == 30 - len(values)


def test_the_first_of_the_month_is_left_out_of_the_rate_and_last_month_fills_the_week():
    """On the 3rd, two days are known: the 1st carries the month's support, tax and fees. The rate
    is the last 7 usual days, 5 of them from last month: a forecast of the month's charges once,
    not 28 more times."""
    october = points([Decimal(100)] * 31, start=date(2026, 10, 1))
    november = points([Decimal(3000), Decimal(100), Decimal(100)])  # 1..3 November
    forecast = month_end_forecast(november, date(2026, 11, 30), history=october + november)
    assert forecast is not None
    assert forecast.daily_rate == Decimal("100.00")
    assert forecast.amount == Decimal(3200 + 100 * 27)
    assert forecast.method == (
        "Month to date plus the average of the last 7 days, leaving out the 1st, when AWS books monthly "
        "charges, for the 27 remaining days."
    )
    naive = month_end_forecast(november, date(2026, 11, 30))  # without last month: the 2 usual days
    assert naive is not None and naive.daily_rate == Decimal("100.00")


def test_days_flagged_as_anomalies_are_left_out_of_the_rate():
    daily = points([Decimal(10)] * 20 + [Decimal(500)] + [Decimal(10)] * 5)  # a spike on 21 November
    spike = date(2026, 11, 21)
    forecast = month_end_forecast(daily, date(2026, 11, 30), anomalies={spike})
    assert forecast is not None
    assert forecast.daily_rate == Decimal("10.00")
    assert forecast.amount == Decimal(10 * 25 + 500 + 10 * 4)
    assert "leaving out days flagged as anomalies" in forecast.method
    with_spike = month_end_forecast(daily, date(2026, 11, 30))
    assert with_spike is not None and with_spike.daily_rate == Decimal("80.00")


def test_no_forecast_from_the_first_alone():
    assert month_end_forecast(points([Decimal(3000)]), date(2026, 11, 30)) is None
