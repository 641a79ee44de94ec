"""`report run` and `report history`: the worker's own code for one client or all active
clients, against whatever AWS the environment names, and the runs it recorded."""

from __future__ import annotations

import secrets
from collections import Counter
from datetime import date
from pathlib import Path

import typer
from pydantic import ValidationError

from cli.context import (
    EXIT_BAD_INPUT,
    as_of_day,
    emit,
    environment_config,
    fail,
    finish,
    now,
    pipeline_logs,
    settings,
    tracked,
    write_atomically,
)
from cli.options import EnvironmentOption, FormatOption, OutputFormat, OutputOption
from cli.readers.clients import clients_table, require_record
from cli.render.console import Table, console, errors
from cli.reviews.checks import listed
from lambdas.dal.aws import platform_error
from lambdas.dal.executions_table import ExecutionsTable
from lambdas.logic.render.format import money
from lambdas.models.client import describe_validation_error
from lambdas.models.events import ReportJob
from lambdas.models.exceptions import PlatformError
from lambdas.orchestration.dependencies import dependencies_from
from lambdas.orchestration.outcome import RunOutcome
from lambdas.orchestration.run import ReportRun

app = typer.Typer(help="Run reports and read their history.", no_args_is_help=True)


def manual_job(client_id: str, as_of: date) -> ReportJob:
    stamp = now().strftime("%H%M%S")
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
        write_atomically(target / name, body)
    return target


def _document(outcome: RunOutcome, path: Path | None) -> dict[str, object]:
    report = outcome.report
    return {
        **outcome.summary(),
        "total": report.total if report else None,
        "currency": report.currency if report else None,
        "files": str(path) if path else None,
    }


@app.command("run")
def run(
    client_id: str = typer.Option("", "--client-id", help="The client to report on."),
    all_clients: bool = typer.Option(False, "--all", help="Every active client, one after the other."),
    as_of: str = typer.Option("", "--as-of", help="Report as of this day (YYYY-MM-DD); default today (UTC)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Render only: archive nothing, send nothing."),
    output: Path | None = typer.Option(None, "--output", help="Also write the report files under DIR/<client_id>/."),
    fmt: OutputFormat = FormatOption,
    verbose: bool = typer.Option(False, "--verbose", help="Show the worker's structured logs (on stderr)."),
    environment: str = EnvironmentOption,
) -> None:
    """Run reports now, through the same pipeline as the Lambda worker (manual runs)."""
    if bool(client_id) == all_clients:
        fail("--client-id: give one client, or --all for every active client")
    if output is not None and output.exists() and not output.is_dir():
        fail(f"--output: {output} is a file, not a directory")
    day = as_of_day(as_of)
    config = environment_config(environment)
    if all_clients:
        records = sorted(clients_table(config).records(), key=lambda r: str(r.get("client_id", "")))
        ids = [str(r["client_id"]) for r in records if r.get("status", "active") == "active"]
    else:
        manual_job(client_id, day)  # a malformed id is bad input before anything is read
        require_record(clients_table(config), client_id)
        ids = [client_id]
    pipeline = ReportRun(dependencies_from(settings(config)), dry_run=dry_run, requester="cli")
    view = Table("client", "run", "status", "delivery", "total", "CE requests", "files / error")
    documents = []
    for current in tracked(ids, "Running reports", len(ids)) if all_clients else ids:
        outcome = _run_one(pipeline, manual_job(current, day), verbose)
        if not all_clients and outcome.error_kind in ("invalid_input", "client_not_found"):
            fail(outcome.error or "invalid client", EXIT_BAD_INPUT)
        path = write_outputs(outcome, output) if output and outcome.files else None
        documents.append(_document(outcome, path))
        report = outcome.report
        error = f"{outcome.error_kind}: {outcome.error}" if outcome.error else "-"
        view.add_row(
            outcome.client_id,
            outcome.run_id,
            outcome.status,
            outcome.delivery or "-",
            money(report.total, report.currency) if report else "-",
            str(outcome.ce_requests),
            str(path) if path else error,
        )
    failed = [str(document["client_id"]) for document in documents if document["status"] == "failed"]
    document = {"environment": config.environment, "as_of": day, "runs": documents, "failed": len(failed)}
    emit(document, view, fmt, None)
    if all_clients:
        errors.print(run_summary(documents), highlight=False, soft_wrap=True)
    incomplete = [str(document["client_id"]) for document in documents if document["status"] == "incomplete"]
    shortfalls = [f"{len(failed)} run(s) failed: {listed(failed)}"] if failed else []
    shortfalls += [f"{len(incomplete)} report(s) incomplete, not sent: {listed(incomplete)}"] if incomplete else []
    finish("; ".join(shortfalls))


def run_summary(documents: list[dict[str, object]]) -> str:
    """One line under `report run --all`'s table: how many runs and how they ended."""
    counts = Counter(str(document["status"]) for document in documents)
    sent = sum(1 for document in documents if document.get("delivery") == "sent")
    requests = sum(int(str(document.get("ce_requests") or 0)) for document in documents)
    ended = ", ".join(
        f"{counts[status]} {status}" for status in ("succeeded", "incomplete", "failed", "skipped") if counts[status]
    )
    return f"{len(documents)} run(s): {ended or 'none'}; {sent} report(s) sent; {requests} Cost Explorer request(s)"


def _run_one(pipeline: ReportRun, job: ReportJob, verbose: bool) -> RunOutcome:
    """One run. A failure the queue would retry (a dependency, throttling beyond the retries) is
    recorded by the pipeline and raised; here it is this client's failed run, and `--all` goes on
    with the next client instead of stopping."""
    try:
        with pipeline_logs(verbose):
            return pipeline.run(job)
    except Exception as error:
        kind = platform_error(error) or error
        return RunOutcome(
            client_id=job.client_id,
            run_id=job.run_id,
            status="failed",
            error_kind=kind.kind if isinstance(kind, PlatformError) else "unexpected",
            error=str(kind) if isinstance(kind, PlatformError) else type(kind).__name__,
        )


@app.command("history")
def history(
    client_id: str = typer.Option(..., "--client-id", help="The client whose runs to show."),
    limit: int = typer.Option(20, "--limit", min=1, max=500, help="How many of the newest runs."),
    fmt: OutputFormat = FormatOption,
    output: Path | None = OutputOption,
    environment: str = EnvironmentOption,
) -> None:
    """The client's recorded runs, newest first."""
    config = environment_config(environment, output=output)
    require_record(clients_table(config), client_id)
    runs = ExecutionsTable(config.executions_table).history(client_id, limit=limit)
    view = Table("run", "status", "delivery", "finished (UTC)", "duration", "total", "CE req.", "error")
    for record in runs:
        view.add_row(
            record.run_id,
            record.status,
            record.delivery or "-",
            f"{record.finished_at:%Y-%m-%d %H:%M}" if record.finished_at else "-",
            f"{record.duration_ms / 1000:.1f} s" if record.duration_ms is not None else "-",
            money(record.total, record.currency or "USD") if record.total is not None else "-",
            str(record.ce_requests),
            f"{record.error_kind}: {record.error}" if record.error else "",
        )
    document = {
        "environment": config.environment,
        "client_id": client_id,
        "runs": [record.model_dump(mode="json", exclude_none=True) for record in runs],
    }
    emit(document, view, fmt, output)
    if not runs and fmt is OutputFormat.table:
        console.print(f"No runs recorded for {client_id} yet.")
