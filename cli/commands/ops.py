"""`ops ...`: the weekly and monthly reviews of the runbook, from the platform's own records.

- `report`: run records of the period, bounce suppressions;
- `monthly-report`: the above for a month, with capacity, security audit and cost optimisation, as a PDF;
- `client-health`: clients, their runs, suppressions, stored-key ages (IAM);
- `capacity`: registrations, runs per month, function configuration, recorded peak memory, Lambda
  metrics, table and bucket sizes;
- `security-audit`: key ages, IAM statements of the platform's roles, bucket and table encryption
  and public access, alarms, UNAUTHORIZED log lines and refused runs;
- `cost-optimization`: the costs of cli/costing.py, function configuration, bucket listing and lifecycle;
- `performance` / `performance-report`: run durations, memory, Lambda metrics; an HTML page of charts;
- `audit-report`: the audit trail (cli/audit.py), ACCESS and UNAUTHORIZED log lines, runs by requester;
- `seed-history`: writes the latest days of scheduled runs into the local environment (emulator/history.py).

Targets and thresholds: cli/analytics.py (the runbook's). Exit codes: 0 all targets met / no
finding, 1 a target missed or a finding, 2 bad input.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.text import Text

from cli.commands.client import clients_table, cost_explorer_estimate
from cli.commands.credentials import CRITICAL_DAYS, WARN_DAYS, key_age, key_ages, link_signer_ages
from cli.context import (
    EnvironmentOption,
    FormatOption,
    OutputFormat,
    OutputOption,
    Table,
    as_of_day,
    console,
    emit,
    environment_config,
    fail,
    finish,
    month_start,
    now,
    progress,
    read_output_of,
    settings,
    styled,
    tracked,
    writable,
    write_atomically,
)
from cli.probes.resources import alarms, bucket_name, missing, problem, topic_arn
from cli.readers import sources
from cli.reviews import analytics as an
from cli.reviews import costing
from cli.reviews.checks import is_stale
from cli.reviews.pricing import price, pricing_document
from cli.workflows import audit_trail as audit
from infrastructure.config import TABLES, EnvironmentConfig
from lambdas.dal.aws import platform_client
from lambdas.dal.executions_table import ExecutionsTable
from lambdas.logic.periods import previous_month_start
from lambdas.models.client import Client, RoleCredentials, parse_client
from lambdas.models.exceptions import InvalidInputError
from lambdas.models.execution import ExecutionRecord
from lambdas.models.settings import DEFAULT_CE_REQUEST_CAP, get_settings

app = typer.Typer(help="Operations analytics: reviews, audits, capacity, optimisation.", no_args_is_help=True)


class Period(StrEnum):
    daily = "daily"
    weekly = "weekly"
    monthly = "monthly"


AsOfOption = typer.Option("", "--as-of", help="Reports end before this day (YYYY-MM-DD); default today (UTC).")
MonthOption = typer.Option("", "--month", help="The month (YYYY-MM) of a monthly period; default the previous one.")

PERFORMANCE_FORMAT = "cost-reporting-performance"
FORMAT_VERSION = 1


def _window(period: Period, as_of: str, month: str) -> an.Window:
    if month and period is not Period.monthly:
        fail("--month: only with --period monthly")
    return an.period_window(period.value, as_of_day(as_of), month_start(month))


def _meta(config: EnvironmentConfig, at: datetime, kind: str) -> dict[str, Any]:
    return {"report": kind, "environment": config.environment, "generated_at": at}


def _percent(value: Any) -> str:
    return "-" if value is None else f"{Decimal(str(value)) * 100:.2f}%"


def _seconds(value: Any) -> str:
    return "-" if value is None else f"{Decimal(str(value)) / 1000:.2f} s"


def _with_unit(value: Any, unit: str) -> str:
    return "-" if value is None else f"{value} {unit}"


def _count(value: Any) -> str:
    """A count, or a projected or scaled one, as a whole number."""
    return f"{Decimal(str(value)):.0f}"


def _scaled_note(scaled: dict[str, Any] | None) -> str:
    return f" (scaled to {scaled['month_days']} days from {scaled['recorded_days']})" if scaled else ""


def _kpi_value(kpi: dict[str, Any]) -> str:
    return _percent(kpi["value"]) if kpi["unit"] == "ratio" else _seconds(kpi["value"])


def _kpi_target(kpi: dict[str, Any]) -> str:
    sign = "≥" if kpi["name"] != "average execution time" else "<"
    return f"{sign} {_percent(kpi['target']) if kpi['unit'] == 'ratio' else _seconds(kpi['target'])}"


def _met(value: bool | None) -> Text:
    return {True: styled("met", "green"), False: styled("missed", "bold red"), None: styled("no data", "dim")}[value]


def _finish(
    document: dict[str, Any], table: Table | None, fmt: OutputFormat, output: Path | None, shortfall: str
) -> None:
    """Print and write the result; exit 0, or 1 ending with the line that names `shortfall`."""
    emit(document, table, fmt, output)
    finish(shortfall)


def missed_kpis(document: dict[str, Any]) -> str:
    """The KPIs of an `ops report` document that missed their target, with value and target."""
    missed = [kpi for kpi in document["kpis"] if kpi["met"] is False]
    listed = ", ".join(f"{kpi['name']} {_kpi_value(kpi)} (target {_kpi_target(kpi)})" for kpi in missed)
    return f"{len(missed)} KPI(s) missed their target: {listed}" if missed else ""


# -- ops report ----------------------------------------------------------------------------------


def ops_report_document(config: EnvironmentConfig, window: an.Window, at: datetime) -> dict[str, Any]:
    runs = sources.runs_between(config, window.start_at, window.end_at)
    summary = an.ops_summary(runs, sources.suppressions(config), window, at)
    return {**_meta(config, at, "operations"), **summary}


def kpi_table(document: dict[str, Any], title: str) -> Table:
    table = Table("KPI", "value", "target", "", "detail", title=title, title_justify="left")
    for kpi in document["kpis"]:
        table.add_row(kpi["name"], _kpi_value(kpi), _kpi_target(kpi), _met(kpi["met"]), kpi["detail"])
    executions, ce = document["executions"], document["cost_explorer"]
    table.add_row(
        "executions",
        str(executions["total"]),
        "",
        "",
        f"{executions['failed']} failed, {executions['skipped']} skipped, {executions['clients']} client(s)",
    )
    table.add_row("errors by kind", "", "", "", ", ".join(f"{k} {v}" for k, v in document["errors_by_kind"].items()))
    table.add_row(
        "Cost Explorer",
        str(ce["requests"]),
        "",
        "",
        f"USD {ce['cost_usd']}, cache hit rate {_percent(ce['cache_hit_rate'])}",
    )
    return table


@app.command("report")
def report(
    period: Period = typer.Option(..., "--period", help="daily, weekly or monthly."),
    as_of: str = AsOfOption,
    month: str = MonthOption,
    fmt: OutputFormat = FormatOption,
    output: Path | None = OutputOption,
    environment: str = EnvironmentOption,
) -> None:
    """KPIs of the period against the runbook's targets (exit 1 when one is missed).

    Executions, success rate, durations, email delivery, errors by kind, Cost Explorer requests.
    """
    writable(output)
    window = _window(period, as_of, month)
    config = environment_config(environment)
    document = ops_report_document(config, window, now())
    title = f"operations of {config.environment}, {window.label}"
    _finish(document, kpi_table(document, title), fmt, output, missed_kpis(document))


# -- client health -------------------------------------------------------------------------------


def _credential(client: Client, at: datetime) -> dict[str, Any]:
    if isinstance(client.credentials, RoleCredentials):
        return {"type": "role", "status": None, "age_days": None, "detail": "temporary credentials: nothing to age"}
    age = key_age(client, WARN_DAYS, CRITICAL_DAYS, at)
    return {"type": "stored_keys", "status": age.status.name, "age_days": age.age_days, "detail": age.detail}


def client_health_document(config: EnvironmentConfig, window: an.Window, at: datetime) -> dict[str, Any]:
    suppressed = defaultdict(list)
    for suppression in sources.suppressions(config):
        suppressed[suppression.client_id].append(suppression)
    entries, invalid = [], []
    executions = ExecutionsTable(config.executions_table)
    records = sorted(clients_table(config).records(), key=lambda r: str(r.get("client_id", "")))
    for record in tracked(records, "Reading client health", len(records)):
        try:
            client = parse_client(record)
        except InvalidInputError as error:
            invalid.append({"client_id": record.get("client_id", "?"), "problem": str(error)})
            continue
        runs = sources.client_runs_since(config, client.client_id, window.start - timedelta(days=40))
        last = next((r for r in runs if r.status == "succeeded"), None) or executions.last_succeeded(client.client_id)
        stale = is_stale(
            client.schedule, (last.finished_at or last.started_at) if last else None, client.created_at, at
        )
        entries.append(
            an.client_health(
                client_id=client.client_id,
                name=client.name,
                schedule=client.schedule,
                status=client.status,
                registered=client.created_at,
                runs_newest_first=runs,
                suppressed=suppressed.get(client.client_id, []),
                recipients=len(client.recipients),
                credential=_credential(client, at),
                stale=stale and client.active,
                window=window,
                at=at,
                last_success=last,
            )
        )
    entries.sort(key=an.attention_order)
    counts = Counter(entry["health"] for entry in entries)
    return {
        **_meta(config, at, "client-health"),
        "period": window.as_dict(),
        "summary": {
            "clients": len(entries),
            **{level: counts.get(level, 0) for level in ("CRITICAL", "WARNING", "OK")},
        },
        "clients": entries,
        "invalid_records": invalid,
    }


@app.command("client-health")
def client_health(
    days: int = typer.Option(30, "--days", min=1, max=400, help="Look for coverage gaps over this many days."),
    as_of: str = AsOfOption,
    fmt: OutputFormat = FormatOption,
    output: Path | None = OutputOption,
    environment: str = EnvironmentOption,
) -> None:
    """The clients needing attention first (exit 1 if any).

    Per client: last success, failures in a row, suppressed recipients, key age, days without a report.
    """
    writable(output)
    end = as_of_day(as_of)
    window = an.Window("days", end - timedelta(days=days), end)
    config = environment_config(environment)
    document = client_health_document(config, window, now())
    style = {"CRITICAL": "bold red", "WARNING": "yellow", "OK": "green"}
    table = Table(
        "client",
        "schedule",
        "health",
        "last success (UTC)",
        "failed in a row",
        "days without a report",
        "why",
        title=f"client health, {window.label}",
        title_justify="left",
    )
    for entry in document["clients"]:
        success = entry["last_success"]
        table.add_row(
            entry["client_id"],
            entry["schedule"] + ("" if entry["status"] == "active" else f" ({entry['status']})"),
            styled(entry["health"], style[entry["health"]]),
            f"{success:%Y-%m-%d %H:%M}" if success else "never",
            str(entry["failures_in_a_row"]),
            _gap_days(entry["coverage_gaps"]),
            "; ".join(entry["reasons"]),
        )
    attention = [f"{e['client_id']} ({e['health']})" for e in document["clients"] if e["health"] != "OK"]
    invalid = [str(entry["client_id"]) for entry in document["invalid_records"]]
    shortfall = "; ".join(
        part
        for part in (
            f"{len(attention)} client(s) need attention: {', '.join(attention)}" if attention else "",
            f"{len(invalid)} invalid client record(s): {', '.join(invalid)}" if invalid else "",
        )
        if part
    )
    _finish(document, table, fmt, output, shortfall)


GAP_DAYS_SHOWN = 5


def _gap_days(gaps: list[date]) -> str:
    """The days to re-run (`report run --as-of DAY`), the latest first; the JSON has all of them."""
    latest = [f"{day:%Y-%m-%d}" for day in sorted(gaps, reverse=True)]
    more = len(latest) - GAP_DAYS_SHOWN
    return ", ".join(latest[:GAP_DAYS_SHOWN]) + (f" (+{more} more)" if more > 0 else "") if latest else "-"


# -- capacity ------------------------------------------------------------------------------------


def _worker(config: EnvironmentConfig) -> sources.FunctionLimits | None:
    return sources.function_limits(config, config.worker_function)


def capacity_document(
    config: EnvironmentConfig, at: datetime, *, history_months: int, forecast_months: int
) -> dict[str, Any]:
    this_month = at.date().replace(day=1)
    months = [an.add_months(this_month, -offset) for offset in range(history_months - 1, -1, -1)]
    start = datetime(months[0].year, months[0].month, 1, tzinfo=UTC)
    runs = sources.runs_between(config, start, at)
    records = list(clients_table(config).records())
    registrations = []
    for record in records:
        try:
            registrations.append(parse_client(record).created_at)
        except InvalidInputError:
            registrations.append(None)
    clients = an.Series("clients", months, an.clients_by_month(registrations, months)).project(forecast_months)
    # Today counts as recorded once it has runs (the 06:00 dispatch has fired): its runs are counted.
    recorded_until = max([at.date(), *(r.started_at.astimezone(UTC).date() + timedelta(days=1) for r in runs)])
    executions = an.Series("executions", months, an.runs_by_month(runs, months, recorded_until))
    executions.projected, runs_basis = an.runs_following_clients(runs, months, recorded_until, clients)
    recent = [r for r in runs if r.started_at >= at - timedelta(days=30)]
    worker = _worker(config)
    checks: list[dict[str, Any]] = []
    advice: list[str] = []
    memory = [r.max_memory_mb for r in recent if r.max_memory_mb is not None]
    peak = max(memory) if memory else None
    limit = Decimal(worker.memory_mb) if worker else None
    memory_status = an.threshold_status(Decimal(peak) if peak is not None else None, limit, an.MEMORY_THRESHOLD)
    checks.append(
        {
            "check": "worker memory",
            "status": memory_status,
            "used": peak,
            "limit": worker.memory_mb if worker else None,
            "unit": "MB",
            "detail": f"peak resident memory of {len(memory)} run(s) in 30 days against the function's memory; "
            "above 80%: raise it",
        }
    )
    if memory_status == "WARNING" and peak is not None:
        advice.append(
            f"Raise the worker's memory from {worker.memory_mb if worker else '?'} MB to "
            f"{an.next_memory_size(peak)} MB (WORKER in infrastructure/constructs/functions.py, then cdk deploy)."
        )
    window_30 = (at - timedelta(days=30), at)
    duration = sources.metric_total(
        "AWS/Lambda", "Duration", {"FunctionName": config.worker_function}, *window_30, "Maximum"
    )
    durations = [r.duration_ms for r in recent if r.duration_ms is not None and r.status != "running"]
    p95 = an.percentile(durations, 95)
    timeout_ms = Decimal(worker.timeout_s * 1000) if worker else None
    longest = duration.value if duration.available else None
    batch = p95 * an.WORKER_BATCH_SIZE if p95 is not None else None
    duration_status = an.threshold_status(longest if longest is not None else batch, timeout_ms, an.DURATION_THRESHOLD)
    checks.append(
        {
            "check": "worker duration",
            "status": duration_status,
            "used": longest if longest is not None else batch,
            "limit": timeout_ms,
            "unit": "ms",
            "detail": (
                f"longest invocation in 30 days ({duration.source})"
                if longest is not None
                else f"a batch of {an.WORKER_BATCH_SIZE} runs at the p95 run duration ({duration.reason}: "
                "CloudWatch has no invocation durations)"
            ),
        }
    )
    if duration_status == "WARNING":
        advice.append(
            "Invocations approach the worker's timeout: raise the timeout (WORKER sizing) or lower the SQS batch "
            "size (BATCH_SIZE in infrastructure/constructs/fanout.py)."
        )
    throttles = sources.metric_total("AWS/Lambda", "Throttles", {"FunctionName": config.worker_function}, *window_30)
    throttle_status = "UNKNOWN" if not throttles.available else ("WARNING" if throttles.value > 0 else "OK")
    checks.append(
        {
            "check": "worker throttling",
            "status": throttle_status,
            "used": throttles.value if throttles.available else None,
            "limit": 0,
            "unit": "throttles",
            "detail": throttles.source if throttles.available else f"{throttles.source}: {throttles.reason}",
        }
    )
    if throttle_status == "WARNING":
        advice.append(
            "The worker was throttled: raise the account's Lambda concurrency or reserved concurrency, and check "
            "the event source's maximum concurrency (MAX_CONCURRENCY in infrastructure/constructs/fanout.py)."
        )
    concurrency = worker.max_concurrency if worker and worker.max_concurrency else None
    mean_ms = an.mean(durations)
    projected_daily = (executions.projected[-1][1] / 30) if executions.projected else None
    drain = None
    if projected_daily is not None and mean_ms is not None:
        drain = projected_daily * mean_ms / Decimal(concurrency or 5)
    projection = {
        "horizon": executions.projected[-1][0] if executions.projected else None,
        "clients": clients.projected[-1][1] if clients.projected else None,
        "runs_per_day": an.rounded(projected_daily, "0.1"),
        "mean_run_ms": an.rounded(mean_ms, "1"),
        "max_concurrency": concurrency or 5,
        "daily_burst_drain_ms": an.rounded(drain, "1"),
        "note": "memory and invocation duration do not grow with the number of clients (one client per run; "
        "docs/architecture.md measured 145-155 MB from 4 to 104 clients): the projection is of load, "
        "the time the daily dispatch takes to drain at the event source's concurrency",
    }
    if drain is not None and drain > 2 * 3600 * 1000:
        advice.append(
            "At the projected volume the 06:00 daily dispatch takes over two hours to drain: raise the event "
            "source's maximum concurrency (MAX_CONCURRENCY in infrastructure/constructs/fanout.py)."
        )
        checks.append(
            {
                "check": "projected daily drain",
                "status": "WARNING",
                "used": drain,
                "limit": 2 * 3600 * 1000,
                "unit": "ms",
                "detail": "the daily burst at the projected volume",
            }
        )
    cost_explorer = _cost_explorer_plans(config, records)
    over = [entry for entry in cost_explorer["clients"] if entry["over_budget"]]
    checks.append(
        {
            "check": "cost explorer requests",
            "status": "WARNING" if over else "OK",
            "used": cost_explorer["usd_per_month"],
            "limit": None,
            "unit": "USD a month",
            "detail": f"expected, cold cache, {len(cost_explorer['clients'])} active client(s); "
            + (
                f"above their budget: {', '.join(e['client_id'] for e in over[:10])}"
                if over
                else "each within its budget"
            ),
        }
    )
    for entry in over[:10]:
        advice.append(
            f"{entry['client_id']} expects {entry['requests_per_report']} Cost Explorer requests a report, above its "
            f"budget of {entry['budget']}: raise max_ce_requests (client update) or CE_REQUEST_CAP, or move it to a "
            "Data Export; until then its reports leave sections out or are not sent."
        )
    if not advice:
        advice.append("Nothing to change: every threshold holds now and at the projected volume.")
    return {
        **_meta(config, at, "capacity"),
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
        "tables": sources.table_sizes(config),
        "bucket": sources.bucket_size(config, at).as_dict(),
        "projection": projection,
        "recommendations": advice,
        "thresholds": {"memory": an.MEMORY_THRESHOLD, "duration_of_timeout": an.DURATION_THRESHOLD, "throttles": 0},
    }


def _cost_explorer_table(plans: dict[str, Any], shown: int = 10) -> Table:
    table = Table(
        "client", "schedule", "accounts", "requests a report", "budget", "USD a month", "basis",
        title=f"Cost Explorer, expected (cold cache): USD {plans['usd_per_month']:.2f} a month in all",
    )  # fmt: skip
    for entry in plans["clients"][:shown]:
        table.add_row(
            entry["client_id"],
            entry["schedule"],
            str(entry["accounts"]),
            str(entry["requests_per_report"]),
            styled(str(entry["budget"]), "red") if entry["over_budget"] else str(entry["budget"]),
            f"{entry['usd_per_month']:.2f}",
            "its answers" if entry["learned"] else "assumed",
        )
    if len(plans["clients"]) > shown:
        table.add_row(f"{len(plans['clients']) - shown} more", "", "", "", "", "", "")
    return table


def _cost_explorer_plans(config: EnvironmentConfig, records: list[dict[str, Any]]) -> dict[str, Any]:
    """Each active client's expected Cost Explorer requests per report and USD a month (from what its
    credentials' answers showed, kept with the cost cache), biggest first."""
    entries = []
    for record in records:
        try:
            client = parse_client(record)
        except InvalidInputError:
            continue
        if not client.active:
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
    """The months of `an.runs_by_month` recorded only in part, whose count is scaled to the whole month."""
    first_day = min((r.started_at.astimezone(UTC).date() for r in runs), default=until)
    counted = {r.started_at.astimezone(UTC).date().replace(day=1) for r in runs}
    scaled = []
    for month in months:
        length = (an.add_months(month, 1) - month).days
        recorded = (min(an.add_months(month, 1), until) - max(month, first_day)).days
        if month in counted and 0 < recorded < length:
            scaled.append({"month": f"{month:%Y-%m}", "recorded_days": recorded, "month_days": length})
    return scaled


