"""`billing ...`: what running the platform cost for each client in a month, and its statement.

`track` computes it from the records (cli/reviews/costing.py; prices in cli/reviews/pricing.py) and writes JSON;
`report` turns that JSON into a PDF, one page a client, after checking that every total is the
sum of its lines to the cent (a hand-edited file that does not add up is refused, exit 2).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import typer
from pydantic import BaseModel, ConfigDict, ValidationError

from cli.context import (
    emit,
    environment_config,
    fail,
    month_or_previous,
    now,
    read_output_of,
    writable,
    write_atomically,
)
from cli.documents.platform_cost import cost_statement
from cli.options import EnvironmentOption, FormatOption, OutputFormat, OutputOption
from cli.render.console import Table, console, styled
from cli.reviews.costing import verify_statement
from cli.reviews.periods import month_window
from lambdas.models.client import describe_validation_error

app = typer.Typer(help="The platform's cost per client, and billing statements.", no_args_is_help=True)

BILLING_FORMAT, BILLING_VERSION = "cost-reporting-billing", 1


@app.command("track")
def track(
    month: str = typer.Option("", "--month", help="The month (YYYY-MM); default the previous one."),
    as_of: str = typer.Option("", "--as-of", help="Today for the default month (YYYY-MM-DD)."),
    fmt: OutputFormat = FormatOption,
    output: Path | None = OutputOption,
    environment: str = EnvironmentOption,
) -> None:
    """The platform's cost attributed to each client for the month (the input of `billing report`)."""
    writable(output)
    window = month_window(month_or_previous(month, as_of))
    config = environment_config(environment)
    at = now()
    statement = cost_statement(config, window, at)
    document = {
        "format": BILLING_FORMAT,
        "version": BILLING_VERSION,
        "environment": config.environment,
        "generated_at": at,
        "month": f"{window.start:%Y-%m}",
        **statement,
    }
    table = Table("client", "runs", "direct USD", "shared USD", "total USD", title=f"platform cost, {window.label}")
    for client in document["clients"]:
        table.add_row(
            client["client_id"],
            str(client["runs"]),
            str(client["direct_usd"]),
            str(client["shared_usd"]),
            str(client["total_usd"]),
        )
    table.add_row(styled("total", "bold"), "", "", "", styled(document["total_usd"], "bold"))
    emit(document, table, fmt, output)


# -- the statement ---------------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Line(_Strict):
    service: str
    description: str
    quantity: Decimal
    unit: str
    unit_price_usd: Decimal
    per: int
    amount_usd: Decimal


class _Share(_Strict):
    service: str
    description: str
    amount_usd: Decimal


class _Client(_Strict):
    client_id: str
    name: str
    runs: int
    lines: list[_Line]
    shared: list[_Share]
    direct_usd: Decimal
    shared_usd: Decimal
    total_usd: Decimal


class _Period(_Strict):
    start: date
    end: date
    label: str


class _UnitPrice(_Strict):
    service: str
    description: str
    usd: Decimal
    per: int
    unit: str


class _Pricing(_Strict):
    region: str
    as_of: str
    basis: str
    unit_prices: list[_UnitPrice]
    not_priced: list[str]


class _SharedSection(_Strict):
    notes: list[str] = []


class BillingFile(_Strict):
    format: Literal["cost-reporting-billing"]
    version: Literal[1]
    environment: str
    period: _Period
    clients: list[_Client]
    shared: _SharedSection
    unallocated_usd: Decimal
    total_usd: Decimal
    pricing: _Pricing


def read_statement(path: Path) -> dict[str, Any]:
    data = read_output_of("billing track", BILLING_FORMAT, path)
    try:
        document = BillingFile.model_validate(data).model_dump()
    except ValidationError as error:
        field, problem = describe_validation_error(error)
        fail(f"--input: {field}: {problem}")
    problems = verify_statement(document)
    if problems:
        fail(f"--input: {problems[0]}")
    return document


@app.command("report")
def report(
    input_file: Path = typer.Option(..., "--input", help="The JSON of `billing track`."),
    output: Path = typer.Option(..., "--output", help="The PDF to write."),
) -> None:
    """A billing statement as a PDF: a summary page, then one page a client, totals as in the JSON."""
    from cli.render.pdf import billing_pdf

    writable(output)
    document = read_statement(input_file)
    write_atomically(output, billing_pdf(document))
    console.print(
        f"Wrote {output}: {len(document['clients'])} client page(s), total USD {document['total_usd']:.2f} "
        f"({document['period']['label']})."
    )
