from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambdas.logic.cost_data import CostRow, DayTotals
from lambdas.logic.periods import month_to_date, window_for
from lambdas.logic.report import RunFacts, build_report, percent_change
from lambdas.logic.restatement import covers, restatement
from lambdas.models.exceptions import CostDataError
from lambdas.models.report import Period
from tests.unit.factories import cost_data, make_client

ACCOUNTS = ["111111111111", "222222222222"]
SERVICES = ["Amazon EC2", "Amazon S3", "AWS Lambda", "Credits <b>"]
GENERATED = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


def report_for(as_of: date, rows, estimated=None, *, read_all=True, **client_overrides):
    """The report of these rows; `read_all`: every day the window needs was read (absent rows cost
    zero), else only the rows' own days were read."""
    window = month_to_date(as_of)
    read = (window.query_start, as_of - timedelta(days=1)) if read_all else None
    return build_report(
        make_client(**client_overrides),
        window,
        cost_data(rows, estimated, read=read),
        RunFacts(run_id=f"{as_of}.daily", as_of=as_of, generated_at=GENERATED, ce_requests=1),
    )


def test_totals_comparison_and_change():
    rows = [
        ("2026-11-01", "Amazon EC2", ACCOUNTS[0], "100.00"),
        ("2026-11-02", "Amazon S3", ACCOUNTS[1], "50.25"),
        ("2026-10-01", "Amazon EC2", ACCOUNTS[0], "80.00"),
        ("2026-10-02", "AWS Lambda", ACCOUNTS[1], "20.00"),
        ("2026-10-20", "Amazon EC2", ACCOUNTS[0], "999.00"),  # after Oct 2: not a comparison day
    ]
    report = report_for(date(2026, 11, 3), rows)
    assert report.total == Decimal("150.25")
    assert report.previous_total == Decimal("100.00")
    assert report.change_amount == Decimal("50.25")
    assert report.change_percent == Decimal("50.3")
    names = [line.name for line in report.by_service]
    assert names == ["Amazon EC2", "Amazon S3", "AWS Lambda"]
    lambda_line = report.by_service[2]
    assert (lambda_line.amount, lambda_line.previous_amount) == (Decimal(0), Decimal("20.00"))
    assert [(p.date.day, p.amount) for p in report.daily] == [(1, Decimal("100.00")), (2, Decimal("50.25"))]


def test_zero_days_are_listed_and_estimated_days_marked():
    rows = [("2026-11-03", "Amazon S3", ACCOUNTS[0], "5")]
    report = report_for(date(2026, 11, 5), rows, estimated={"2026-11-04"})
    assert [p.amount for p in report.daily] == [Decimal(0), Decimal(0), Decimal(5), Decimal(0)]
    assert [p.estimated for p in report.daily] == [False, False, False, True]
    assert report.estimated


def test_negative_credit_reduces_the_total():
    rows = [
        ("2026-11-01", "Amazon EC2", ACCOUNTS[0], "100"),
        ("2026-11-01", "Credits <b>", ACCOUNTS[0], "-30"),
    ]
    report = report_for(date(2026, 11, 2), rows)
    assert report.total == Decimal(70)
    assert report.change_percent is None  # nothing to compare with
    assert report.by_service[-1].amount == Decimal(-30)


def test_every_account_of_the_client_is_listed_even_without_cost():
    report = report_for(date(2026, 11, 2), [("2026-11-01", "Amazon EC2", ACCOUNTS[0], "1")])
    assert {line.account_id for line in report.by_account} == set(ACCOUNTS)


def test_forecast_only_while_the_month_is_in_progress():
    rows = [("2026-10-05", "Amazon EC2", ACCOUNTS[0], "10")]
    assert report_for(date(2026, 11, 1), rows).forecast is None
    first = ("2026-11-01", "Amazon EC2", ACCOUNTS[0], "10")
    # Only the 1st known (AWS's monthly charges): no rate to take. With the day before: 10 + 29 x 10.
    assert report_for(date(2026, 11, 2), [first], read_all=False).forecast is None
    day_before = ("2026-10-31", "Amazon EC2", ACCOUNTS[0], "10")
    assert report_for(date(2026, 11, 2), [day_before, first], read_all=False).forecast == 300


