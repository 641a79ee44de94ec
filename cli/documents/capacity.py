"""`ops capacity`'s document: growth, the worker against its limits, a projection, what to change."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from cli.documents.kpis import meta
from cli.probes import sources
from cli.readers import tables
from cli.readers.clients import clients_table, cost_explorer_estimate
from cli.reviews.capacity import (
    DURATION_THRESHOLD,
    MEMORY_THRESHOLD,
    WORKER_BATCH_SIZE,
    Series,
    clients_by_month,
    next_memory_size,
    runs_by_month,
    runs_following_clients,
    threshold_status,
)
from cli.reviews.periods import mean, percentile, rounded
from infrastructure.config import EnvironmentConfig
from lambdas.logic.periods import add_months
from lambdas.models.client import parse_client
from lambdas.models.exceptions import InvalidInputError
from lambdas.models.execution import ExecutionRecord
from lambdas.models.settings import DEFAULT_CE_REQUEST_CAP


def worker_limits(config: EnvironmentConfig) -> sources.FunctionLimits | None:
    return sources.function_limits(config, config.worker_function)


Findings = tuple[list[dict[str, Any]], list[str]]  # checks, and the advice they call for


def capacity_document(
    config: EnvironmentConfig, at: datetime, *, history_months: int, forecast_months: int
) -> dict[str, Any]:
    this_month = at.date().replace(day=1)
    months = [add_months(this_month, -offset) for offset in range(history_months - 1, -1, -1)]
    start = datetime(months[0].year, months[0].month, 1, tzinfo=UTC)
    runs = tables.runs_between(config, start, at)
    records = list(clients_table(config).records())
    clients = Series("clients", months, clients_by_month(_registrations(records), months)).project(forecast_months)
    # Today counts as recorded once it has runs (the 06:00 dispatch has fired): its runs are counted.
    recorded_until = max([at.date(), *(r.started_at.astimezone(UTC).date() + timedelta(days=1) for r in runs)])
    executions = Series("executions", months, runs_by_month(runs, months, recorded_until))
    executions.projected, runs_basis = runs_following_clients(runs, months, recorded_until, clients)
    recent = [r for r in runs if r.started_at >= at - timedelta(days=30)]
    worker = worker_limits(config)
    durations = [r.duration_ms for r in recent if r.duration_ms is not None and r.status != "running"]
    cost_explorer = _cost_explorer_plans(config, records)
    projection, drain = _projection(executions, clients, durations, worker)
    checks: list[dict[str, Any]] = []
    advice: list[str] = []
    for found, advised in (
        _memory_check(recent, worker),
        _duration_check(config, at, durations, worker),
        _throttle_check(config, at),
        _drain_check(drain),
        _cost_explorer_check(cost_explorer),
    ):
        checks += found
        advice += advised
    if not advice:
        advice.append("Nothing to change: every threshold holds now and at the projected volume.")
    return {
        **meta(config, at, "capacity"),
        "cost_explorer": cost_explorer,
        "history_months": history_months,
        "forecast_months": forecast_months,
        "growth": {
            "clients": clients.as_dict(),
            "executions": {
                **executions.as_dict(),
                "scaled": _scaled_months(runs, months, recorded_until),
                "projection_basis": runs_basis,
            },
        },
        "worker": worker.as_dict() if worker else None,
        "checks": checks,
        "tables": tables.table_sizes(config),
        "bucket": sources.bucket_size(config, at).as_dict(),
        "projection": projection,
        "recommendations": advice,
        "thresholds": {"memory": MEMORY_THRESHOLD, "duration_of_timeout": DURATION_THRESHOLD, "throttles": 0},
    }


def _registrations(records: list[dict[str, Any]]) -> list[datetime | None]:
    registrations: list[datetime | None] = []
    for record in records:
        try:
            registrations.append(parse_client(record).created_at)
        except InvalidInputError:
            registrations.append(None)
    return registrations


def _memory_check(recent: list[ExecutionRecord], worker: sources.FunctionLimits | None) -> Findings:
    memory = [r.max_memory_mb for r in recent if r.max_memory_mb is not None]
    peak = max(memory) if memory else None
    limit = Decimal(worker.memory_mb) if worker else None
    status = threshold_status(Decimal(peak) if peak is not None else None, limit, MEMORY_THRESHOLD)
    check = {
        "check": "worker memory",
        "status": status,
        "used": peak,
        "limit": worker.memory_mb if worker else None,
        "unit": "MB",
        "detail": f"peak resident memory of {len(memory)} run(s) in 30 days against the function's memory; "
        "above 80%: raise it",
    }
    if status != "WARNING" or peak is None:
        return [check], []
    return [check], [
        f"Raise the worker's memory from {worker.memory_mb if worker else '?'} MB to "
        f"{next_memory_size(peak)} MB (WORKER in infrastructure/constructs/functions.py, then cdk deploy)."
    ]


def _duration_check(
    config: EnvironmentConfig, at: datetime, durations: list[int], worker: sources.FunctionLimits | None
) -> Findings:
    duration = sources.metric_total(
        "AWS/Lambda", "Duration", {"FunctionName": config.worker_function}, at - timedelta(days=30), at, "Maximum"
    )
    p95 = percentile(durations, 95)
    timeout_ms = Decimal(worker.timeout_s * 1000) if worker else None
    longest = duration.value if duration.available else None
    batch = p95 * WORKER_BATCH_SIZE if p95 is not None else None
    status = threshold_status(longest if longest is not None else batch, timeout_ms, DURATION_THRESHOLD)
    check = {
        "check": "worker duration",
        "status": status,
        "used": longest if longest is not None else batch,
        "limit": timeout_ms,
        "unit": "ms",
        "detail": (
            f"longest invocation in 30 days ({duration.source})"
            if longest is not None
            else f"a batch of {WORKER_BATCH_SIZE} runs at the p95 run duration ({duration.reason}: "
            "CloudWatch has no invocation durations)"
        ),
    }
    if status != "WARNING":
        return [check], []
    return [check], [
        "Invocations approach the worker's timeout: raise the timeout (WORKER sizing) or lower the SQS batch "
        "size (BATCH_SIZE in infrastructure/constructs/fanout.py)."
    ]


def _throttle_check(config: EnvironmentConfig, at: datetime) -> Findings:
    throttles = sources.metric_total(
        "AWS/Lambda", "Throttles", {"FunctionName": config.worker_function}, at - timedelta(days=30), at
    )
    status = "UNKNOWN" if not throttles.available else ("WARNING" if throttles.value > 0 else "OK")
    check = {
        "check": "worker throttling",
        "status": status,
        "used": throttles.value if throttles.available else None,
        "limit": 0,
        "unit": "throttles",
        "detail": throttles.source if throttles.available else f"{throttles.source}: {throttles.reason}",
    }
    if status != "WARNING":
        return [check], []
    return [check], [
        "The worker was throttled: raise the account's Lambda concurrency or reserved concurrency, and check "
        "the event source's maximum concurrency (MAX_CONCURRENCY in infrastructure/constructs/fanout.py)."
    ]


def _projection(
    executions: Series, clients: Series, durations: list[int], worker: sources.FunctionLimits | None
) -> tuple[dict[str, Any], Decimal | None]:
    """The load at the horizon, and the time the daily dispatch then takes to drain (ms)."""
    concurrency = worker.max_concurrency if worker and worker.max_concurrency else None
    mean_ms = mean(durations)
    projected_daily = (executions.projected[-1][1] / 30) if executions.projected else None
    drain = None
    if projected_daily is not None and mean_ms is not None:
        drain = projected_daily * mean_ms / Decimal(concurrency or 5)
    projection = {
        "horizon": executions.projected[-1][0] if executions.projected else None,
        "clients": clients.projected[-1][1] if clients.projected else None,
        "runs_per_day": rounded(projected_daily, "0.1"),
        "mean_run_ms": rounded(mean_ms, "1"),
        "max_concurrency": concurrency or 5,
        "daily_burst_drain_ms": rounded(drain, "1"),
        "note": "memory and invocation duration do not grow with the number of clients (one client per run; "
        "docs/architecture.md measured 145-155 MB from 4 to 104 clients): the projection is of load, "
        "the time the daily dispatch takes to drain at the event source's concurrency",
    }
    return projection, drain


def _drain_check(drain: Decimal | None) -> Findings:
    if drain is None or drain <= 2 * 3600 * 1000:
        return [], []
    check = {
        "check": "projected daily drain",
        "status": "WARNING",
        "used": drain,
        "limit": 2 * 3600 * 1000,
        "unit": "ms",
        "detail": "the daily burst at the projected volume",
    }
    return [check], [
        "At the projected volume the 06:00 daily dispatch takes over two hours to drain: raise the event "
        "source's maximum concurrency (MAX_CONCURRENCY in infrastructure/constructs/fanout.py)."
    ]


def _cost_explorer_check(cost_explorer: dict[str, Any]) -> Findings:
    over = [entry for entry in cost_explorer["clients"] if entry["over_budget"]]
    check = {
        "check": "cost explorer requests",
        "status": "WARNING" if over else "OK",
        "used": cost_explorer["usd_per_month"],
        "limit": None,
        "unit": "USD a month",
        "detail": f"expected, cold cache, {len(cost_explorer['clients'])} active client(s); "
        + (f"above their budget: {', '.join(e['client_id'] for e in over[:10])}" if over else "each within its budget"),
    }
    advice = [
        f"{entry['client_id']} expects {entry['requests_per_report']} Cost Explorer requests a report, above its "
        f"budget of {entry['budget']}: raise max_ce_requests (client update) or CE_REQUEST_CAP, or move it to a "
        "Data Export; until then its reports leave sections out or are not sent."
        for entry in over[:10]
    ]
    return [check], advice


def _cost_explorer_plans(config: EnvironmentConfig, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Each active client's expected Cost Explorer requests per report and USD a month (from what its
    credentials' answers showed, kept with the cost cache), biggest first. A client read from its
    Data Export makes none."""
    entries: list[dict[str, Any]] = []
    for record in records:
        try:
            client = parse_client(record)
        except InvalidInputError:
            continue
        if not client.active or client.cost_source != "cost_explorer":
            continue
        expected = cost_explorer_estimate(config, client)
        budget = client.max_ce_requests or DEFAULT_CE_REQUEST_CAP
        entries.append(
            {
                "client_id": client.client_id,
                "schedule": client.schedule,
                "accounts": len(client.account_ids),
                "requests_per_report": expected.per_report,
                "usd_per_month": expected.usd_per_month,
                "learned": expected.learned,
                "budget": budget,
                "over_budget": expected.per_report > budget,
            }
        )
    entries.sort(key=lambda entry: (-entry["usd_per_month"], entry["client_id"]))
    total = sum((entry["usd_per_month"] for entry in entries), Decimal(0))
    return {"clients": entries, "usd_per_month": total}


def _scaled_months(runs: list[ExecutionRecord], months: list[date], until: date) -> list[dict[str, Any]]:
    """The months of `runs_by_month` recorded only in part, whose count is scaled to the whole month."""
    first_day = min((r.started_at.astimezone(UTC).date() for r in runs), default=until)
    counted = {r.started_at.astimezone(UTC).date().replace(day=1) for r in runs}
    scaled = []
    for month in months:
        length = (add_months(month, 1) - month).days
        recorded = (min(add_months(month, 1), until) - max(month, first_day)).days
        if month in counted and 0 < recorded < length:
            scaled.append({"month": f"{month:%Y-%m}", "recorded_days": recorded, "month_days": length})
    return scaled
