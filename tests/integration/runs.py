"""Helpers of the Cost Explorer integration tests: runs of the real pipeline with a fixed clock."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time
from typing import Any

from emulator.admin import admin as emulator_admin
from lambdas import clock
from lambdas.dal.clients_table import ClientsTable
from lambdas.models.client import Client, parse_client
from lambdas.models.events import ReportJob
from lambdas.models.settings import get_settings
from lambdas.orchestration.dependencies import dependencies_from
from lambdas.orchestration.outcome import RunOutcome
from lambdas.orchestration.run import ReportRun

_numbers = itertools.count(1)


def register(record: dict[str, Any], **overrides: Any) -> Client:
    client = parse_client({**record, **overrides})
    ClientsTable(get_settings().clients_table).put(client)
    return client


def run(
    client_id: str,
    as_of: date,
    *,
    at: datetime | None = None,
    kind: str = "manual",
    run_id: str | None = None,
    shared_accounts: list[str] | None = None,
) -> RunOutcome:
    """One run through the pipeline; `at` is the clock (default: 06:00 UTC on `as_of`)."""
    deps = dependencies_from(get_settings())
    now = at or datetime.combine(as_of, time(6), tzinfo=UTC)
    job = ReportJob(
        run_id=run_id or f"{as_of.isoformat()}.manual-{next(_numbers)}",
        client_id=client_id,
        as_of=as_of,
        kind=kind,  # type: ignore[arg-type]
        shared_accounts=shared_accounts or [],
    )
    with clock.pinned(now):  # the one clock: the worker's and the embedded Cost Explorer's
        return ReportRun(deps).run(job)


def ce_calls(aws: Any, operation: str = "GetCostAndUsage") -> list[dict[str, Any]]:
    return [entry for entry in aws.ce.request_log() if entry["target"].endswith(operation)]


def admin(aws: Any, path: str, body: dict[str, Any]) -> Any:
    return emulator_admin(aws.endpoint_url, path, body)
