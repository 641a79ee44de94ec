"""The request budget and paged answers: a run either reports exact figures or sends no normal
report, never a wrong one; `ce_requests` is what the endpoint received."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from emulator.cost_explorer import DEFAULT_PAGE_GROUPS
from emulator.dataset import generate_demo_dataset
from emulator.payer import PayerDataset, payer_client, service_name
from lambdas.dal.archive import ReportArchive
from lambdas.dal.executions_table import ExecutionsTable
from tests.integration.conftest import AS_OF
from tests.integration.helpers import sent_messages
from tests.integration.runs import admin, ce_calls, register, run


@pytest.fixture
def page_size(embedded_aws):
    """Set the emulator's groups per page for one test."""

    def set_size(size: int) -> None:
        admin(embedded_aws, "ce/page-size", {"page_size": size})

    yield set_size
    set_size(DEFAULT_PAGE_GROUPS)


def by_id(demo_records, client_id):
    return next(r for r in demo_records if r["client_id"] == client_id)


def figures(report):
    """Every figure two reports of the same client and day must share."""
    return (
        report.period,
        report.total,
        report.previous_total,
        [(s.name, s.amount, s.previous_amount) for s in report.by_service],
        [(a.account_id, a.amount, a.previous_amount) for a in report.by_account],
        [(c.record_type, c.amount, c.previous_amount) for c in report.credits],
        [(p.date, p.amount) for p in report.daily],
        report.month_to_date,
        report.forecast,
    )


def test_a_budget_below_the_core_sends_no_normal_report_and_records_what_is_missing(
    platform, embedded_aws, demo_records
):
    client = register(by_id(demo_records, "initech-labs"), max_ce_requests=1)
    embedded_aws.ce.reset_log()

    outcome = run(client.client_id, AS_OF)

    assert outcome.status == "incomplete"
    assert outcome.ce_requests == len(ce_calls(embedded_aws)) == 1
    assert outcome.missing == ["credits and refunds: 14 period(s) not read"]
    assert sent_messages(embedded_aws.endpoint_url) == []
    assert ReportArchive(platform.assets_bucket).list(f"reports/{client.client_id}/") == []
    record = ExecutionsTable(platform.executions_table).get(client.client_id, outcome.run_id)
    assert record is not None
    assert (record.status, record.error_kind, record.missing) == ("incomplete", "incomplete", outcome.missing)
    assert record.total is None and record.archive_prefix is None  # not the period's figures
    assert (record.ce_budget, record.ce_planned) == (1, 4)  # the core: services, then record types of 14 days


def test_a_client_that_accepts_partial_reports_gets_one_that_says_so(platform, embedded_aws, demo_records):
    client = register(by_id(demo_records, "initech-labs"), max_ce_requests=1, send_partial=True)

    outcome = run(client.client_id, AS_OF)

    assert outcome.status == "succeeded" and outcome.report is not None
    assert not outcome.report.complete and outcome.report.missing
    [message] = sent_messages(embedded_aws.endpoint_url)
    assert "Subject: Partial report (incomplete): " in message["raw"]
    assert "Partial report: some of this period's costs could not be read" in outcome.files["report.txt"].decode()
    assert 'id="partial"' in outcome.files["report.html"].decode()


