"""`ops ...`: the weekly and monthly reviews of the runbook, from the platform's own records.

- `report`: run records of the period, bounce suppressions;
- `monthly-report`: the above for a month, with capacity, security audit and cost optimisation, as a PDF;
- `client-health`: clients, their runs, suppressions, stored-key ages (IAM);
- `capacity`: registrations, runs per month, function configuration, recorded peak memory, Lambda
  metrics, table and bucket sizes;
- `security-audit`: key ages, IAM statements of the platform's roles, bucket and table encryption
  and public access, alarms, UNAUTHORIZED log lines and refused runs;
- `cost-optimization`: the costs of cli/reviews/costing.py, function configuration, bucket listing and
  lifecycle;
- `performance` / `performance-report`: run durations, memory, Lambda metrics; an HTML page of charts;
- `audit-report`: the audit trail (cli/workflows/audit_trail.py), ACCESS and UNAUTHORIZED log lines, runs by
  requester;

What each review reads: cli/documents; its arithmetic, with the runbook's targets and thresholds:
cli/reviews (kpis.py, capacity.py, cost_advice.py); its tables: cli/render/ops.py. Exit codes: 0 all
targets met / no finding, 1 a target missed or a finding, 2 bad input.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from cli.context import (
    as_of_day,
    emit,
    emit_and_finish,
    environment_config,
    fail,
    finish,
    month_or_previous,
    month_start,
    now,
    read_output_of,
    writable,
    write_atomically,
)
from cli.documents.access_audit import audit_document
from cli.documents.capacity import capacity_document
from cli.documents.client_health import client_health_document
from cli.documents.kpis import ops_report_document
from cli.documents.performance import FORMAT_VERSION, PERFORMANCE_FORMAT, performance_document
from cli.documents.platform_cost import cost_optimization_document
from cli.documents.security_audit import security_audit_document
from cli.options import AsOfOption, EnvironmentOption, FormatOption, MonthOption, OutputFormat, OutputOption
from cli.render.console import Table, console, styled
from cli.render.ops import (
    audit_table,
    capacity_table,
    client_health_table,
    cost_explorer_table,
    kpi_table,
    missed_kpis,
    seconds,
    security_audit_table,
    with_unit,
)
from cli.reviews.periods import Window, month_window, period_window
from infrastructure.config import EnvironmentConfig

app = typer.Typer(help="Operations analytics: reviews, audits, capacity, optimisation.", no_args_is_help=True)


class Period(StrEnum):
    daily = "daily"
    weekly = "weekly"
    monthly = "monthly"


def _window(period: Period, as_of: str, month: str) -> Window:
    if month and period is not Period.monthly:
        fail("--month: only with --period monthly")
    return period_window(period.value, as_of_day(as_of), month_start(month))


def _period_review(
    build: Callable[[EnvironmentConfig, Window, datetime], dict[str, Any]],
    period: Period,
    as_of: str,
    month: str,
    output: Path | None,
    environment: str,
) -> tuple[EnvironmentConfig, Window, dict[str, Any]]:
    """A review of a --period (ops report, performance, audit-report): the options checked before
    anything is read, then the environment, the period's window and the document `build` makes."""
    writable(output)
    window = _window(period, as_of, month)
    config = environment_config(environment)
    return config, window, build(config, window, now())


# -- ops report ----------------------------------------------------------------------------------


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
    config, window, document = _period_review(ops_report_document, period, as_of, month, output, environment)
    title = f"operations of {config.environment}, {window.label}"
    emit_and_finish(document, kpi_table(document, title), fmt, output, missed_kpis(document))


# -- client health -------------------------------------------------------------------------------


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
    window = Window("days", end - timedelta(days=days), end)
    config = environment_config(environment)
    document = client_health_document(config, window, now())
    table = client_health_table(document, window)
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
    emit_and_finish(document, table, fmt, output, shortfall)


# -- capacity ------------------------------------------------------------------------------------


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
    config = environment_config(environment, output=output)
    document = capacity_document(config, now(), history_months=history_months, forecast_months=forecast_months)
    table = capacity_table(document, config)
    crossed = [
        f"{c['check']} {with_unit(c['used'], c['unit'])} of {with_unit(c['limit'], c['unit'])}"
        for c in document["checks"]
        if c["status"] not in ("OK", "UNKNOWN")
    ]
    emit(document, table, fmt, output)
    if fmt is OutputFormat.table:
        console.print(cost_explorer_table(document["cost_explorer"]))
    finish(f"threshold crossed: {', '.join(crossed)}" if crossed else "")


# -- security audit ------------------------------------------------------------------------------


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
    config = environment_config(environment, output=output)
    document = security_audit_document(config, now(), comprehensive=comprehensive)
    table = security_audit_table(document, config)
    above = {level: count for level, count in document["summary"].items() if count and level != "INFO"}
    listed = ", ".join(f"{count} {level}" for level, count in above.items())
    emit_and_finish(
        document, table, fmt, output, f"{sum(above.values())} finding(s) above INFO: {listed}" if above else ""
    )


# -- costs ---------------------------------------------------------------------------------------


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
    window = Window("days", end - timedelta(days=analyze_period), end)
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
    emit_and_finish(document, table, fmt, recommendations_output, shortfall)


# -- performance ---------------------------------------------------------------------------------


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
    config, window, document = _period_review(performance_document, period, as_of, month, output, environment)
    stats = document["duration"]
    table = Table("figure", "value", title=f"performance of {config.environment}, {window.label}")
    table.add_row("runs", str(document["runs"]))
    for key in ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms", "mean_ms"):
        table.add_row(key.replace("_ms", ""), seconds(stats[key]))
    for check in document["checks"]:
        limit = with_unit(check["limit"], check["unit"])
        table.add_row(check["check"], f"{with_unit(check['value'], check['unit'])} / {limit} {check['status']}")
    crossed = [
        f"{c['check']} {with_unit(c['value'], c['unit'])} (limit {with_unit(c['limit'], c['unit'])})"
        for c in document["checks"]
        if c["status"] not in ("OK", "UNKNOWN")
    ]
    emit_and_finish(document, table, fmt, output, f"threshold crossed: {', '.join(crossed)}" if crossed else "")


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
    config, window, document = _period_review(audit_document, period, as_of, month, output, environment)
    table = audit_table(document, config, window)
    unauthorized = document["unauthorized"]
    counts = (
        (len(unauthorized["events"]), "UNAUTHORIZED log line(s)"),
        (len(unauthorized["refused_runs"]), "refused run(s)"),
        (len(document["unreadable_audit_objects"]), "unreadable audit object(s)"),
    )
    emit_and_finish(document, table, fmt, output, ", ".join(f"{count} {what}" for count, what in counts if count))


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
    window = month_window(month_or_previous(month, as_of))
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