class CapacityPeriod(StrEnum):
    monthly = "monthly"


@app.command("capacity")
def capacity(
    period: CapacityPeriod = typer.Option(CapacityPeriod.monthly, "--period", help="Growth per month."),
    forecast_months: int = typer.Option(6, "--forecast-months", min=1, max=36, help="Months to project."),
    history_months: int = typer.Option(6, "--history-months", min=1, max=13, help="Months of history."),
    fmt: OutputFormat = FormatOption,
    output: Path | None = OutputOption,
    environment: str = EnvironmentOption,
) -> None:
    """Growth, limits, projection and what to change (exit 1 when a threshold is crossed).

    Clients and runs per month, the worker against its memory and timeout, throttling, table and
    bucket sizes, a least-squares projection.
    """
    writable(output)
    config = environment_config(environment)
    document = capacity_document(config, now(), history_months=history_months, forecast_months=forecast_months)
    table = Table("check", "status", "used", "limit", "detail", title=f"capacity of {config.environment}")
    for check in document["checks"]:
        used, limit = _with_unit(check["used"], check["unit"]), _with_unit(check["limit"], check["unit"])
        table.add_row(check["check"], check["status"], used, limit, check["detail"])
    for series in document["growth"].values():
        scaled = {entry["month"]: entry for entry in series.get("scaled", [])}
        history = ", ".join(
            f"{p['month']} {_count(p['value'])}{_scaled_note(scaled.get(p['month']))}" for p in series["history"]
        )
        projected = ", ".join(f"{p['month']} {_count(p['value'])}" for p in series["projection"])
        table.add_row(f"{series['name']} per month", "", "", "", f"{history} → projected {projected}")
    for line in document["recommendations"]:
        table.add_row("change", "", "", "", line)
    crossed = [
        f"{c['check']} {_with_unit(c['used'], c['unit'])} of {_with_unit(c['limit'], c['unit'])}"
        for c in document["checks"]
        if c["status"] not in ("OK", "UNKNOWN")
    ]
    emit(document, table, fmt, output)
    if fmt is OutputFormat.table:
        console.print(_cost_explorer_table(document["cost_explorer"]))
    finish(f"threshold crossed: {', '.join(crossed)}" if crossed else "")