def test_a_currency_other_than_the_clients_fails_the_run():
    with pytest.raises(CostDataError, match="EUR"):
        report_for(date(2026, 11, 2), [], currency="EUR")


def test_percent_change():
    assert percent_change(Decimal(110), Decimal(100)) == Decimal("10.0")
    assert percent_change(Decimal(-10), Decimal(-20)) == Decimal("50.0")
    assert percent_change(Decimal(5), Decimal(0)) is None


day_offsets = st.integers(min_value=-40, max_value=-1)
row_strategy = st.tuples(
    day_offsets,
    st.sampled_from(SERVICES),
    st.sampled_from(ACCOUNTS),
    st.decimals(min_value=Decimal("-1000"), max_value=Decimal("100000"), places=4, allow_nan=False),
)


@settings(max_examples=150, deadline=None)
@given(
    as_of=st.dates(min_value=date(2024, 1, 1), max_value=date(2030, 12, 31)),
    raw_rows=st.lists(row_strategy, max_size=60),
)
def test_sections_add_up_to_the_totals(as_of, raw_rows):
    rows = [((as_of + timedelta(days=o)).isoformat(), s, a, str(v)) for o, s, a, v in raw_rows]
    report = report_for(as_of, rows)
    window = month_to_date(as_of)
    in_current = sum((Decimal(v) for d, _, _, v in rows if window.current.contains(date.fromisoformat(d))), Decimal(0))
    in_previous = sum(
        (Decimal(v) for d, _, _, v in rows if window.previous.contains(date.fromisoformat(d))), Decimal(0)
    )
    assert report.total == in_current
    assert report.previous_total == in_previous
    assert sum((s.amount for s in report.by_service), Decimal(0)) == report.total
    assert sum((a.amount for a in report.by_account), Decimal(0)) == report.total
    assert sum((p.amount for p in report.daily), Decimal(0)) == report.total
    assert sum((s.previous_amount for s in report.by_service), Decimal(0)) == report.previous_total
    assert sum((a.previous_amount for a in report.by_account), Decimal(0)) == report.previous_total
    assert len(report.daily) == window.current.days
    assert report.change_amount == report.total - report.previous_total
    assert (report.change_percent is None) == (report.previous_total == 0)


# -- Report v2 sections ---------------------------------------------------------------------------


def weekly_data(credit="-45"):
    """Two weeks of usage (20..26 vs 13..19 November) and one credit a day."""
    rows = []
    credits = []
    for offset in range(14):
        day = date(2026, 11, 13) + timedelta(days=offset)
        current = day >= date(2026, 11, 20)
        rows.append((day.isoformat(), "Amazon EC2", ACCOUNTS[0], "100" if current else "80"))
        rows.append((day.isoformat(), "Amazon S3", ACCOUNTS[1], "10" if current else "30"))
        credits.append(CostRow(day, "Credit", ACCOUNTS[0], Decimal(credit)))
    return cost_data(rows, read=(date(2026, 10, 16), date(2026, 11, 26)), credit_rows=credits)


def weekly_report(**client):
    return build_report(
        make_client(schedule="weekly", **client),
        window_for("weekly", date(2026, 11, 27)),
        weekly_data(),
        RunFacts(
            run_id="2026-11-27.weekly", as_of=date(2026, 11, 27), generated_at=GENERATED, ce_requests=2, cache_hits=1
        ),
    )


def test_credits_are_their_own_lines_and_count_when_included():
    report = weekly_report(include_credits=True)
    assert [(c.record_type, c.amount, c.previous_amount) for c in report.credits] == [
        ("Credit", Decimal(-315), Decimal(-315))
    ]
    assert report.credits_included
    assert report.total == Decimal(770) - 315
    assert sum((s.amount for s in report.by_service), Decimal(0)) == Decimal(770)  # services stay gross


