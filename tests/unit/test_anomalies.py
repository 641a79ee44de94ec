"""The anomaly rule on daily series with and without a spike."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from lambdas.logic.anomalies import detect, expected_range

START = date(2026, 10, 2)  # a Friday, not the 1st


def series(values: dict[int, str] | None = None, days: int = 50, weekday: str = "100", weekend: str = "60"):
    out = {}
    for offset in range(days):
        day = START + timedelta(days=offset)
        base = Decimal(weekend if day.weekday() >= 5 else weekday)
        wobble = Decimal((offset * 7) % 5 - 2)  # -2..+2: ordinary noise
        out[day] = base + wobble
    for offset, amount in (values or {}).items():
        out[START + timedelta(days=offset)] = Decimal(amount)
    return out


def last_days(data, count):
    return sorted(data)[-count:]


def test_a_steady_series_has_no_anomaly():
    data = series()
    assert detect(data, last_days(data, 20)) == []


def test_a_spike_is_found_with_its_expected_range_and_rule():
    data = series({45: "240"})  # a weekday
    day = START + timedelta(days=45)
    assert day.weekday() < 5
    [anomaly] = detect(data, last_days(data, 20))
    assert anomaly.date == day
    assert anomaly.amount == Decimal(240)
    assert anomaly.expected_low < Decimal(100) < anomaly.expected_high < Decimal(240)
    assert anomaly.rule.startswith("Above the usual range: median of the")
    assert "weekdays" in anomaly.rule


def test_a_two_day_spike_is_found_on_both_days():
    data = series({44: "260", 45: "250"})
    assert [a.date for a in detect(data, last_days(data, 20))] == [
        START + timedelta(days=44),
        START + timedelta(days=45),
    ]


def test_a_drop_is_found_too():
    data = series({45: "20"})
    [anomaly] = detect(data, last_days(data, 20))
    assert anomaly.rule.startswith("Below")


def test_weekends_are_compared_with_weekends():
    data = series()
    weekend_day = next(d for d in last_days(data, 7) if d.weekday() == 5)
    data[weekend_day] = Decimal(100)  # a normal weekday's cost, but on a Saturday
    [anomaly] = detect(data, last_days(data, 10))
    assert anomaly.date == weekend_day and "weekend days" in anomaly.rule


def test_the_first_of_the_month_is_not_judged():
    data = series()
    first = date(2026, 11, 1)
    data[first] = Decimal(5000)  # monthly fees land on the 1st
    assert detect(data, last_days(data, 30)) == []


def test_without_enough_history_nothing_is_judged():
    data = series({4: "900"}, days=6)
    assert detect(data, sorted(data)) == []


def test_the_service_that_moved_most_is_named():
    data = series({45: "240"})
    day = START + timedelta(days=45)
    by_service = {d: {"EC2": amount * Decimal("0.6"), "S3": amount * Decimal("0.4")} for d, amount in data.items()}
    by_service[day] = {"EC2": Decimal(200), "S3": Decimal(40)}
    [anomaly] = detect(data, [day], by_service)
    assert anomaly.service == "EC2"


@given(st.decimals(min_value=Decimal("0.01"), max_value=Decimal("100000"), places=2))
def test_a_constant_series_never_flags_its_own_value(level):
    data = {START + timedelta(days=i): level for i in range(40)}
    assert detect(data, sorted(data)) == []
    low, high, _ = expected_range(sorted(data)[-1], data)
    assert low < level < high