def test_small_pages_and_a_small_budget_never_give_a_wrong_figure_and_the_next_run_completes(
    platform, embedded_aws, demo_records, page_size
):
    """The two-account daily client of the '$0.00' case: answers paged at 40 groups."""
    record = by_id(demo_records, "globex-health")
    record = {k: v for k, v in record.items() if k != "breakdown"}
    whole = run(register(record, client_id="globex-whole").client_id, AS_OF)
    assert whole.status == "succeeded" and whole.report is not None and whole.report.complete

    credentials = {**record["credentials"], "role_arn": record["credentials"]["role_arn"] + "Paged"}
    paged = register(record, client_id="globex-paged", credentials=credentials, max_ce_requests=5)
    page_size(40)
    embedded_aws.ce.reset_log()
    sent_before = len(sent_messages(embedded_aws.endpoint_url))
    first = run(paged.client_id, AS_OF)
    # A budget the client set, on pages no answer has shown yet: the core days first, each on its
    # own. They fit; the chart and the baseline do not, and are left out (said before the first
    # request, and in the report), never shown as zero.
    assert first.ce_requests == len(ce_calls(embedded_aws)) <= 5
    assert first.status == "succeeded" and first.report is not None and first.report.complete
    assert first.report.daily == [] and first.report.month_to_date is None
    assert any(note.startswith("Cost Explorer budget: 5 requests (USD 0.05)") for note in first.report.notes)
    assert len(sent_messages(embedded_aws.endpoint_url)) == sent_before + 1

    # Runs of the same day go on from the cached whole days and fill in the rest.
    outcomes = [run(paged.client_id, AS_OF, at=datetime(2026, 11, 27, 7 + n, tzinfo=UTC)) for n in range(12)]
    sent = [first.report, *(o.report for o in outcomes if o.status == "succeeded" and o.report is not None)]
    assert all(o.status in ("incomplete", "succeeded") for o in outcomes)
    assert sent and all(report.complete for report in sent)
    for report in sent:
        assert figures(report)[:6] == figures(whole.report)[:6]  # period, totals, services, accounts, credits
        assert report.daily in ([], whole.report.daily)
        assert report.month_to_date in (None, whole.report.month_to_date)
        assert report.forecast in (None, whole.report.forecast)
    assert figures(sent[-1]) == figures(whole.report)


def test_the_default_budget_follows_the_client_and_gets_every_figure_exact_at_small_pages(
    platform, embedded_aws, demo_records, page_size
):
    record = {k: v for k, v in by_id(demo_records, "globex-health").items() if k != "breakdown"}
    whole = run(register(record, client_id="globex-whole").client_id, AS_OF)
    credentials = {**record["credentials"], "role_arn": record["credentials"]["role_arn"] + "Paged"}
    paged = register(record, client_id="globex-paged", credentials=credentials)  # no budget set: the default
    page_size(40)
    embedded_aws.ce.reset_log()

    outcome = run(paged.client_id, AS_OF)

    calls = ce_calls(embedded_aws)
    assert outcome.status == "succeeded", outcome.error
    assert outcome.report is not None and whole.report is not None and outcome.report.complete
    assert outcome.ce_requests == outcome.report.ce_requests == len(calls) > 10
    assert figures(outcome.report) == figures(whole.report)
    embedded_aws.ce.reset_log()
    rerun = run(paged.client_id, AS_OF, at=datetime(2026, 11, 27, 18, tzinfo=UTC))
    assert rerun.ce_requests == len(ce_calls(embedded_aws)) == 0


# -- a payer with 300 accounts x 40 services --------------------------------------------------------------


@pytest.fixture
def payer(embedded_aws):
    dataset = PayerDataset(
        accounts=300,
        services=40,
        first_day=date(2026, 9, 1),
        last_day=date(2026, 11, 26),
        finalised_through=date(2026, 10, 31),
    )
    embedded_aws.set_dataset(dataset)
    yield dataset
    embedded_aws.set_dataset(generate_demo_dataset(AS_OF))


def test_a_300_account_payer_gets_a_complete_exact_daily_report_within_its_budget(platform, embedded_aws, payer):
    client = register(payer_client(payer))
    embedded_aws.ce.reset_log()

    outcome = run(client.client_id, AS_OF)

    assert outcome.status == "succeeded", outcome.error
    report = outcome.report
    assert report is not None and report.complete and report.missing == []
    assert outcome.ce_requests == len(ce_calls(embedded_aws)) <= (outcome.ce_budget or 0)
    day = report.period.start
    assert day == date(2026, 11, 25)
    expected = sum((payer.usage(a, s, day) for a in range(300) for s in range(40)), Decimal(0))
    assert report.total == expected
    assert len(report.by_account) == 300 and len(report.by_service) == 40
    ec2 = next(line for line in report.by_service if line.name == service_name(0))
    assert ec2.amount == sum((payer.usage(a, 0, day) for a in range(300)), Decimal(0))
    assert report.daily and report.month_to_date is not None
    # The services were asked for the two compared days only: not for the 54 days of the chart.
    services = [c for c in ce_calls(embedded_aws) if c["body"]["GroupBy"][0]["Key"] == "SERVICE"]
    assert {c["body"]["TimePeriod"]["Start"] for c in services} == {"2026-11-25", "2026-11-18"}
