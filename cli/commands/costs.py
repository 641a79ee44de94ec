"""`costs report` and `costs trends`: the platform's own AWS bill from Cost Explorer, by service,
by client and over the months (what is read and how: cli/reviews/platform_costs.py)."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from cli.context import as_of_day, emit_and_finish, environment_config, month_or_previous, now, writable
from cli.documents.platform_bill import report_document, trends_document
from cli.options import EnvironmentOption, FormatOption, MonthOption, OutputFormat, OutputOption
from cli.render.console import Table, styled
from cli.reviews.platform_costs import CE_SERVICE, COST_PER_RUN_RISE
from infrastructure.config import EnvironmentConfig
from lambdas.logic.periods import add_months

app = typer.Typer(help="The platform's own AWS bill, from Cost Explorer (cost allocation tags).", no_args_is_help=True)


class ReportPeriod(StrEnum):
    monthly = "monthly"


def _report_shortfall(document: dict[str, Any]) -> str:
    if document["total_usd"] is None:
        return (
            f"no cost tagged {document['source'].split('tags ', 1)[1]} in {document['period']['label']}: "
            "missing, not zero (are the tags activated as cost allocation tags?)"
        )
    now_, before = document["usd_per_run"], document["previous_usd_per_run"]
    if now_ is not None and before and now_ > before * (1 + COST_PER_RUN_RISE):
        return f"the bill per run rose from USD {before} to USD {now_} ({(now_ / before - 1) * 100:.0f}%)"
    return ""


@app.command("report")
def report(
    period: ReportPeriod = typer.Option(ReportPeriod.monthly, "--period", help="monthly: a calendar month."),
    month: str = MonthOption,
    as_of: str = typer.Option("", "--as-of", help="The month before this day's (YYYY-MM-DD); default today's."),
    fmt: OutputFormat = FormatOption,
    output: Path | None = OutputOption,
    environment: str = EnvironmentOption,
) -> None:
    """The platform's own AWS bill for a month, by service and by client (exit 1 when the month
    has no tagged cost, or the bill per run rose over 10%). Two or three Cost Explorer requests."""
    writable(output)
    first = month_or_previous(month, as_of)
    config = environment_config(environment)
    document = report_document(config, first, now())
    table = Table("service", "USD", "month before", "detail", title=_report_title(document, config))
    for row in document["by_service"]:
        table.add_row(row["service"], str(row["amount_usd"]), str(row["previous_usd"] or "-"), "")
    table.add_row(
        styled("total (tagged)", "bold"),
        str(document["total_usd"] or "missing"),
        str(document["previous_total_usd"] or "-"),
        "",
    )
    untaggable = document["untaggable"]
    table.add_row(
        CE_SERVICE,
        str(untaggable["cost_explorer_account_usd"] or "-"),
        "",
        "untagged: the account's line; the platform's runs recorded USD "
        f"{untaggable['cost_explorer_platform_recorded_usd']}",
    )
    for client in document["by_client"]:
        table.add_row(
            f"client {client['client_id']}",
            str(client["tagged_usd"]),
            "",
            f"{client['runs']} run(s); Cost Explorer recorded USD {client['cost_explorer_recorded_usd']}",
        )
    if document["unallocated_usd"]:
        table.add_row("unallocated", str(document["unallocated_usd"]), "", "no client used these services")
    emit_and_finish(document, table, fmt, output, _report_shortfall(document))


def _report_title(document: dict[str, Any], config: EnvironmentConfig) -> str:
    estimated = " (estimated: not final)" if document["estimated"] else ""
    return (
        f"AWS bill of the platform ({config.environment}), {document['period']['label']}{estimated}; "
        f"USD {document['usd_per_run'] or '-'} per run; {document['ce_requests']} Cost Explorer request(s)"
    )


def _trends_shortfall(document: dict[str, Any]) -> str:
    if document["missing_months"]:
        return f"no tagged cost in {', '.join(document['missing_months'])}: missing, not zero"
    priced = [row for row in document["months"] if row["usd_per_run"] is not None]
    if len(priced) > 1 and priced[-1]["usd_per_run"] > priced[0]["usd_per_run"] * (1 + COST_PER_RUN_RISE):
        first, last = priced[0], priced[-1]
        rise = (last["usd_per_run"] / first["usd_per_run"] - 1) * 100
        return f"the bill per run rose {rise:.0f}% from {first['month']} to {last['month']}"
    return ""


@app.command("trends")
def trends(
    period: int = typer.Option(
        12, "--period", min=2, max=13, help="How many complete months (Cost Explorer keeps 13)."
    ),
    as_of: str = typer.Option("", "--as-of", help="Months before this day's month (YYYY-MM-DD); default today's."),
    fmt: OutputFormat = FormatOption,
    output: Path | None = OutputOption,
    environment: str = EnvironmentOption,
) -> None:
    """The platform's bill over the last N complete months: by service, the trend, the drivers of
    each change and the bill per run (exit 1 when a month has no tagged cost, or the bill per run
    rose over 10%). Two Cost Explorer requests (more with pages)."""
    writable(output)
    last = add_months(as_of_day(as_of).replace(day=1), -1)
    config = environment_config(environment)
    document = trends_document(config, last, period, now())
    trend = document["trend"]
    title = (
        f"AWS bill of the platform ({config.environment}), {period} months: trend USD {trend['usd_per_month']} a "
        f"month; {document['ce_requests']} Cost Explorer request(s)"
    )
    table = Table("month", "USD (tagged)", "change", "drivers", "runs", "USD per run", "Cost Explorer", title=title)
    for row in document["months"]:
        movers = ", ".join(f"{d['service']} {d['change_usd']:+}" for d in row["drivers"])
        table.add_row(
            row["month"] + (" (estimated)" if row["estimated"] else ""),
            str(row["total_usd"] if row["total_usd"] is not None else "missing"),
            f"{row['change_usd']:+}" if row["change_usd"] is not None else "-",
            movers or "-",
            str(row["runs"]),
            str(row["usd_per_run"] or "-"),
            f"account {row['cost_explorer_account_usd'] or '-'}, runs {row['cost_explorer_platform_recorded_usd']}",
        )
    for item in document["drivers_over_the_period"]:
        table.add_row(styled("over the period", "bold"), "", f"{item['change_usd']:+}", item["service"], "", "", "")
    emit_and_finish(document, table, fmt, output, _trends_shortfall(document))