# -- security audit ------------------------------------------------------------------------------

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO")


# Runs refused access: by a client's account ("unauthorized": its role or key) or by the platform's
# own resources ("access_denied": an IAM or KMS policy of the stack gone wrong). Both are logged UNAUTHORIZED.
REFUSED_KINDS = frozenset({"unauthorized", "access_denied"})


def _finding(severity: str, area: str, resource: str, finding: str, fix: str) -> dict[str, str]:
    return {"severity": severity, "area": area, "resource": resource, "finding": finding, "fix": fix}


def _local(config: EnvironmentConfig, severity: str) -> str:
    """In `local` the stack's protections do not exist by design: shown, as information."""
    return severity if config.deployed_by_stack else "INFO"


def _credential_findings(
    config: EnvironmentConfig, at: datetime
) -> tuple[list[dict[str, str]], dict[str, list[dict[str, Any]]]]:
    ages, _ = key_ages(clients_table(config), WARN_DAYS, CRITICAL_DAYS, at)
    findings = [
        _finding(
            "HIGH" if age.status.name == "CRITICAL" else "MEDIUM",
            "credentials",
            age.client_id,
            f"stored key: {age.detail} ({age.age_days if age.age_days is not None else '?'} days)",
            f"python cli/main.py credentials rotate --client-id {age.client_id}",
        )
        for age in ages
        if age.status.name != "OK"
    ]
    system = link_signer_ages(config, at)
    findings += [
        _finding(
            "HIGH" if key.status.name == "CRITICAL" else "MEDIUM",
            "credentials",
            key.user,
            f"link signer, {key.use} key: {key.detail} ({key.age_days if key.age_days is not None else '?'} days)",
            "python cli/main.py credentials rotate --link-signer" + (" --finish" if key.use == "retired" else ""),
        )
        for key in system
        if key.status.name != "OK"
    ]
    return findings, {"clients": [age.as_dict() for age in ages], "system": [key.as_dict() for key in system]}


