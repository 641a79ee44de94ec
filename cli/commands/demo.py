"""`demo`: the whole platform on the embedded AWS, no account needed.

Starts the emulator in process (moto on loopback plus the Cost Explorer emulator over a
generated dataset), provisions the local environment under the stack's names, registers the
demo clients (delivering the Data Export of the one read from it), fires the dispatcher for every
schedule, feeds each queue to its worker handler exactly as Lambda would (the jobs queue to the
worker, the export jobs queue to the export worker), then reads back what was archived in S3 and
sent through SES.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from cli.context import EXIT_FINDINGS, as_of_day, fail, local_aws_environment, write_atomically
from cli.render.console import Table, console, styled
from infrastructure.config import EnvironmentConfig, for_environment
from lambdas import clock
from lambdas.models.client import SCHEDULES, Client, parse_client

if TYPE_CHECKING:  # the emulator is imported only when the demo runs: `import cli.main` stays light
    from emulator.server import EmbeddedAWS
    from lambdas.dal.archive import ReportArchive


@contextlib.contextmanager
def lambda_output(path: Path) -> Iterator[None]:
    """Send the handlers' JSON logs and EMF metrics to a file, as CloudWatch would keep them."""
    from lambdas.observability import logs_to

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as sink, contextlib.redirect_stdout(sink), logs_to(sink):
        yield


def demo(
    as_of: str = typer.Option("", "--as-of", help="Run as of this day (YYYY-MM-DD); default today (UTC)."),
    output: Path = typer.Option(Path("out"), "--output", help="Where to write each client's files."),
) -> None:
    """Run every demo client's report end to end on the embedded AWS and write the results."""
    day = as_of_day(as_of)
    started = time.monotonic()
    # The demo is the 06:00 UTC schedule of its day: every clock of the run (report times, key
    # ages, cache freshness) reads that moment, so --as-of pins the whole output.
    with clock.pinned(clock.at_hour(day)):
        _demo(day, output)
    console.print(f"Done in {time.monotonic() - started:.1f} s. Open {output}/<client>/report.html in a browser.")


def _demo(day: date, output: Path) -> None:
    from emulator.dataset import generate_demo_dataset
    from emulator.provision import provision, settings_environment
    from emulator.server import EmbeddedAWS

    config = for_environment("local")
    with console.status("Starting the embedded AWS and generating the demo cost data…"):
        dataset = generate_demo_dataset(day)
        aws = EmbeddedAWS(dataset, late_data=True).start()
    try:
        os.environ.update(local_aws_environment(aws.endpoint_url))
        settings = provision(config)
        os.environ.update(settings_environment(settings))
        _run(aws, day, output, config)
    finally:
        aws.stop()