def test_credits_excluded_are_still_shown_but_not_counted():
    report = weekly_report(include_credits=False)
    assert not report.credits_included
    assert report.credits[0].amount == Decimal(-315)
    assert report.total == Decimal(770)
    assert report.previous_total == Decimal(770)


def test_movers_are_the_biggest_absolute_changes_each_way():
    report = weekly_report()
    assert [(m.name, m.change) for m in report.movers_up] == [("Amazon EC2", Decimal(140))]
    assert [(m.name, m.change) for m in report.movers_down] == [("Amazon S3", Decimal(-140))]


def test_weekly_chart_shows_both_weeks_and_coverage_counts_requests_and_hits():
    report = weekly_report()
    assert report.daily[0].date == date(2026, 11, 13) and len(report.daily) == 14
    assert report.schedule == "weekly" and report.kind == "scheduled"
    assert report.coverage is not None
    assert (report.coverage.ce_requests, report.coverage.ce_cost_usd, report.coverage.cache_hits) == (
        2,
        Decimal("0.02"),
        1,
    )
    assert report.coverage.days_expected == report.coverage.days_with_data == 14
    assert report.month_to_date is not None and report.forecast is not None


def test_monthly_trend_counts_credits_as_the_client_chose():
    data = cost_data([("2026-10-05", "Amazon EC2", ACCOUNTS[0], "1000")])
    for month, usage in ((date(2026, m, 1), 900 + m) for m in range(5, 11)):
        data.monthly[month] = DayTotals(Decimal(usage), Decimal(-50))
    data.credit_rows = [CostRow(month, "Credit", ACCOUNTS[0], Decimal(-50)) for month in data.monthly]
    for include, expected in ((True, Decimal(860)), (False, Decimal(910))):
        report = build_report(
            make_client(schedule="monthly", include_credits=include),
            window_for("monthly", date(2026, 11, 2)),
            data,
            RunFacts(run_id="r", as_of=date(2026, 11, 2), generated_at=GENERATED, ce_requests=2),
        )
        assert [m.month.month for m in report.monthly_trend] == [5, 6, 7, 8, 9, 10]
        assert report.monthly_trend[-1].amount == expected
        assert report.forecast is None and report.month_to_date is None


def test_restatement_lists_the_services_that_changed():
    sent = {
        "run_id": "2026-11-01.monthly",
        "period": {"start": "2026-10-01", "end": "2026-10-31"},
        "total": "100.00",
        "by_service": [{"name": "EC2", "amount": "70.00"}, {"name": "S3", "amount": "30.00"}],
    }
    assert covers(sent, Period(start=date(2026, 10, 1), end=date(2026, 10, 31)))
    assert not covers(sent, Period(start=date(2026, 10, 1), end=date(2026, 10, 30)))
    final = [
        service_line("EC2", "70.00"),
        service_line("S3", "32.50"),
        service_line("Tax", "8.00"),
    ]
    change = restatement(sent, Decimal("110.50"), final)
    assert change.sent_run_id == "2026-11-01.monthly"
    assert change.change_amount == Decimal("10.50")
    assert [(s.name, s.amount, s.previous_amount) for s in change.services] == [
        ("Tax", Decimal("8.00"), Decimal(0)),
        ("S3", Decimal("32.50"), Decimal("30.00")),
    ]


def service_line(name, amount):
    from lambdas.models.report import ServiceLine

    return ServiceLine(name=name, amount=Decimal(amount), previous_amount=Decimal(0))


# -- Missing is never zero; late data -----------------------------------------------------------------


