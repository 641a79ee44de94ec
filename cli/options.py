"""The options the command groups share, declared once: the same flag, default and help everywhere.

cli/commands/ modules import them from here (commands never import each other)."""

from __future__ import annotations

import os
from enum import StrEnum

import typer

from infrastructure.config import ENVIRONMENTS

EnvironmentOption = typer.Option(
    os.environ.get("COST_REPORTING_ENV", "local"),
    "--environment",
    "-e",
    help=f"Which deployment to act on: {', '.join(ENVIRONMENTS)}.",
)


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


FormatOption = typer.Option(OutputFormat.table, "--format", help="table (for people) or json (for machines).")
OutputOption = typer.Option(None, "--output", help="Also write the result as JSON to FILE.")
AsOfOption = typer.Option("", "--as-of", help="Reports end before this day (YYYY-MM-DD); default today (UTC).")
MonthOption = typer.Option("", "--month", help="The month (YYYY-MM) of a monthly period; default the previous one.")