def _run(aws: EmbeddedAWS, day: date, output: Path, config: EnvironmentConfig) -> None:
    from emulator.admin import admin
    from emulator.dataset import demo_clients
    from emulator.lambda_runtime import drain_queue, invoke
    from lambdas.dal.archive import ReportArchive
    from lambdas.dal.clients_table import ClientsTable
    from lambdas.dal.executions_table import ExecutionsTable
    from lambdas.handlers import dispatcher as dispatcher_handler
    from lambdas.handlers import export_worker as export_worker_handler
    from lambdas.handlers import worker as worker_handler
    from lambdas.logic.calendar import MONTH_CLOSE_FIRST_DAY as FINAL_NOT_BEFORE_DAY
    from lambdas.models.settings import get_settings

    settings = get_settings()
    clients_table = ClientsTable(settings.clients_table)
    records = demo_clients(aws.dataset)
    clients = [parse_client(record) for record in records]
    clients = [_on_stored_keys(c, day) if c.client_id == STORED_KEYS_CLIENT else c for c in clients]
    for client in clients:
        clients_table.put(client)
    _deliver_exports(aws, day, records)

    log = output / "lambda.log"
    # From the 5th the month-close run can re-send last month: the demo replays the monthly
    # clients' report of the 1st (while AWS still estimated last month), then runs month-close.
    month_story = day.day >= FINAL_NOT_BEFORE_DAY
    monthly_day = day.replace(day=1) if month_story else day
    triggers = ("daily", "weekly", "month-close") if month_story else SCHEDULES
    with lambda_output(log):
        if month_story:
            _replay_month_start(aws, day, [c.client_id for c in clients if c.schedule == "monthly"])
        for trigger in triggers:
            invoke(
                dispatcher_handler.handler, {"schedule": trigger, "as_of": day.isoformat()}, config.dispatcher_function
            )
        drain_queue(settings.jobs_queue_url, worker_handler.handler, config.worker_function)
        # The clients read from a Data Export (hooli): the dispatcher queued them for the export worker.
        drain_queue(settings.export_jobs_queue_url, export_worker_handler.handler, config.export_worker_function)

    messages = {message["id"]: message for message in admin(aws.endpoint_url, "ses/messages")}
    archive = ReportArchive(settings.assets_bucket)
    executions = ExecutionsTable(settings.executions_table)
    table = Table("client", "report", "period", "total", "change", "forecast", "CE req.", box=None, padding=(0, 1))
    failures = 0
    runs: list[tuple[Client, str, str, str]] = [
        (c, c.schedule, f"{(monthly_day if c.schedule == 'monthly' else day).isoformat()}.{c.schedule}", c.client_id)
        for c in clients
    ]
    if month_story:
        runs += [
            (c, "final", f"{day.isoformat()}.final", f"{c.client_id}-final") for c in clients if c.schedule == "monthly"
        ]
    for client, kind, run_id, folder in runs:
        record = executions.get(client.client_id, run_id)
        if record is None or record.status != "succeeded" or record.archive_prefix is None:
            failures += 1
            error = (record.error if record else None) or "no execution recorded"
            table.add_row(client.client_id, kind, "-", styled("failed", "red"), error, "", "")
            continue
        report = _write_run(archive, record.archive_prefix, messages.get(record.message_id or ""), output / folder)
        table.add_row(*_row(client.client_id, kind, report))
    console.print(table)
    console.print(f"Files: {output}/<client>/report.html, .txt, .csv, .json (.xlsx when asked), message.eml")
    console.print(f"Lambda logs and metrics (JSON, as CloudWatch keeps them): {log}")
    if failures:
        fail(f"{failures} demo client run(s) failed; see {log}", EXIT_FINDINGS)


def _write_run(archive: ReportArchive, prefix: str, sent: dict[str, Any] | None, target: Path) -> dict[str, Any]:
    """Copy a run's archived files (and the message SES sent) into `target`; its report.json."""
    target.mkdir(parents=True, exist_ok=True)
    for key in archive.list(prefix):
        write_atomically(target / key.rsplit("/", 1)[-1], archive.get(key))
    if sent:
        write_atomically(target / "message.eml", sent["raw"])
    return dict(json.loads((target / "report.json").read_text()))


# One demo client gives access keys instead of a role, as a client that cannot create a role does
# (docs/deploy.md): its reports show the key's age, rotated this many days before the demo's day.
STORED_KEYS_CLIENT = "globex-health"
STORED_KEYS_AGE_DAYS = 34