def daily_data(*, read_from=date(2026, 10, 1), unread=(), provisional=(), credits_missing=False):
    """Daily rows of two accounts through the 25th, with a spike on the 24th."""
    rows = []
    day = read_from
    while day <= date(2026, 11, 25):
        if day not in unread:
            amount = "900" if day == date(2026, 11, 24) else ("80" if day.weekday() >= 5 else "100")
            rows.append((day.isoformat(), "Amazon EC2", ACCOUNTS[0], amount))
            rows.append((day.isoformat(), "Amazon S3", ACCOUNTS[1], "10"))
        day += timedelta(days=1)
    data = cost_data(rows)
    data.provisional_days = set(provisional)
    if credits_missing:
        data.missing["credits"] = 2
    if unread:
        data.missing["chart"] = len(unread)
    return data


def daily_report_of(data, **client):
    window = window_for("daily", date(2026, 11, 27), settled=date(2026, 11, 25))
    return build_report(
        make_client(**client),
        window,
        data,
        RunFacts(run_id="r", as_of=date(2026, 11, 27), generated_at=GENERATED, ce_requests=2),
    )


def test_the_daily_report_covers_the_newest_settled_day():
    window = window_for("daily", date(2026, 11, 27), settled=date(2026, 11, 25))
    assert (window.current.start, window.previous.start) == (date(2026, 11, 25), date(2026, 11, 18))
    assert window.chart_period == Period(start=date(2026, 11, 1), end=date(2026, 11, 25))
    # A report asked for an earlier day: that day's yesterday settled long ago.
    assert window_for("daily", date(2026, 11, 10), settled=date(2026, 11, 25)).current.start == date(2026, 11, 9)


def test_a_complete_report_is_complete_and_its_figures_add_up():
    report = daily_report_of(daily_data())
    assert report.complete and report.missing == []
    assert report.total == Decimal(110)
    assert report.month_to_date == sum((p.amount for p in report.daily), Decimal(0))
    assert [a.date for a in report.anomalies] == [date(2026, 11, 24)]


def test_unread_core_figures_make_the_report_incomplete_and_say_what_is_missing():
    data = daily_data()
    data.missing["core"] = 1
    report = daily_report_of(data)
    assert not report.complete
    assert report.missing == ["the period's and the comparison's costs by service and account: 1 period(s) not read"]


def test_unread_credits_make_it_incomplete_only_when_they_count_in_the_total():
    assert not daily_report_of(daily_data(credits_missing=True), include_credits=True).complete
    assert daily_report_of(daily_data(credits_missing=True), include_credits=False).complete


def test_a_day_of_the_month_not_read_leaves_out_the_chart_month_to_date_and_forecast_never_zero():
    report = daily_report_of(daily_data(unread=[date(2026, 11, 10)]))
    assert report.complete  # the core days were read
    assert report.daily == [] and report.month_to_date is None and report.forecast is None
    assert any("the daily chart and the month to date" in note for note in report.notes)
    assert report.coverage is not None and report.coverage.days_with_data == 24


def test_a_day_still_filling_in_never_fires_an_anomaly_and_is_left_out_of_the_run_rate():
    data = daily_data(provisional=[date(2026, 11, 24)])
    report = daily_report_of(data)
    assert report.anomalies == []
    assert "days AWS is still filling in" in (report.forecast_method or "")
    assert [p.date for p in report.daily if p.provisional] == [date(2026, 11, 24)]
    assert report.provisional_days == [date(2026, 11, 24)]


def test_estimated_while_a_day_of_the_period_is_unread():
    data = daily_data()
    del data.daily[date(2026, 11, 25)]
    assert daily_report_of(data).estimated
    assert not daily_report_of(daily_data()).estimated


def test_a_trend_with_a_month_not_read_is_left_out():
    data = cost_data([("2026-10-05", "Amazon EC2", ACCOUNTS[0], "1000")])
    for month in (date(2026, m, 1) for m in range(6, 11)):  # May missing
        data.monthly[month] = DayTotals(Decimal(900))
    report = build_report(
        make_client(schedule="monthly"),
        window_for("monthly", date(2026, 11, 2)),
        data,
        RunFacts(run_id="r", as_of=date(2026, 11, 2), generated_at=GENERATED, ce_requests=2),
    )
    assert report.monthly_trend == []
