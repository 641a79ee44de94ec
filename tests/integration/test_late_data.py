"""Late data: a day that fills in over the following day (the embedded Cost Explorer's late_data),
and what the reports do with it (docs/cost-explorer.md, late data)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from emulator.cost_explorer import visible_share
from tests.integration.conftest import AS_OF
from tests.integration.runs import register, run


@pytest.fixture
def filling(embedded_aws):
    embedded_aws.ce.late_data = True
    yield embedded_aws.dataset
    embedded_aws.ce.late_data = False


def by_id(demo_records, client_id):
    return next(r for r in demo_records if r["client_id"] == client_id)


def cost_of(dataset, client, day: date) -> Decimal:
    """The day's whole cost before credits, in the client's metric, as the dataset holds it."""
    records = dataset.records_between(day, day + timedelta(days=1), set(client.account_ids))
    field = "amortized" if client.metric == "AmortizedCost" else "unblended"
    return sum((getattr(r, field) for r in records if r.record_type not in ("Credit", "Refund")), Decimal(0))


def test_the_daily_report_at_06_utc_covers_the_settled_day_before_yesterday_in_full(platform, demo_records, filling):
    client = register(by_id(demo_records, "globex-health"), client_id="globex-late", breakdown=None)
    outcome = run(client.client_id, AS_OF)  # 06:00 UTC on the 27th
    report = outcome.report
    assert outcome.status == "succeeded" and report is not None
    assert report.period.start == date(2026, 11, 25)
    assert visible_share(date(2026, 11, 26), datetime(2026, 11, 27, 6, tzinfo=UTC)) < 1  # yesterday: filling in
    assert sum((line.amount for line in report.by_service), Decimal(0)) == cost_of(filling, client, date(2026, 11, 25))
    assert report.provisional_days == [] and report.corrections == []


def test_a_weekly_reports_last_day_still_filling_in_is_marked_never_an_anomaly_and_corrected_next_week(
    platform, demo_records, filling
):
    client = register(by_id(demo_records, "acme-retail"), client_id="acme-late", schedule="weekly")
    first = run(client.client_id, date(2026, 11, 20))  # 06:00 UTC: the 19th is still filling in
    report = first.report
    assert first.status == "succeeded" and report is not None
    last = date(2026, 11, 19)
    assert report.provisional_days == [last]
    [point] = [p for p in report.daily if p.date == last]
    assert point.provisional and point.amount < cost_of(filling, client, last)
    assert all(anomaly.date != last for anomaly in report.anomalies)
    assert any("19 November is provisional" in note for note in report.notes)

    second = run(client.client_id, AS_OF)  # a week later: the 19th has settled
    later = second.report
    assert second.status == "succeeded" and later is not None
    [correction] = later.corrections
    assert correction.date == last
    assert correction.reported == point.amount
    assert correction.settled == cost_of(filling, client, last)
    # The comparison week is the week reported before, now with its last day settled.
    assert later.previous_period == report.period
    assert later.previous_total - report.total == correction.change > 0
    text = second.files["report.txt"].decode()
    assert "was shown while Cost Explorer was still filling it in" in text
