"""The Cost Explorer cache on the embedded AWS: cold, warm, restated, paginated."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from emulator.dataset import generate_demo_dataset
from tests.integration.conftest import AS_OF
from tests.integration.runs import admin, ce_calls, register, run

EC2 = "Amazon Elastic Compute Cloud - Compute"


def acme(demo_records):
    return next(r for r in demo_records if r["client_id"] == "acme-retail")


def test_each_schedule_costs_two_requests_cold_and_none_on_a_same_day_rerun(platform, embedded_aws, demo_records):
    # Three clients on distinct accounts: clients sharing credentials would share the cache.
    # Without a tag breakdown (that is a third request, tested below).
    for schedule, record in zip(("daily", "weekly", "monthly"), demo_records[:3], strict=True):
        client = register({k: v for k, v in record.items() if k != "breakdown"}, schedule=schedule)
        embedded_aws.ce.reset_log()
        cold = run(client.client_id, AS_OF)
        assert cold.status == "succeeded", cold.error
        assert (cold.ce_requests, cold.cache_hits) == (2, 0)
        assert len(ce_calls(embedded_aws)) == 2

        warm = run(client.client_id, AS_OF, at=datetime(2026, 11, 27, 18, tzinfo=UTC))
        assert warm.status == "succeeded", warm.error
        assert (warm.ce_requests, warm.cache_hits) == (0, 2)
        assert len(ce_calls(embedded_aws)) == 2  # nothing more reached Cost Explorer
        assert warm.report is not None and cold.report is not None
        assert warm.report.total == cold.report.total
        assert warm.report.by_service == cold.report.by_service
        assert warm.report.coverage is not None and warm.report.coverage.cache_hits == 2


def test_a_tag_breakdown_costs_one_request_more_cold_and_none_warm(platform, embedded_aws, demo_records):
    record = next(r for r in demo_records if r.get("breakdown"))
    client = register(record)
    cold = run(client.client_id, AS_OF)
    assert cold.status == "succeeded", cold.error
    assert (cold.ce_requests, cold.cache_hits) == (3, 0)
    assert cold.report is not None and cold.report.breakdown is not None
    assert {line.value for line in cold.report.breakdown.lines} == {"web", "data", "api", "platform", ""}
    warm = run(client.client_id, AS_OF, at=datetime(2026, 11, 27, 18, tzinfo=UTC))
    assert (warm.ce_requests, warm.cache_hits) == (0, 3)


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
        assert next_day.ce_requests == 2  # November is still an estimate: refreshed once a day
        assert next_day.report is not None
        after = next(p.amount for p in next_day.report.daily if p.date == day)
        assert after > before + Decimal(4000)
        # October is final: the next day's requests start on the 1st of November.
        starts = {call["body"]["TimePeriod"]["Start"] for call in ce_calls(embedded_aws)[-2:]}
        assert starts == {"2026-11-01"}
    finally:
        embedded_aws.set_dataset(generate_demo_dataset(AS_OF))  # the session's other tests expect the original


def test_a_many_page_answer_is_followed_to_the_end_and_each_page_counted(platform, embedded_aws, demo_records):
    record = acme(demo_records)
    baseline = register(record, client_id="acme-unpaged")
    whole = run(baseline.client_id, AS_OF)
    # Another role of the same payer, so the first run's cache is not this client's to read.
    credentials = {**record["credentials"], "role_arn": record["credentials"]["role_arn"] + "Paged"}
    paged = register(record, client_id="acme-paged", max_ce_requests=50, credentials=credentials)
    admin(embedded_aws, "ce/page-size", {"page_size": 200})
    try:
        embedded_aws.ce.reset_log()
        outcome = run(paged.client_id, AS_OF)
    finally:
        admin(embedded_aws, "ce/page-size", {"page_size": 5000})
    calls = ce_calls(embedded_aws)
    assert outcome.status == "succeeded", outcome.error
    assert outcome.ce_requests == len(calls) > 10
    assert sum(1 for call in calls if "NextPageToken" in call["body"]) == len(calls) - 2  # two queries
    assert all("Filter" in call["body"] for call in calls)  # the filter is resent with every page
    assert outcome.report is not None and whole.report is not None
    assert outcome.report.total == whole.report.total
    assert outcome.report.daily == whole.report.daily
    assert outcome.report.credits == whole.report.credits