def _refusal_fix(client_id: str, platform_refused: set[str]) -> str:
    if client_id in platform_refused:
        return (
            "the platform's own role was refused (an IAM or KMS policy of the stack): python cli/main.py deploy "
            "validate, then redrive the jobs DLQ"
        )
    return (
        f"python cli/main.py credentials validate --client-id {client_id}; if the client revoked access, "
        f"client pause --client-id {client_id}"
    )


def _unauthorized(
    config: EnvironmentConfig, start: datetime, end: datetime
) -> tuple[list[dict[str, str]], dict[str, Any]]:
    runs = [r for r in sources.runs_between(config, start, end) if r.error_kind in REFUSED_KINDS]
    logs = sources.log_events(f"/aws/lambda/{config.worker_function}", "UNAUTHORIZED", start, end)
    by_client: Counter[str] = Counter(r.client_id for r in runs)
    platform_refused = {r.client_id for r in runs if r.error_kind == "access_denied"}
    logged: Counter[str] = Counter(str(e.get("client_id", "?")) for e in (logs.value or []))
    findings = [
        _finding(
            "HIGH",
            "access",
            client_id,
            f"access refused in the period: {by_client[client_id]} failed run(s), {logged[client_id]} UNAUTHORIZED "
            "log line(s)",
            _refusal_fix(client_id, platform_refused),
        )
        for client_id in sorted(set(by_client) | set(logged))
    ]
    evidence = {
        "refused_runs": [{"client_id": r.client_id, "run_id": r.run_id, "error": r.error} for r in runs],
        "log_events": logs.counted(),
        "log_events_by_client": dict(sorted(logged.items())),
    }
    return findings, evidence


REQUIRED_ALARMS = (  # (what, words that must all appear in the alarm's name, metric and dimensions)
    ("worker errors", ("{worker}", "Errors")),
    ("worker throttles", ("{worker}", "Throttles")),
    ("worker duration", ("{worker}", "Duration")),
    ("dispatcher errors", ("{dispatcher}", "Errors")),
    ("feedback errors", ("{feedback}", "Errors")),
    ("jobs dead letters", ("{dlq}", "ApproximateNumberOfMessagesVisible")),
)


def _alarm_signature(alarm: dict[str, Any]) -> str:
    parts = [str(alarm.get("AlarmName", "")), str(alarm.get("MetricName", ""))]
    parts += [str(d.get("Value", "")) for d in alarm.get("Dimensions", [])]
    for query in alarm.get("Metrics", []):
        metric = (query.get("MetricStat") or {}).get("Metric") or {}
        parts.append(str(metric.get("MetricName", "")))
        parts += [str(d.get("Value", "")) for d in metric.get("Dimensions", [])]
    return " ".join(parts)


def _alarm_findings(config: EnvironmentConfig) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    names = {
        "worker": config.worker_function,
        "dispatcher": config.dispatcher_function,
        "feedback": config.feedback_function,
        "dlq": config.dead_letter_queue,
    }
    try:
        arn = topic_arn(config)
        watching = alarms(arn) if arn else []
    except Exception as error:
        return [
            _finding(
                "HIGH",
                "monitoring",
                config.alerts_topic,
                f"alarms unreadable: {problem(error)}",
                "check the operator's cloudwatch:DescribeAlarms permission",
            )
        ], []
    signatures = [_alarm_signature(alarm) for alarm in watching]
    coverage, findings = [], []
    for label, words in REQUIRED_ALARMS:
        needed = [word.format(**names) for word in words]
        covered = [a["AlarmName"] for a, s in zip(watching, signatures, strict=True) if all(w in s for w in needed)]
        coverage.append({"alarm": label, "covered_by": covered})
        if not covered:
            findings.append(
                _finding(
                    _local(config, "HIGH"),
                    "monitoring",
                    label,
                    f"no alarm on {' '.join(needed)} notifies {config.alerts_topic}",
                    "deploy the stack's monitoring (infrastructure/constructs/monitoring.py)",
                )
            )
    return findings, coverage


def _role_names(config: EnvironmentConfig) -> list[str]:
    return [config.worker_role, f"{config.dispatcher_function}-role", f"{config.feedback_function}-role"]


XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


