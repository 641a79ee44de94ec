"""The dispatcher's job: one queued run per active client due on the schedule that fired.

Clients reached through the very same credentials (one payer, many clients) and reporting the
same metric form a group: each job names the group's other accounts (`shared_accounts`), so the
first run of the group fetches them all with one request and the others find them in the cache.
The group's jobs are queued next to each other, so they usually share an SQS batch, which one
worker processes in order.

Clients whose cost source is data_exports go to the export queue, which the export worker consumes
(DuckDB in its own layer, docs/data-exports.md "Deployment"); the others to the jobs queue. They share
no Cost Explorer query, so they are in no group and name no shared accounts. Without an export queue
(`export_queue` None) every run goes to the jobs queue.

The month-close trigger queues a "final" run for every monthly client, from the 5th of the
month on (lambdas/logic/calendar.py): AWS finalises a month's bill in the first days of the next one. The worker checks
Cost Explorer's own `Estimated` flags before sending and skips while last month is not final.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import TypeAdapter, ValidationError

from lambdas.dal.clients_table import ClientsTable
from lambdas.dal.jobs_queue import JobsQueue
from lambdas.logic.calendar import MONTH_CLOSE_FIRST_DAY
from lambdas.logic.credential_scope import credential_scope
from lambdas.models.client import Client, ClientId, describe_validation_error, parse_client
from lambdas.models.events import ReportJob
from lambdas.models.exceptions import InvalidInputError
from lambdas.models.settings import Settings
from lambdas.observability import logger, metrics
from lambdas.orchestration.ports import ClientRecords, JobQueue

MAX_SHARED_ACCOUNTS = 1000
_CLIENT_ID: TypeAdapter[str] = TypeAdapter(ClientId)


def _nameable(client_ids: Iterable[str]) -> list[str]:
    """The ids a job can carry. A record written into the table by hand with an invalid id cannot
    be run: it is skipped with one line (`client list` shows it as invalid), the others still go."""
    valid = []
    for client_id in client_ids:
        try:
            valid.append(_CLIENT_ID.validate_python(client_id))
        except ValidationError as error:
            _, problem = describe_validation_error(error)
            logger.warning("client record skipped", extra={"client_id": client_id, "error": f"client_id: {problem}"})
            metrics.add_metric(name="InvalidClientRecords", unit=MetricUnit.Count, value=1)
    return valid


def shared_groups(records: dict[str, dict[str, object]]) -> dict[str, tuple[str, list[str]]]:
    """client id -> (group key, accounts of the group's other clients), for the Cost Explorer clients.
    Invalid records stay alone: their run fails on its own with the field named. Data Exports clients
    are in no group: each reads its own export."""
    groups: dict[str, list[str]] = defaultdict(list)
    accounts: dict[str, list[str]] = {}
    for client_id, client in _parsed(records):
        if client.cost_source == "data_exports":
            continue
        key = f"{credential_scope(client)}:{client.metric}"
        groups[key].append(client_id)
        accounts[client_id] = list(client.account_ids)
    shared: dict[str, tuple[str, list[str]]] = {}
    for key, members in groups.items():
        for client_id in members:
            others = sorted({a for m in members if m != client_id for a in accounts[m]} - set(accounts[client_id]))
            shared[client_id] = (key, others[:MAX_SHARED_ACCOUNTS])
    return shared


def export_clients(records: dict[str, dict[str, object]]) -> set[str]:
    """The clients whose cost source is data_exports: the export worker's. An invalid record is not
    one of them (its run fails on the jobs queue with the field named)."""
    return {client_id for client_id, client in _parsed(records) if client.cost_source == "data_exports"}


def _parsed(records: dict[str, dict[str, object]]) -> Iterator[tuple[str, Client]]:
    """The records that parse, as clients; an invalid one is left to fail its own run."""
    for client_id, record in records.items():
        try:
            yield client_id, parse_client(record)
        except InvalidInputError:
            continue


def dispatch_due(
    trigger: str, as_of: date, clients: ClientRecords, queue: JobQueue, export_queue: JobQueue | None = None
) -> list[ReportJob]:
    """Queue the runs due on `trigger`: data_exports clients' to `export_queue` (when there is one),
    the others' to `queue`. Returns every job, in the order queued (the jobs queue's first)."""
    if trigger == "month-close" and as_of.day < MONTH_CLOSE_FIRST_DAY:
        return []
    schedule = "monthly" if trigger == "month-close" else trigger
    client_ids = _nameable(clients.due(schedule))
    records = clients.get_records(client_ids) if client_ids else {}
    groups = shared_groups(records)
    on_exports = export_clients(records) if export_queue is not None else set()
    ordered = sorted(client_ids, key=lambda c: (groups[c][0] if c in groups else "", c))
    jobs: list[ReportJob] = []
    export_jobs: list[ReportJob] = []
    for client_id in ordered:
        shared = groups[client_id][1] if client_id in groups else []
        if trigger == "month-close":
            job = ReportJob.final(client_id, as_of, shared_accounts=shared)
        else:
            job = ReportJob.scheduled(client_id, schedule, as_of, shared_accounts=shared)
        (export_jobs if client_id in on_exports else jobs).append(job)
    queue.send(jobs)
    if export_queue is not None and export_jobs:
        export_queue.send(export_jobs)
    return jobs + export_jobs


def dispatch_scheduled(schedule: str, as_of: date, settings: Settings) -> list[ReportJob]:
    """The dispatcher Lambda's job: `dispatch_due` on the environment's clients table, jobs queue and
    export jobs queue (none configured: the jobs queue takes every run)."""
    export_queue = JobsQueue(settings.export_jobs_queue_url) if settings.export_jobs_queue_url else None
    return dispatch_due(
        schedule, as_of, ClientsTable(settings.clients_table), JobsQueue(settings.jobs_queue_url), export_queue
    )
