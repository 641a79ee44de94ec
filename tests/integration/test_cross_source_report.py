"""Two cost sources, one report (DESIGN.md): the same client's report built by the real run once from
Cost Explorer (the emulator) and once from its Data Export (FOCUS 1.2, CUR 2.0) agrees on every
figure the two share, to the cent; only the export's report adds what Cost Explorer cannot give (top
resources, and commitment use from FOCUS)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from emulator.exports import deliver_client_exports
from lambdas import clock
from lambdas.models.events import ReportJob
from lambdas.models.settings import get_settings
from lambdas.orchestration import run as run_module
from lambdas.orchestration.dependencies import dependencies_from
from lambdas.orchestration.outcome import RunOutcome
from lambdas.orchestration.run import ReportRun
from tests.integration.conftest import AS_OF
from tests.integration.runs import ce_calls, register

NOW = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 9, tzinfo=UTC)
CENT = Decimal("0.01")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
# Every figure of the report the two sources share: the totals, the breakdowns, the days, the
# month, the forecast and what it rests on, credits and refunds, the tag breakdown, the flags.
SHARED = (
    "period",
    "previous_period",
    "currency",
    "total",
    "previous_total",
    "change_amount",
    "change_percent",
    "month_to_date",
    "forecast",
    "forecast_method",
    "budget",
    "by_service",
    "movers_up",
    "movers_down",
    "by_account",
    "breakdown",
    "credits",
    "credits_included",
    "daily",
    "monthly_trend",
    "anomalies",
    "estimated",
    "complete",
    "missing",
    "provisional_days",
)


def _cents(value: Any) -> Any:
    """The report's JSON with every amount to the cent (amounts are decimal strings)."""
    if isinstance(value, dict):
        return {key: _cents(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_cents(item) for item in value]
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        return Decimal(value).quantize(CENT)
    return value


def _run(client_id: str, run_id: str, facts: list[Any]) -> RunOutcome:
    deps = dependencies_from(get_settings())
    job = ReportJob(run_id=run_id, client_id=client_id, as_of=AS_OF, kind="manual")
    with clock.pinned(NOW):
        outcome = ReportRun(deps, dry_run=True).run(job)
    assert outcome.status == "succeeded", outcome.error
    assert len(facts) > 0
    return outcome


@pytest.mark.parametrize("export_format", ["focus_1_2", "cur_2_0"])
@pytest.mark.parametrize("client_id", ["acme-retail", "globex-health", "initech-labs", "umbrella-media", "hooli"])
def test_the_same_clients_report_from_cost_explorer_and_from_its_export_agrees_to_the_cent(
    platform, embedded_aws, demo_records, monkeypatch, client_id, export_format
):
    facts: list[Any] = []
    real = run_module.build_report

    def spy(client, window, data, given, **kwargs):
        facts.append(given)
        return real(client, window, data, given, **kwargs)

    monkeypatch.setattr(run_module, "build_report", spy)
    base = dict(next(r for r in demo_records if r["client_id"] == client_id))
    base.pop("data_export", None)

    register({**base, "cost_source": "cost_explorer"})
    explored = _run(client_id, "2026-11-27.from-cost-explorer", facts)
    explorer_facts = facts.pop()
    assert len(ce_calls(embedded_aws)) == explored.ce_requests > 0

    export = {
        "bucket": f"{client_id}-billing-exports",
        "prefix": "exports",
        "export_name": f"{client_id}-{export_format.replace('_', '-')}",
        "format": export_format,
        "access": "client_role",
    }
    record = {**base, "cost_source": "data_exports", "data_export": export}
    deliver_client_exports(embedded_aws.dataset, [record], end_exclusive=AS_OF, now=NOW)  # its whole history
    register(record)
    embedded_aws.ce.reset_log()
    exported = _run(client_id, "2026-11-27.from-export", facts)
    export_facts = facts.pop()

    assert ce_calls(embedded_aws) == [] and exported.ce_requests == 0
    assert explored.report is not None and exported.report is not None
    from_explorer = explored.report.model_dump(mode="json")
    from_export = exported.report.model_dump(mode="json")
    for name in SHARED:
        assert _cents(from_export[name]) == _cents(from_explorer[name]), name
    assert from_export["by_service"] and from_export["daily"]  # not two empty reports agreeing
    assert exported.report.total == explored.report.total  # the amounts exactly, not only their cents
    if client_id == "globex-health":
        assert from_export["breakdown"]  # the tag breakdown (team) from the export's tags
    if client_id == "initech-labs":
        assert from_export["credits"]  # its promotional credit
    # What only the export gives, in the run's facts; Cost Explorer's run has none.
    assert (explorer_facts.cost_source, explorer_facts.top_resources, explorer_facts.commitments) == (
        "cost_explorer",
        (),
        (),
    )
    assert export_facts.cost_source == "data_exports"
    assert export_facts.top_resources
    assert all(r.account_id in base["account_ids"] for r in export_facts.top_resources)
    if export_format == "focus_1_2":
        assert {c.type for c in export_facts.commitments} == {"Savings Plan", "Reservation"}
    else:
        assert export_facts.commitments == ()  # commitment use is read from FOCUS only