def _iam_findings(config: EnvironmentConfig) -> tuple[list[dict[str, str]], dict[str, Any]]:
    findings, roles = [], {}
    for role in _role_names(config):
        reading = sources.role_policies(role)
        roles[role] = reading.as_dict()
        if not reading.available:
            findings.append(
                _finding(
                    _local(config, "HIGH"),
                    "iam",
                    role,
                    reading.reason,
                    "deploy the stack (cdk deploy); the CLI never creates roles",
                )
            )
            continue
        for policy in reading.value:
            if policy["type"] == "managed":
                findings.append(
                    _finding(
                        "MEDIUM",
                        "iam",
                        role,
                        f"managed policy {policy['policy']} attached",
                        "write the needed statements out in the stack instead",
                    )
                )
            for statement in policy["statements"]:
                if statement.get("Effect") != "Allow":
                    continue
                actions = statement.get("Action", [])
                actions = [actions] if isinstance(actions, str) else list(actions)
                resources = statement.get("Resource", [])
                resources = [resources] if isinstance(resources, str) else list(resources)
                wild = [a for a in actions if a == "*" or a.endswith(":*")]
                if wild:
                    findings.append(
                        _finding(
                            "HIGH",
                            "iam",
                            role,
                            f"wildcard action(s) {', '.join(wild)} in {policy['policy']}",
                            "name the actions the code calls",
                        )
                    )
                if "*" in resources and not set(actions) <= XRAY_ACTIONS:
                    findings.append(
                        _finding(
                            "MEDIUM",
                            "iam",
                            role,
                            f'Resource "*" for {", ".join(actions)} in {policy["policy"]}',
                            "name the resources",
                        )
                    )
    return findings, roles


def _storage_findings(config: EnvironmentConfig) -> tuple[list[dict[str, str]], dict[str, Any]]:
    findings: list[dict[str, str]] = []
    state: dict[str, Any] = {}
    s3 = platform_client("s3")
    name = bucket_name(config)
    if name is None:
        findings.append(_finding("CRITICAL", "storage", config.assets_bucket, "bucket missing", "cdk deploy"))
    else:
        bucket: dict[str, Any] = {}
        try:
            rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
            algorithm = rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
        except Exception as error:
            algorithm = None if missing(error) or "NotFound" in problem(error) else problem(error)
        bucket["encryption"] = algorithm
        if algorithm != "aws:kms":
            findings.append(
                _finding(
                    _local(config, "HIGH" if algorithm is None else "LOW"),
                    "storage",
                    name,
                    f"default encryption {algorithm or 'not configured'}, not the project's KMS key",
                    "deploy the stack's bucket (KMS, bucket key)",
                )
            )
        try:
            block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
        except Exception:  # none configured (or none readable): reported as not blocked
            block = {}
        bucket["public_access_block"] = block
        if not block or not all(block.values()):
            findings.append(
                _finding(
                    "CRITICAL",
                    "storage",
                    name,
                    "public access is not blocked",
                    "aws s3api put-public-access-block (all four settings true)",
                )
            )
        try:
            policy = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
        except Exception:  # no bucket policy (or none readable): nothing denies plain HTTP
            policy = {}
        tls = "aws:SecureTransport" in json.dumps(policy)
        bucket["tls_only"] = tls
        if not tls:
            findings.append(
                _finding(
                    _local(config, "MEDIUM"),
                    "storage",
                    name,
                    "no policy denies requests without TLS",
                    "deploy the stack's bucket (enforce_ssl)",
                )
            )
        state["bucket"] = {"name": name, **bucket}
    tables = []
    dynamodb = platform_client("dynamodb")
    for attribute in TABLES:
        table_name = getattr(config, attribute)
        try:
            description = dynamodb.describe_table(TableName=table_name)["Table"]
        except Exception as error:
            findings.append(
                _finding("HIGH", "storage", table_name, f"table unreadable: {problem(error)}", "cdk deploy")
            )
            continue
        sse = description.get("SSEDescription") or {}
        kms = sse.get("Status") == "ENABLED" and sse.get("SSEType") == "KMS"
        tables.append({"table": table_name, "encryption": sse.get("SSEType") or "AWS owned key"})
        if not kms:
            findings.append(
                _finding(
                    _local(config, "MEDIUM"),
                    "storage",
                    table_name,
                    "encrypted with an AWS owned key, not the project's KMS key",
                    "deploy the stack's tables",
                )
            )
    state["tables"] = tables
    try:
        key = platform_client("kms").describe_key(KeyId=config.kms_alias)["KeyMetadata"]["KeyId"]
        rotation = platform_client("kms").get_key_rotation_status(KeyId=key)["KeyRotationEnabled"]
    except Exception as error:
        rotation = None
        findings.append(
            _finding(
                _local(config, "HIGH"),
                "encryption",
                config.kms_alias,
                f"key not found ({problem(error)})",
                "deploy the stack (infrastructure/constructs/encryption.py)",
            )
        )
    if rotation is False:
        findings.append(
            _finding(
                "MEDIUM", "encryption", config.kms_alias, "automatic key rotation is off", "aws kms enable-key-rotation"
            )
        )
    state["kms_rotation"] = rotation
    return findings, state


def security_audit_document(config: EnvironmentConfig, at: datetime, *, comprehensive: bool) -> dict[str, Any]:
    days = 30 if comprehensive else 7
    start = at - timedelta(days=days)
    findings, ages = _credential_findings(config, at)
    refused, evidence = _unauthorized(config, start, at)
    watched, coverage = _alarm_findings(config)
    findings += refused + watched
    document: dict[str, Any] = {
        **_meta(config, at, "security-audit"),
        "scope": "comprehensive" if comprehensive else "weekly",
        "period": {"start": start, "end": at, "days": days},
        "credential_ages": ages,
        "unauthorized": evidence,
        "alarm_coverage": coverage,
    }
    if comprehensive:
        iam, roles = _iam_findings(config)
        storage, state = _storage_findings(config)
        findings += iam + storage
        document["iam_roles"] = roles
        document["encryption_and_access"] = state
    findings.sort(key=lambda f: (SEVERITIES.index(f["severity"]), f["area"], f["resource"]))
    counts = Counter(f["severity"] for f in findings)
    document["summary"] = {level: counts.get(level, 0) for level in SEVERITIES}
    document["findings"] = findings
    return document


@app.command("security-audit")
def security_audit(
    weekly: bool = typer.Option(False, "--weekly", help="Credential ages, refused access, alarms (7 days; default)."),
    comprehensive: bool = typer.Option(False, "--comprehensive", help="Also IAM, encryption, public access (30 days)."),
    fmt: OutputFormat = FormatOption,
    output: Path | None = OutputOption,
    environment: str = EnvironmentOption,
) -> None:
    """Findings with severity and fix; exit 1 if any finding above INFO."""
    if weekly and comprehensive:
        fail("--comprehensive: give --weekly or --comprehensive, not both")
    writable(output)
    config = environment_config(environment)
    document = security_audit_document(config, now(), comprehensive=comprehensive)
    style = {"CRITICAL": "bold red", "HIGH": "red", "MEDIUM": "yellow", "LOW": "cyan", "INFO": "dim"}
    table = Table(
        "severity",
        "area",
        "resource",
        "finding",
        "fix",
        title=f"security audit ({document['scope']}) of {config.environment}",
    )
    for finding in document["findings"]:
        table.add_row(
            styled(finding["severity"], style[finding["severity"]]),
            finding["area"],
            finding["resource"],
            finding["finding"],
            finding["fix"],
        )
    above = {level: count for level, count in document["summary"].items() if count and level != "INFO"}
    listed = ", ".join(f"{count} {level}" for level, count in above.items())
    _finish(document, table, fmt, output, f"{sum(above.values())} finding(s) above INFO: {listed}" if above else "")


