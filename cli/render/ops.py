"""The operations reviews' tables and the figures in them (`ops ...`)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from rich.text import Text

from cli.render.console import Table, styled
from cli.reviews.periods import Window
from infrastructure.config import EnvironmentConfig


def percent(value: Any) -> str:
    return "-" if value is None else f"{Decimal(str(value)) * 100:.2f}%"


def seconds(value: Any) -> str:
    return "-" if value is None else f"{Decimal(str(value)) / 1000:.2f} s"


def with_unit(value: Any, unit: str) -> str:
    return "-" if value is None else f"{value} {unit}"


def count(value: Any) -> str:
    """A count, or a projected or scaled one, as a whole number."""
    return f"{Decimal(str(value)):.0f}"


def scaled_note(scaled: dict[str, Any] | None) -> str:
    return f" (scaled to {scaled['month_days']} days from {scaled['recorded_days']})" if scaled else ""


def kpi_value(kpi: dict[str, Any]) -> str:
    return percent(kpi["value"]) if kpi["unit"] == "ratio" else seconds(kpi["value"])


def kpi_target(kpi: dict[str, Any]) -> str:
    sign = "<" if kpi["unit"] == "ms" else "≥"  # durations are better lower, ratios higher
    return f"{sign} {percent(kpi['target']) if kpi['unit'] == 'ratio' else seconds(kpi['target'])}"


def met(value: bool | None) -> Text:
    return {True: styled("met", "green"), False: styled("missed", "bold red"), None: styled("no data", "dim")}[value]


def missed_kpis(document: dict[str, Any]) -> str:
    """The KPIs of an `ops report` document that missed their target, with value and target."""
    missed = [kpi for kpi in document["kpis"] if kpi["met"] is False]
    listed = ", ".join(f"{kpi['name']} {kpi_value(kpi)} (target {kpi_target(kpi)})" for kpi in missed)
    return f"{len(missed)} KPI(s) missed their target: {listed}" if missed else ""


def kpi_table(document: dict[str, Any], title: str) -> Table:
    table = Table("KPI", "value", "target", "", "detail", title=title, title_justify="left")
    for kpi in document["kpis"]:
        table.add_row(kpi["name"], kpi_value(kpi), kpi_target(kpi), met(kpi["met"]), kpi["detail"])
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
        f"USD {ce['cost_usd']}, cache hit rate {percent(ce['cache_hit_rate'])}",
    )
    return table


GAP_DAYS_SHOWN = 5


def gap_days(gaps: list[date]) -> str:
    """The days to re-run (`report run --as-of DAY`), the latest first; the JSON has all of them."""
    latest = [f"{day:%Y-%m-%d}" for day in sorted(gaps, reverse=True)]
    more = len(latest) - GAP_DAYS_SHOWN
    return ", ".join(latest[:GAP_DAYS_SHOWN]) + (f" (+{more} more)" if more > 0 else "") if latest else "-"


def cost_explorer_table(plans: dict[str, Any], shown: int = 10) -> Table:
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


def when(value: Any) -> str:
    return str(value)[:19].replace("T", " ")


def client_health_table(document: dict[str, Any], window: Window) -> Table:
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
            gap_days(entry["coverage_gaps"]),
            "; ".join(entry["reasons"]),
        )
    return table


def capacity_table(document: dict[str, Any], config: EnvironmentConfig) -> Table:
    table = Table("check", "status", "used", "limit", "detail", title=f"capacity of {config.environment}")
    for check in document["checks"]:
        used, limit = with_unit(check["used"], check["unit"]), with_unit(check["limit"], check["unit"])
        table.add_row(check["check"], check["status"], used, limit, check["detail"])
    for series in document["growth"].values():
        scaled = {entry["month"]: entry for entry in series.get("scaled", [])}
        history = ", ".join(
            f"{p['month']} {count(p['value'])}{scaled_note(scaled.get(p['month']))}" for p in series["history"]
        )
        projected = ", ".join(f"{p['month']} {count(p['value'])}" for p in series["projection"])
        table.add_row(f"{series['name']} per month", "", "", "", f"{history} → projected {projected}")
    for line in document["recommendations"]:
        table.add_row("change", "", "", "", line)
    return table


def security_audit_table(document: dict[str, Any], config: EnvironmentConfig) -> Table:
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
    return table


def audit_table(document: dict[str, Any], config: EnvironmentConfig, window: Window) -> Table:
    table = Table(
        "when (UTC)", "who", "what", "client", "fields / detail", title=f"audit of {config.environment}, {window.label}"
    )
    for event in sorted(document["changes"] + document["rotations"], key=lambda e: str(e["at"])):
        table.add_row(
            when(event["at"]),
            f"{event['actor']} ({event['operator']})",
            event["action"] + ("" if event["outcome"] == "done" else f" ({event['outcome']})"),
            event["client_id"],
            ", ".join(event["fields"]) or event["detail"],
        )
    for event in document["unauthorized"]["events"] or document["unauthorized"]["refused_runs"]:
        table.add_row(
            when(event["at"]),
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
    return table
