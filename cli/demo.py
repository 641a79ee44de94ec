"""`demo`: the whole platform on the embedded AWS, no account needed.

Starts the emulator in process (moto on loopback plus the Cost Explorer emulator over a
generated dataset), provisions the local environment under the stack's names, registers the
demo clients, fires the dispatcher for every schedule, feeds the queue to the worker handler
exactly as Lambda would, then reads back what was archived in S3 and sent through SES.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from cli.context import EXIT_FINDINGS, console, fail, local_aws_environment
from emulator.dataset import demo_clients, generate_demo_dataset
from emulator.lambda_runtime import drain_queue, invoke
from emulator.provision import provision, settings_environment
from emulator.server import EmbeddedAWS
from infrastructure.config import for_environment
from lambdas.models.client import SCHEDULES, parse_client

FILES = ("report.html", "report.txt", "report.csv", "report.json")


@contextlib.contextmanager
def lambda_output(path: Path) -> Iterator[None]:
    """Send the handlers' JSON logs and EMF metrics to a file, as CloudWatch would keep them."""
    from lambdas.observability import logger

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as sink, contextlib.redirect_stdout(sink):
        handler = logger.registered_handler
        previous = handler.setStream(sink)  # type: ignore[attr-defined]
        try:
            yield
        finally:
            handler.setStream(previous)  # type: ignore[attr-defined]


def _admin(endpoint: str, path: str) -> Any:
    with urllib.request.urlopen(f"{endpoint}/_emulator/{path}", timeout=10) as response:  # noqa: S310 - loopback
        return json.loads(response.read())


def demo(
    as_of: str = typer.Option("", "--as-of", help="Run as of this day (YYYY-MM-DD); default today (UTC)."),
    output: Path = typer.Option(Path("out"), "--output", help="Where to write each client's files."),
) -> None:
    """Run every demo client's report end to end on the embedded AWS and write the results."""
    try:
        day = date.fromisoformat(as_of) if as_of else datetime.now(UTC).date()
    except ValueError:
        fail(f"--as-of: not a date (YYYY-MM-DD): {as_of!r}")
    started = time.monotonic()
    config = for_environment("local")
    with console.status("Starting the embedded AWS and generating the demo cost data…"):
        dataset = generate_demo_dataset(day)
        aws = EmbeddedAWS(dataset).start()
    try:
        os.environ.update(local_aws_environment(aws.endpoint_url))
        settings = provision(config)
        os.environ.update(settings_environment(settings))
        _run(aws, day, output, settings.jobs_queue_url, config.worker_function, config.dispatcher_function)
    finally:
        aws.stop()
    console.print(f"Done in {time.monotonic() - started:.1f} s. Open {output}/<client>/report.html in a browser.")


def _run(aws: EmbeddedAWS, day: date, output: Path, queue_url: str, worker: str, dispatcher: str) -> None:
    from lambdas.dal.archive import ReportArchive
    from lambdas.dal.clients_table import ClientsTable
    from lambdas.dal.executions_table import ExecutionsTable
    from lambdas.handlers import dispatcher as dispatcher_handler
    from lambdas.handlers import worker as worker_handler
    from lambdas.models.settings import get_settings

    settings = get_settings()
    clients_table = ClientsTable(settings.clients_table)
    clients = [parse_client(record) for record in demo_clients(aws.dataset)]
    for client in clients:
        clients_table.put(client)

    log = output / "lambda.log"
    with lambda_output(log):
        for schedule in SCHEDULES:
            invoke(dispatcher_handler.handler, {"schedule": schedule, "as_of": day.isoformat()}, dispatcher)
        drain_queue(queue_url, worker_handler.handler, worker)

    messages = {message["id"]: message for message in _admin(aws.endpoint_url, "ses/messages")}
    archive = ReportArchive(settings.assets_bucket)
    executions = ExecutionsTable(settings.executions_table)
    table = Table("client", "schedule", "period", "total", "change", "forecast", "CE req.", box=None, padding=(0, 1))
    failures = 0
    for client in clients:
        record = executions.get(client.client_id, f"{day.isoformat()}.{client.schedule}")
        target = output / client.client_id
        target.mkdir(parents=True, exist_ok=True)
        if record is None or record.status != "succeeded" or record.archive_prefix is None:
            failures += 1
            error = record.error if record else "no execution recorded"
            table.add_row(client.client_id, client.schedule, "-", "[red]failed[/]", error or "", "", "")
            continue
        for name in FILES:
            (target / name).write_bytes(archive.get(record.archive_prefix + name))
        sent = messages.get(record.message_id or "")
        if sent:
            (target / "message.eml").write_text(sent["raw"], encoding="utf-8")
        report = json.loads((target / "report.json").read_text())
        table.add_row(*_row(client.client_id, client.schedule, report))
    console.print(table)
    console.print(f"Files: {output}/<client>/report.html, report.txt, report.csv, report.json, message.eml")
    console.print(f"Lambda logs and metrics (JSON, as CloudWatch keeps them): {log}")
    if failures:
        fail(f"{failures} demo client run(s) failed; see {log}", EXIT_FINDINGS)


def _row(client_id: str, schedule: str, report: dict[str, Any]) -> list[str]:
    from decimal import Decimal

    from lambdas.logic.render import money, period_label, signed_percent
    from lambdas.models.report import Period

    currency = report["currency"]
    change = report["change_percent"]
    forecast = report["forecast"]
    return [
        client_id,
        schedule,
        period_label(Period.model_validate(report["period"])),
        money(Decimal(report["total"]), currency),
        signed_percent(Decimal(change) if change is not None else None),
        money(Decimal(forecast), currency) if forecast is not None else "-",
        str(report["ce_requests"]),
    ]