# -- costs ---------------------------------------------------------------------------------------


def shared_usage(config: EnvironmentConfig, window: an.Window, at: datetime) -> costing.SharedUsage:
    """Costs recorded per function or table, not per client: CloudWatch metrics and table sizes."""
    shared = costing.SharedUsage()
    start, end = window.start_at, min(window.end_at, at)
    seconds, requests, seen = Decimal(0), 0, False
    for name in (config.dispatcher_function, config.feedback_function):
        limits = sources.function_limits(config, name)
        duration = sources.metric_total("AWS/Lambda", "Duration", {"FunctionName": name}, start, end)
        invocations = sources.metric_total("AWS/Lambda", "Invocations", {"FunctionName": name}, start, end)
        if duration.available and limits is not None:
            seconds += duration.value / 1000 * Decimal(limits.memory_mb) / 1024
            seen = True
        if invocations.available:
            requests += int(invocations.value)
            seen = True
    if seen:
        shared.lambda_gb_seconds, shared.lambda_requests = seconds.quantize(Decimal("0.001")), requests
    else:
        shared.notes.append("dispatcher and feedback: no AWS/Lambda metrics in the period")
    reads = writes = Decimal(0)
    found = False
    for attribute in TABLES:
        table = getattr(config, attribute)
        read = sources.metric_total("AWS/DynamoDB", "ConsumedReadCapacityUnits", {"TableName": table}, start, end)
        write = sources.metric_total("AWS/DynamoDB", "ConsumedWriteCapacityUnits", {"TableName": table}, start, end)
        reads += read.value if read.available else 0
        writes += write.value if write.available else 0
        found = found or read.available or write.available
    if found:
        shared.dynamodb_read_units, shared.dynamodb_write_units = reads, writes
    else:
        shared.notes.append("DynamoDB request units: no AWS/DynamoDB metrics in the period")
    sizes = {entry["table"]: entry for entry in sources.table_sizes(config)}
    shared_tables = (config.cost_cache_table, config.idempotency_table)
    shared.dynamodb_bytes = sum(int(sizes.get(name, {}).get("bytes", 0)) for name in shared_tables)
    return shared


def client_usages(
    config: EnvironmentConfig, window: an.Window, runs: list[ExecutionRecord]
) -> list[costing.ClientUsage]:
    """Each client's usage in the window: runs, archived objects, item bytes. Clients removed
    since are billed under their id."""
    names: dict[str, str] = {}
    item_bytes: Counter[str] = Counter()
    for record in clients_table(config).records():
        client_id = str(record.get("client_id", "?"))
        names[client_id] = str(record.get("name", client_id))
    dynamodb = platform_client("dynamodb")
    for page in dynamodb.get_paginator("scan").paginate(TableName=config.clients_table):
        for item in page.get("Items", []):
            item_bytes[item["client_id"]["S"]] += costing.item_size(item)
    for item in sources.executions_items(config):
        item_bytes[item["client_id"]["S"]] += costing.item_size(item)
    for page in dynamodb.get_paginator("scan").paginate(TableName=config.suppressions_table):
        for item in page.get("Items", []):
            item_bytes[item["client_id"]["S"]] += costing.item_size(item)
    by_client: dict[str, list[ExecutionRecord]] = defaultdict(list)
    for run in runs:
        by_client[run.client_id].append(run)
    listing = sources.bucket_objects(config, "reports/")
    objects: dict[str, list[sources.StoredObject]] = defaultdict(list)
    for stored in listing.objects:
        parts = stored.key.split("/")
        if len(parts) > 2:
            objects[parts[1]].append(stored)
    ids = sorted(set(names) | set(by_client))
    return [
        costing.ClientUsage(
            client_id,
            names.get(client_id, client_id),
            by_client.get(client_id, []),
            objects.get(client_id, []),
            item_bytes.get(client_id, 0),
        )
        for client_id in ids
    ]


def cost_statement(config: EnvironmentConfig, window: an.Window, at: datetime) -> dict[str, Any]:
    """What running the platform cost in the window, per client (`billing track`)."""
    runs = sources.runs_between(config, window.start_at, window.end_at)
    return _cost_statement(config, window, at, runs, _worker(config))


def _cost_statement(
    config: EnvironmentConfig,
    window: an.Window,
    at: datetime,
    runs: list[ExecutionRecord],
    worker: sources.FunctionLimits | None,
) -> dict[str, Any]:
    usages = client_usages(config, window, runs)
    document = costing.statement(
        usages, shared_usage(config, window, at), window, at, worker.memory_mb if worker else None
    )
    document["pricing"] = pricing_document()
    return document


def _lifecycle(config: EnvironmentConfig) -> list[dict[str, Any]] | None:
    name = bucket_name(config)
    if name is None:
        return None
    try:
        return list(platform_client("s3").get_bucket_lifecycle_configuration(Bucket=name).get("Rules", []))
    except Exception as error:
        if "NoSuchLifecycleConfiguration" in problem(error):
            return []
        raise


def recommendations(
    config: EnvironmentConfig,
    window: an.Window,
    at: datetime,
    costs: dict[str, Any],
    runs: list[ExecutionRecord],
    worker: sources.FunctionLimits | None,
) -> list[dict[str, Any]]:
    """The rules of cli/analytics.py on the period's records, the worker's size and the bucket's
    lifecycle and objects; savings priced to the line (over the analysed period)."""
    found: list[dict[str, Any] | None] = []
    if worker:
        lambda_cost = sum(
            (
                Decimal(str(line["amount_usd"]))
                for c in costs["clients"]
                for line in c["lines"]
                if line["service"] == "Lambda" and line["unit"] == "GB-second"
            ),
            Decimal(0),
        )
        found.append(an.memory_advice(runs, worker.memory_mb, lambda_cost))
    found.extend(an.schedule_advice(runs))
    found.append(an.cache_advice(runs))
    rules = _lifecycle(config)
    if rules is not None:
        found.append(
            an.lifecycle_advice(
                rules,
                sources.bucket_objects(config, an.REPORTS_PREFIX).objects,
                at,
                costing.month_fraction(window.start_at, min(window.end_at, at)),
                price("s3_standard_gb_month").per_unit,
                price("s3_standard_ia_gb_month").per_unit,
            )
        )
    advice = [item for item in found if item is not None]
    for item in advice:
        item["estimated_saving_usd"] = costing.line_amount(item["estimated_saving_usd"])
    return advice


# A recommendation saving less than a cent over the analysed period is shown, not a finding.
MIN_SAVING_USD = Decimal("0.01")


def cost_optimization_document(config: EnvironmentConfig, window: an.Window, at: datetime) -> dict[str, Any]:
    runs = sources.runs_between(config, window.start_at, window.end_at)
    worker = _worker(config)
    costs = _cost_statement(config, window, at, runs, worker)
    found = recommendations(config, window, at, costs, runs, worker)
    for item in found:
        item["worth_acting"] = Decimal(str(item["estimated_saving_usd"])) >= MIN_SAVING_USD
    requests = sum(r.ce_requests for r in runs)
    hits = sum(r.cache_hits for r in runs)
    return {
        **_meta(config, at, "cost-optimization"),
        "period": window.as_dict(),
        "running_cost_usd": costs["total_usd"],
        "by_service_usd": costs["by_service_usd"],
        "per_client_usd": {c["client_id"]: c["total_usd"] for c in costs["clients"]},
        "cache_hit_rate": an.rounded(an.ratio(hits, hits + requests)),
        "worker": worker.as_dict() if worker else None,
        "shared_notes": costs["shared"]["notes"],
        "recommendations": found,
        "estimated_saving_usd": sum((Decimal(str(r["estimated_saving_usd"])) for r in found), Decimal(0)),
        "pricing": costs["pricing"],
    }


