from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lambdas.logic.cost_data import CostRow
from lambdas.logic.periods import month_to_date, window_for
from lambdas.logic.report import build_report, percent_change
from lambdas.logic.restatement import covers, restatement
from lambdas.models.exceptions import CostDataError
from lambdas.models.report import Period
from tests.unit.factories import cost_data, make_client

ACCOUNTS = ["111111111111", "222222222222"]
SERVICES = ["Amazon EC2", "Amazon S3", "AWS Lambda", "Credits <b>"]
GENERATED = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)


def report_for(as_of: date, rows, estimated=None, **client_overrides):
    return build_report(
        make_client(**client_overrides),
        month_to_date(as_of),
        cost_data(rows, estimated),
        run_id=f"{as_of}.daily",
        as_of=as_of,
        generated_at=GENERATED,
        ce_requests=1,
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
    assert report_for(date(2026, 11, 2), [first]).forecast is None
    assert report_for(date(2026, 11, 2), [("2026-10-31", "Amazon EC2", ACCOUNTS[0], "10"), first]).forecast == 300


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
    data = cost_data(rows)
    data.credit_rows = credits
    return data


def weekly_report(**client):
    return build_report(
        make_client(schedule="weekly", **client),
        window_for("weekly", date(2026, 11, 27)),
        weekly_data(),
        run_id="2026-11-27.weekly",
        as_of=date(2026, 11, 27),
        generated_at=GENERATED,
        ce_requests=2,
        cache_hits=1,
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
        data.monthly_rows.append(CostRow(month, "Usage", ACCOUNTS[0], Decimal(usage)))
        data.monthly_rows.append(CostRow(month, "Credit", ACCOUNTS[0], Decimal(-50)))
    data.credit_rows = [r for r in data.monthly_rows if r.service == "Credit"]
    for include, expected in ((True, Decimal(860)), (False, Decimal(910))):
        report = build_report(
            make_client(schedule="monthly", include_credits=include),
            window_for("monthly", date(2026, 11, 2)),
            data,
            run_id="r",
            as_of=date(2026, 11, 2),
            generated_at=GENERATED,
            ce_requests=2,
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
