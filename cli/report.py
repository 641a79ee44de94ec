"""`report run`: the worker's own code for one client, against whatever AWS the environment names."""

from __future__ import annotations

import secrets
from datetime import UTC, date, datetime
from pathlib import Path

import typer
from pydantic import ValidationError
from rich.table import Table

from cli.context import EXIT_BAD_INPUT, EXIT_FINDINGS, EnvironmentOption, console, environment_config, fail, settings
from lambdas.logic.render import money
from lambdas.models.client import describe_validation_error
from lambdas.models.events import ReportJob
from lambdas.pipeline import ReportRun, RunOutcome, dependencies_from

app = typer.Typer(help="Run reports and read their history.", no_args_is_help=True)


def manual_job(client_id: str, as_of: date) -> ReportJob:
    stamp = datetime.now(UTC).strftime("%H%M%S")
    try:
        return ReportJob(
            run_id=f"{as_of.isoformat()}.manual-{stamp}-{secrets.token_hex(2)}",
            client_id=client_id,
            as_of=as_of,
            kind="manual",
        )
    except ValidationError as error:
        field, problem = describe_validation_error(error)
        fail(f"--{field.replace('_', '-')}: {problem}")


def write_outputs(outcome: RunOutcome, directory: Path) -> Path:
    target = directory / outcome.client_id
    target.mkdir(parents=True, exist_ok=True)
    for name, body in outcome.files.items():
        (target / name).write_bytes(body)
    return target


@app.command("run")
def run(
    client_id: str = typer.Option(..., "--client-id", help="The client to report on."),
    as_of: str = typer.Option("", "--as-of", help="Report as of this day (YYYY-MM-DD); default today (UTC)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Render only: archive nothing, send nothing."),
    output: Path | None = typer.Option(None, "--output", help="Also write the report files under DIR/<client_id>/."),
    environment: str = EnvironmentOption,
) -> None:
    """Run one client's report now, through the same pipeline as the Lambda worker."""
    config = environment_config(environment)
    try:
        day = date.fromisoformat(as_of) if as_of else datetime.now(UTC).date()
    except ValueError:
        fail(f"--as-of: not a date (YYYY-MM-DD): {as_of!r}")
    job = manual_job(client_id, day)
    outcome = ReportRun(dependencies_from(settings(config)), dry_run=dry_run, requester="cli").run(job)
    if outcome.error_kind in ("invalid_input", "client_not_found"):
        fail(outcome.error or "invalid client", EXIT_BAD_INPUT)
    path = write_outputs(outcome, output) if output and outcome.files else None
    table = Table("client", "run", "status", "delivery", "total", "CE requests", "files", title=None)
    report = outcome.report
    table.add_row(
        outcome.client_id,
        outcome.run_id,
        outcome.status,
        outcome.delivery or "-",
        money(report.total, report.currency) if report else "-",
        str(outcome.ce_requests),
        str(path or "-"),
    )
    console.print(table)
    if outcome.status == "failed":
        fail(f"{outcome.error_kind}: {outcome.error}", EXIT_FINDINGS)