@app.command("cost-optimization")
def cost_optimization(
    analyze_period: int = typer.Option(30, "--analyze-period", min=1, max=400, help="Days to analyse."),
    recommendations_output: Path | None = typer.Option(None, "--recommendations-output", help="Write the JSON here."),
    as_of: str = AsOfOption,
    fmt: OutputFormat = FormatOption,
    environment: str = EnvironmentOption,
) -> None:
    """The platform's own running cost and concrete savings (exit 1 if one saves a cent or more)."""
    writable(recommendations_output, "--recommendations-output")
    end = as_of_day(as_of)
    window = an.Window("days", end - timedelta(days=analyze_period), end)
    config = environment_config(environment)
    document = cost_optimization_document(config, window, now())
    table = Table("", "USD", "detail", title=f"running cost of {config.environment}, {window.label}")
    for service, amount in document["by_service_usd"].items():
        table.add_row(service, str(amount), "")
    table.add_row(styled("total", "bold"), styled(document["running_cost_usd"], "bold"), "")
    for item in document["recommendations"]:
        table.add_row(
            styled("recommendation", "yellow"), str(item["estimated_saving_usd"]), f"{item['title']}: {item['action']}"
        )
    worth = [item for item in document["recommendations"] if item["worth_acting"]]
    saving = sum((Decimal(str(item["estimated_saving_usd"])) for item in worth), Decimal(0))
    shortfall = f"{len(worth)} recommendation(s) worth acting on, saving USD {saving} in the period" if worth else ""
    _finish(document, table, fmt, recommendations_output, shortfall)


# -- performance ---------------------------------------------------------------------------------


def performance_document(config: EnvironmentConfig, window: an.Window, at: datetime) -> dict[str, Any]:
    runs = sources.runs_between(config, window.start_at, window.end_at)
    figures = an.performance(runs, window, at)
    worker = _worker(config)
    dims = {"FunctionName": config.worker_function}
    start, end = window.start_at, min(window.end_at, at) if window.start_at < at else window.end_at
    invocations = {
        "invocations": sources.metric_total("AWS/Lambda", "Invocations", dims, start, end).as_dict(),
        "duration_max_ms": sources.metric_total("AWS/Lambda", "Duration", dims, start, end, "Maximum").as_dict(),
        "errors": sources.metric_total("AWS/Lambda", "Errors", dims, start, end).as_dict(),
        "throttles": sources.metric_total("AWS/Lambda", "Throttles", dims, start, end).as_dict(),
    }
    checks = []
    mean_ms = figures["duration"]["mean_ms"]
    checks.append(
        {
            "check": "average execution time",
            "unit": "ms",
            "value": mean_ms,
            "limit": an.DURATION_TARGET_MS,
            "status": "UNKNOWN" if mean_ms is None else ("OK" if mean_ms < an.DURATION_TARGET_MS else "WARNING"),
        }
    )
    peak = figures["memory"]["peak_mb"]
    checks.append(
        {
            "check": "peak memory",
            "unit": "MB",
            "value": peak,
            "limit": worker.memory_mb if worker else None,
            "status": an.threshold_status(
                Decimal(peak) if peak is not None else None,
                Decimal(worker.memory_mb) if worker else None,
                an.MEMORY_THRESHOLD,
            ),
        }
    )
    longest = invocations["duration_max_ms"].get("value")
    checks.append(
        {
            "check": "longest invocation",
            "unit": "ms",
            "value": longest,
            "limit": worker.timeout_s * 1000 if worker else None,
            "status": an.threshold_status(
                Decimal(str(longest)) if longest is not None else None,
                Decimal(worker.timeout_s * 1000) if worker else None,
                an.DURATION_THRESHOLD,
            ),
        }
    )
    return {
        "format": PERFORMANCE_FORMAT,
        "version": FORMAT_VERSION,
        **_meta(config, at, "performance"),
        **figures,
        "worker": worker.as_dict() if worker else None,
        "lambda": invocations,
        "checks": checks,
    }


@app.command("performance")
def performance(
    period: Period = typer.Option(Period.daily, "--period", help="daily, weekly or monthly."),
    as_of: str = AsOfOption,
    month: str = MonthOption,
    fmt: OutputFormat = FormatOption,
    output: Path | None = OutputOption,
    environment: str = EnvironmentOption,
) -> None:
    """Run timing and memory, the input of `ops performance-report` (exit 1 on a crossed threshold).

    Duration percentiles, per client and per hour, the slowest runs, peak memory, the worker's invocations.
    """
    writable(output)
    window = _window(period, as_of, month)
    config = environment_config(environment)
    document = performance_document(config, window, now())
    stats = document["duration"]
    table = Table("figure", "value", title=f"performance of {config.environment}, {window.label}")
    table.add_row("runs", str(document["runs"]))
    for key in ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms", "mean_ms"):
        table.add_row(key.replace("_ms", ""), _seconds(stats[key]))
    for check in document["checks"]:
        limit = _with_unit(check["limit"], check["unit"])
        table.add_row(check["check"], f"{_with_unit(check['value'], check['unit'])} / {limit} {check['status']}")
    crossed = [
        f"{c['check']} {_with_unit(c['value'], c['unit'])} (limit {_with_unit(c['limit'], c['unit'])})"
        for c in document["checks"]
        if c["status"] not in ("OK", "UNKNOWN")
    ]
    _finish(document, table, fmt, output, f"threshold crossed: {', '.join(crossed)}" if crossed else "")


@app.command("performance-report")
def performance_report(
    input_file: Path = typer.Option(..., "--input", help="The JSON of `ops performance`."),
    output: Path = typer.Option(..., "--output", help="The HTML page to write."),
) -> None:
    """The performance figures as an HTML page with charts (inline SVG, no script, no external asset)."""
    from cli.render.performance_html import render_performance

    writable(output)
    document = read_output_of("ops performance", PERFORMANCE_FORMAT, input_file)
    if document.get("version") != FORMAT_VERSION:
        fail(f"--input: version {document.get('version')!r} is not supported (expected {FORMAT_VERSION})")
    try:
        html = render_performance(document)
    except (KeyError, TypeError, ValueError) as error:
        fail(f"--input: {input_file} lacks a field the report needs ({error})")
    write_atomically(output, html)
    console.print(f"Wrote {output}.")


# -- audit report --------------------------------------------------------------------------------


