"""The Cost Explorer cache on the embedded AWS: cold, warm, restated, paginated."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal

from emulator.cost_explorer import DEFAULT_PAGE_GROUPS
from emulator.dataset import generate_demo_dataset
from tests.integration.conftest import AS_OF
from tests.integration.runs import admin, ce_calls, register, run

EC2 = "Amazon Elastic Compute Cloud - Compute"


def acme(demo_records):
    return next(r for r in demo_records if r["client_id"] == "acme-retail")


# Cold requests per schedule: services and record types (monthly: services by month, record types by
# month for the trend and by day for the chart); acme's daily report one more, for the services of
# its anomaly's day (the spike of the 24th and 25th), to name what moved.
COLD = {"daily": 3, "weekly": 2, "monthly": 3}
NEEDS = {"daily": 4, "weekly": 4, "monthly": 5}  # core, credits, chart, baseline (+ trend)


def test_each_schedule_costs_two_or_three_requests_cold_and_none_on_a_same_day_rerun(
    platform, embedded_aws, demo_records
):
    # Three clients on distinct accounts: clients sharing credentials would share the cache.
    # Without a tag breakdown (that is a request more, tested below).
    for schedule, record in zip(("daily", "weekly", "monthly"), demo_records[:3], strict=True):
        client = register({k: v for k, v in record.items() if k != "breakdown"}, schedule=schedule)
        embedded_aws.ce.reset_log()
        cold = run(client.client_id, AS_OF)
        assert cold.status == "succeeded", cold.error
        assert (cold.ce_requests, cold.cache_hits) == (COLD[schedule], 0), schedule
        assert len(ce_calls(embedded_aws)) == COLD[schedule]

        warm = run(client.client_id, AS_OF, at=datetime(2026, 11, 27, 18, tzinfo=UTC))
        assert warm.status == "succeeded", warm.error
        assert (warm.ce_requests, warm.cache_hits) == (0, NEEDS[schedule])
        assert len(ce_calls(embedded_aws)) == COLD[schedule]  # nothing more reached Cost Explorer
        assert warm.report is not None and cold.report is not None
        assert warm.report.total == cold.report.total
        assert warm.report.by_service == cold.report.by_service
        assert warm.report.anomalies == cold.report.anomalies


def test_a_tag_breakdown_costs_one_request_more_cold_and_none_warm(platform, embedded_aws, demo_records):
    record = next(r for r in demo_records if r.get("breakdown"))
    client = register(record)
    cold = run(client.client_id, AS_OF)
    assert cold.status == "succeeded", cold.error
    assert (cold.ce_requests, cold.cache_hits) == (3, 0)
    assert cold.report is not None and cold.report.breakdown is not None
    assert {line.value for line in cold.report.breakdown.lines} == {"web", "data", "api", "platform", ""}
    warm = run(client.client_id, AS_OF, at=datetime(2026, 11, 27, 18, tzinfo=UTC))
    assert (warm.ce_requests, warm.cache_hits) == (0, 5)


def test_a_restated_day_is_picked_up_by_the_next_days_run(platform, embedded_aws, demo_records):
    client = register(acme(demo_records), schedule="weekly")
    day = date(2026, 11, 25)
    first = run(client.client_id, AS_OF)
    assert first.report is not None
    before = next(p.amount for p in first.report.daily if p.date == day)

    admin(
        embedded_aws,
        "ce/restate",
        {"day": day.isoformat(), "account_id": "111111111112", "service": EC2, "amount": "5000"},
    )
    try:
        same_day = run(client.client_id, AS_OF, at=datetime(2026, 11, 27, 20, tzinfo=UTC))
        assert same_day.ce_requests == 0  # documented: a same-day re-run reuses the morning's answer
        next_day = run(client.client_id, date(2026, 11, 28))
        # November is still an estimate: refreshed once a day (the anomaly's services are in the cache)
        assert next_day.ce_requests == 2
        assert next_day.report is not None
        after = next(p.amount for p in next_day.report.daily if p.date == day)
        assert after > before + Decimal(4000)
        # October is final: the next day's record types start on the 1st of November (services only
        # ever cover the compared weeks, 14..27 November).
        starts = {
            call["body"]["GroupBy"][0]["Key"]: call["body"]["TimePeriod"]["Start"]
            for call in ce_calls(embedded_aws)[-2:]
        }
        assert starts == {"RECORD_TYPE": "2026-11-01", "SERVICE": "2026-11-14"}
    finally:
        embedded_aws.set_dataset(generate_demo_dataset(AS_OF))  # the session's other tests expect the original


def test_a_many_page_answer_is_followed_to_the_end_and_each_page_counted(platform, embedded_aws, demo_records):
    record = acme(demo_records)
    baseline = register(record, client_id="acme-unpaged")
    whole = run(baseline.client_id, AS_OF)
    # Another role of the same payer, so the first run's cache is not this client's to read.
    credentials = {**record["credentials"], "role_arn": record["credentials"]["role_arn"] + "Paged"}
    paged = register(record, client_id="acme-paged", max_ce_requests=50, credentials=credentials)
    admin(embedded_aws, "ce/page-size", {"page_size": 40})
    try:
        embedded_aws.ce.reset_log()
        outcome = run(paged.client_id, AS_OF)
    finally:
        admin(embedded_aws, "ce/page-size", {"page_size": DEFAULT_PAGE_GROUPS})
    calls = ce_calls(embedded_aws)
    assert outcome.status == "succeeded", outcome.error
    assert outcome.ce_requests == len(calls) > 10
    queries = len({json.dumps({k: v for k, v in call["body"].items() if k != "NextPageToken"}) for call in calls})
    assert sum(1 for call in calls if "NextPageToken" in call["body"]) == len(calls) - queries
    assert all("Filter" in call["body"] for call in calls)  # the filter is resent with every page
    assert outcome.report is not None and whole.report is not None
    assert outcome.report.total == whole.report.total
    assert outcome.report.daily == whole.report.daily
    assert outcome.report.credits == whole.report.credits