def _on_stored_keys(client: Client, day: date) -> Client:
    """The client on an IAM user's access key in its payer account, kept in Secrets Manager under
    the environment's path, exactly as an operator onboards such a client."""
    from lambdas.dal.aws import AwsCredentials, client_with, platform_client
    from lambdas.dal.secrets_store import SecretsStore
    from lambdas.models.client import RoleCredentials, StoredKeyCredentials
    from lambdas.models.ownership import SECRET_OWNER_TAG

    assert isinstance(client.credentials, RoleCredentials)  # noqa: S101 - the demo data's own shape
    # The client creates the user in its own account; here the demo acts for it through its role.
    assumed = platform_client("sts").assume_role(
        RoleArn=client.credentials.role_arn,
        RoleSessionName="demo-onboarding",
        ExternalId=client.credentials.external_id,
    )["Credentials"]
    iam = client_with(
        "iam", AwsCredentials(assumed["AccessKeyId"], assumed["SecretAccessKey"], assumed["SessionToken"])
    )
    iam.create_user(UserName="cost-reporting-reader")
    key = iam.create_access_key(UserName="cost-reporting-reader")["AccessKey"]
    secret_name = f"{for_environment('local').secrets_prefix}{client.client_id}"
    SecretsStore().create_keys(
        secret_name,
        AwsCredentials(key["AccessKeyId"], key["SecretAccessKey"]),
        tags={SECRET_OWNER_TAG: client.client_id},  # as `client add` tags it: the worker reads it in a tagged session
    )
    rotated = clock.at_hour(day) - timedelta(days=STORED_KEYS_AGE_DAYS)
    credentials = StoredKeyCredentials(secret_name=secret_name, rotated_at=rotated)
    return client.model_copy(update={"credentials": credentials})


def _deliver_exports(aws: EmbeddedAWS, day: date, records: list[dict[str, Any]]) -> None:
    """The payers of the clients read from a Data Export have it delivered into their own bucket, up
    to the demo's day (emulator/exports.py writes it from the dataset Cost Explorer answers with)."""
    from emulator.exports import deliver_demo_exports

    deliver_demo_exports(aws.dataset, records, day, now=clock.now())


def _replay_month_start(aws: EmbeddedAWS, day: date, monthly: list[str]) -> None:
    from emulator.dataset import demo_clients

    """The month-close story, replayed so the demo's final report has something to correct: on the
    1st the monthly clients got last month's report while AWS still estimated it; AWS then
    restated a few days before finalising the month. The final run finds that report in the
    archive and shows what changed."""
    from lambdas.models.events import ReportJob
    from lambdas.models.settings import get_settings
    from lambdas.orchestration.dependencies import dependencies_from
    from lambdas.orchestration.run import ReportRun

    dataset = aws.dataset
    first = day.replace(day=1)
    last_month_end = first - timedelta(days=1)
    finalised = dataset.finalised_through
    dataset.finalised_through = last_month_end.replace(day=1) - timedelta(days=1)  # last month: estimates
    deps = dependencies_from(get_settings())
    with clock.pinned(clock.at_hour(first)):
        for client_id in monthly:
            ReportRun(deps).run(ReportJob.scheduled(client_id, "monthly", first))
    for record in demo_clients(dataset):
        if record["client_id"] in monthly:
            _restate_last_days(dataset, record["account_ids"][0], last_month_end)
    dataset.finalised_through = finalised


def _restate_last_days(dataset: Any, account_id: str, month_end: date) -> None:
    """EC2 of the month's last two days comes in 9% higher in the final bill."""
    for offset in (0, 1):
        day = month_end - timedelta(days=offset)
        for service in ("Amazon Elastic Compute Cloud - Compute",):
            amount = sum(
                (
                    r.unblended
                    for r in dataset.records_between(day, day + timedelta(days=1), {account_id})
                    if r.service == service and r.record_type == "Usage"
                ),
                Decimal(0),
            )
            if amount:
                dataset.restate(day, account_id, service, (amount * Decimal("1.09")).quantize(Decimal("0.0001")))


def _row(client_id: str, schedule: str, report: dict[str, Any]) -> list[str]:
    from lambdas.logic.render.format import Formatter, period_label
    from lambdas.models.report import Period

    fmt = Formatter(report["currency"], report.get("locale", "en_US"))
    change = report["change_percent"]
    forecast = report["forecast"]
    return [
        client_id,
        schedule,
        period_label(Period.model_validate(report["period"])),
        fmt.money(Decimal(report["total"])),
        fmt.percent(Decimal(change) if change is not None else None),
        fmt.money(Decimal(forecast)) if forecast is not None else "-",
        str(report["ce_requests"]),
    ]