def audit_document(config: EnvironmentConfig, window: an.Window, at: datetime) -> dict[str, Any]:
    start, end = window.start_at, window.end_at
    events, unreadable = audit.events_between(config, start, end)
    changes = [e.model_dump(mode="json") for e in events if e.action.startswith(("client.", "backup."))]
    rotations = [e.model_dump(mode="json") for e in events if e.action == "credentials.rotate"]
    group = f"/aws/lambda/{config.worker_function}"
    access = sources.log_events(group, "ACCESS", start, end)
    refused = sources.log_events(group, "UNAUTHORIZED", start, end)
    access_by: dict[str, Counter[str]] = defaultdict(Counter)
    for event in access.value or []:
        access_by[str(event.get("client_id", "?"))][str(event.get("requester", "?"))] += 1
    runs = sources.runs_between(config, start, end)
    runs_by: dict[str, Counter[str]] = defaultdict(Counter)
    for run in runs:
        runs_by[run.client_id][an.requester(run)] += 1
    unauthorized = [
        {
            "at": e["timestamp"],
            "client_id": e.get("client_id"),
            "run_id": e.get("run_id"),
            "requester": e.get("requester"),
            "message": e.get("message"),
        }
        for e in refused.value or []
    ]
    refused_runs = [
        {"at": r.started_at, "client_id": r.client_id, "run_id": r.run_id, "error": r.error}
        for r in runs
        if r.error_kind in REFUSED_KINDS
    ]
    by_actor = Counter(e.actor for e in events)
    return {
        **_meta(config, at, "audit"),
        "period": window.as_dict(),
        "changes": changes,
        "rotations": rotations,
        "changes_by_actor": dict(sorted(by_actor.items())),
        "unreadable_audit_objects": unreadable,
        "access": {
            "log_events": access.counted(),
            "by_client": {client: dict(sorted(c.items())) for client, c in sorted(access_by.items())},
            "runs_by_client": {client: dict(sorted(c.items())) for client, c in sorted(runs_by.items())},
            "readers": an.readers(runs, access.value or []),
            "note": "every run reads its client's cost data: runs are recorded for the whole period; worker log "
            "lines are kept by CloudWatch Logs (events older than 14 days are not accepted, and the CLI's "
            "manual runs log to the operator's terminal, not to CloudWatch)",
        },
        "unauthorized": {
            "log_events": refused.counted(),
            "events": unauthorized,
            "refused_runs": refused_runs,
        },
    }


def _when(value: Any) -> str:
    return str(value)[:19].replace("T", " ")


@app.command("audit-report")
def audit_report(
    period: Period = typer.Option(Period.monthly, "--period", help="daily, weekly or monthly."),
    as_of: str = AsOfOption,
    month: str = MonthOption,
    fmt: OutputFormat = FormatOption,
    output: Path | None = OutputOption,
    environment: str = EnvironmentOption,
) -> None:
    """Who changed which client, rotations, access and refusals (exit 1 on an unauthorised event)."""
    writable(output)
    window = _window(period, as_of, month)
    config = environment_config(environment)
    document = audit_document(config, window, now())
    table = Table(
        "when (UTC)", "who", "what", "client", "fields / detail", title=f"audit of {config.environment}, {window.label}"
    )
    for event in sorted(document["changes"] + document["rotations"], key=lambda e: str(e["at"])):
        table.add_row(
            _when(event["at"]),
            f"{event['actor']} ({event['operator']})",
            event["action"] + ("" if event["outcome"] == "done" else f" ({event['outcome']})"),
            event["client_id"],
            ", ".join(event["fields"]) or event["detail"],
        )
    for event in document["unauthorized"]["events"] or document["unauthorized"]["refused_runs"]:
        table.add_row(
            _when(event["at"]),
            styled("UNAUTHORIZED", "red"),
            "refused",
            str(event["client_id"]),
            str(event.get("run_id")),
        )
    if document["access"]["readers"]:
        table.add_section()
        table.add_row(styled("who read which client's data", "bold"), "", "", "", "runs recorded, ACCESS log lines")
    for reader in document["access"]["readers"]:
        table.add_row(
            "",
            reader["requester"],
            "read cost data",
            reader["client_id"],
            f"{reader['runs']} run(s), {reader['log_lines']} ACCESS line(s)",
        )
    unauthorized = document["unauthorized"]
    counts = (
        (len(unauthorized["events"]), "UNAUTHORIZED log line(s)"),
        (len(unauthorized["refused_runs"]), "refused run(s)"),
        (len(document["unreadable_audit_objects"]), "unreadable audit object(s)"),
    )
    _finish(document, table, fmt, output, ", ".join(f"{count} {what}" for count, what in counts if count))


# -- monthly report (PDF) -------------------------------------------------------------------------


@app.command("monthly-report")
def monthly_report(
    output: Path = typer.Option(..., "--output", help="The PDF to write."),
    month: str = MonthOption,
    as_of: str = AsOfOption,
    environment: str = EnvironmentOption,
) -> None:
    """The monthly operations review as a PDF (exit 1 when a KPI target is missed).

    The month's KPIs with charts, capacity, the security audit's summary, cost optimisation.
    """
    from cli.render.pdf import monthly_review_pdf

    writable(output)
    window = an.month_window(month_start(month) or previous_month_start(as_of_day(as_of)))
    config = environment_config(environment)
    at = now()
    operations = ops_report_document(config, window, at)
    sections = {
        "operations": operations,
        "capacity": capacity_document(config, at, history_months=6, forecast_months=6),
        "security": security_audit_document(config, at, comprehensive=True),
        "costs": cost_optimization_document(config, window, at),
    }
    write_atomically(output, monthly_review_pdf(sections, config.environment, window, at))
    console.print(f"Wrote {output}: operations review of {config.environment}, {window.label}.")
    finish(missed_kpis(operations))


# -- seed history (local) ------------------------------------------------------------------------


@app.command("seed-history")
def seed_history(
    days: int = typer.Option(30, "--days", min=1, max=120, help="How many days of scheduled runs."),
    as_of: str = typer.Option(
        "",
        "--as-of",
        help="Seed the days before this day (YYYY-MM-DD); default up to today's 06:00 UTC run once it is due.",
    ),
    incidents: bool = typer.Option(
        True,
        "--incidents/--no-incidents",
        help="A refused credential, a record broken by a hand edit, a bounced recipient.",
    ),
    environment: str = EnvironmentOption,
) -> None:
    """Local only: the latest days of scheduled runs, as the deployed platform would have made them.

    The dispatcher's logic and the worker's pipeline for each day, with the logs and metrics
    Lambda would leave: a history for the reports above.
    """
    from emulator.history import seed_history as seed
    from emulator.provision import settings_environment

    config = environment_config(environment)
    if config.deployed_by_stack:
        fail("--environment: seed-history writes simulated history: only the local environment")
    dates = _seeded_days(days, as_of, now())
    platform = settings(config)
    os.environ.update(settings_environment(platform))  # the handlers read their settings from the environment
    get_settings.cache_clear()
    with _day_progress(len(dates)) as advance:
        result = seed(config, platform, dates, incidents=incidents, on_day=advance)
    console.print(
        f"Seeded {result.days} day(s) of {config.environment}: {result.runs} run(s), {result.failed} failed, "
        f"{result.invocations} invocation(s), {result.log_events} log event(s) kept by CloudWatch Logs."
    )
    for line in result.incidents:
        console.print(f"  incident {line}")


def _seeded_days(days: int, as_of: str, at: datetime) -> list[date]:
    """The `days` scheduled days to seed, oldest first: those before --as-of; without it, up to
    the latest 06:00 UTC run due by `at` (today's once the clock is past it), so that a fresh
    history leaves every client within its schedule."""
    from emulator.history import FIRE_HOUR

    if as_of:
        return [as_of_day(as_of) - timedelta(days=offset) for offset in range(days, 0, -1)]
    latest = at.date() if at.hour >= FIRE_HOUR else at.date() - timedelta(days=1)
    return [latest - timedelta(days=offset) for offset in range(days - 1, -1, -1)]


@contextlib.contextmanager
def _day_progress(total: int) -> Iterator[Callable[[date, int], None]]:
    """A progress bar over days; the callable advances it by one day, naming the day and its runs."""
    with progress() as bar:
        task = bar.add_task("Running past days", total=total)
        yield lambda day, runs: bar.update(task, advance=1, description=f"{day} ({runs} runs)")
