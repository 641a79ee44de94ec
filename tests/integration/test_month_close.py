"""The month-close run: last month again once AWS has finalised it, with what changed."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from emulator.dataset import generate_demo_dataset
from lambdas.dal.clients_table import ClientsTable
from lambdas.dal.jobs_queue import JobsQueue
from lambdas.orchestration.dispatch import dispatch_due
from tests.integration.conftest import AS_OF
from tests.integration.helpers import sent_messages
from tests.integration.runs import admin, register, run

EC2 = "Amazon Elastic Compute Cloud - Compute"


@pytest.fixture
def early_november(embedded_aws):
    """Cost data as Cost Explorer has it on 3 November: October is still an estimate."""
    embedded_aws.set_dataset(generate_demo_dataset(date(2026, 11, 3)))
    yield embedded_aws.dataset
    embedded_aws.set_dataset(generate_demo_dataset(AS_OF))


def test_the_final_run_waits_for_aws_then_resends_last_month_with_what_changed(
    platform, embedded_aws, demo_records, early_november
):
    umbrella = register(next(r for r in demo_records if r["client_id"] == "umbrella-media"))
    sent = run(umbrella.client_id, date(2026, 11, 1), kind="scheduled", run_id="2026-11-01.monthly")
    assert sent.status == "succeeded" and sent.report is not None
    assert sent.report.estimated and sent.report.period.start == date(2026, 10, 1)

    queue = JobsQueue(platform.jobs_queue_url)
    clients = ClientsTable(platform.clients_table)
    assert dispatch_due("month-close", date(2026, 11, 3), clients, queue) == []  # too early in the month
    [job] = dispatch_due("month-close", date(2026, 11, 5), clients, queue)
    assert (job.client_id, job.kind, job.run_id) == ("umbrella-media", "final", "2026-11-05.final")

    not_yet = run(umbrella.client_id, date(2026, 11, 5), kind="final", run_id="2026-11-05.final")
    assert (not_yet.status, not_yet.error) == ("skipped", "last month is not final yet in Cost Explorer")
    assert len(sent_messages(embedded_aws.endpoint_url)) == 1

    # AWS restates a day of October and closes the month.
    restated = early_november.records_between(date(2026, 10, 20), date(2026, 10, 21), ["555555555551"])
    old = sum((r.unblended for r in restated if r.service == EC2 and r.record_type == "Usage"), Decimal(0))
    admin(
        embedded_aws,
        "ce/restate",
        {"day": "2026-10-20", "account_id": "555555555551", "service": EC2, "amount": str(old + 700)},
    )
    early_november.finalised_through = date(2026, 10, 31)

    final = run(
        umbrella.client_id,
        date(2026, 11, 6),
        kind="final",
        run_id="2026-11-06.final",
        at=datetime(2026, 11, 6, 6, tzinfo=UTC),
    )
    assert final.status == "succeeded", final.error
    report = final.report
    assert report is not None and report.kind == "final" and not report.estimated
    change = report.restatement
    assert change is not None
    assert change.sent_run_id == "2026-11-01.monthly"
    assert change.sent_total == sent.report.total
    assert change.final_total == report.total
    assert change.change_amount == Decimal(700)
    [ec2] = change.services
    assert (ec2.name, ec2.change) == (EC2, Decimal(700))
    assert len(sent_messages(embedded_aws.endpoint_url)) == 2

    again = run(umbrella.client_id, date(2026, 11, 7), kind="final", run_id="2026-11-07.final")
    assert (again.status, again.error) == ("skipped", "the final report of this month was already sent")
    assert again.ce_requests == 0
