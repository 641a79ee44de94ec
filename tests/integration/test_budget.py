"""The per-client request budget: a run that would exceed it reports what it has and says so."""

from __future__ import annotations

from tests.integration.conftest import AS_OF
from tests.integration.runs import admin, ce_calls, register, run


def test_a_budget_of_one_request_fetches_the_core_and_says_what_is_missing(platform, embedded_aws, demo_records):
    initech = next(r for r in demo_records if r["client_id"] == "initech-labs")
    client = register(initech, max_ce_requests=1, breakdown={"type": "tag", "key": "team"})
    embedded_aws.ce.reset_log()

    outcome = run(client.client_id, AS_OF)

    assert outcome.status == "succeeded", outcome.error
    assert outcome.ce_requests == len(ce_calls(embedded_aws)) == 1
    report = outcome.report
    assert report is not None
    assert report.total > 0 and report.by_service
    assert report.credits == [] and report.breakdown is None  # not fetched: credits and tags
    assert any("Request budget reached (1 per run): credits" in note for note in report.notes)
    assert any("breakdown not complete" in note for note in report.notes)


def test_a_budget_spent_inside_an_answer_keeps_the_whole_days_and_the_next_run_goes_on(
    platform, embedded_aws, demo_records
):
    acme = next(r for r in demo_records if r["client_id"] == "acme-retail")
    client = register(acme, max_ce_requests=3)
    admin(embedded_aws, "ce/page-size", {"page_size": 400})
    try:
        first = run(client.client_id, AS_OF)
        assert first.ce_requests == 3 and first.report is not None
        assert any("costs by service and account not complete" in note for note in first.report.notes)
        assert first.report.coverage is not None
        assert 0 < first.report.coverage.days_with_data < first.report.coverage.days_expected

        # The cached whole days are not asked for again: the next run continues where this one stopped.
        embedded_aws.ce.reset_log()
        second = run(client.client_id, AS_OF)
        first_start = min(call["body"]["TimePeriod"]["Start"] for call in ce_calls(embedded_aws))
        assert first_start > "2026-10-04"
        assert second.report is not None and second.report.coverage is not None
        assert second.report.coverage.days_with_data > first.report.coverage.days_with_data
    finally:
        admin(embedded_aws, "ce/page-size", {"page_size": 5000})
