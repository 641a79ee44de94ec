"""The dispatcher's routing: data_exports clients' runs go to the export jobs queue (the export
worker, DuckDB in its own layer), the others' to the jobs queue; without an export queue, every run
goes to the jobs queue. A fake per port, as the orchestration's Protocols allow."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

import pytest

from lambdas.models.events import ReportJob
from lambdas.models.settings import Settings
from lambdas.orchestration import dispatch
from lambdas.orchestration.dispatch import dispatch_due, dispatch_scheduled
from tests.unit.factories import client_record

AS_OF = date(2026, 11, 27)
PAYER_ROLE = {
    "type": "role",
    "role_arn": "arn:aws:iam::999999999999:role/CostReportingReadOnly",
    "external_id": "payer-external-id",
}
EXPORT = {"bucket": "payer-billing", "prefix": "exports", "export_name": "payer-focus", "format": "focus_1_2"}


class FakeClients:
    def __init__(self, *records: dict[str, Any]) -> None:
        self.records = {record["client_id"]: record for record in records}

    def due(self, schedule: str) -> Iterator[str]:
        return iter(sorted(c for c, r in self.records.items() if r.get("schedule") == schedule))

    def get_records(self, client_ids: list[str]) -> dict[str, dict[str, Any]]:
        return {client_id: self.records[client_id] for client_id in client_ids}

    def get_record(self, client_id: str) -> dict[str, Any]:
        return self.records[client_id]


class FakeQueue:
    def __init__(self) -> None:
        self.sent: list[list[ReportJob]] = []

    def send(self, jobs: Iterable[ReportJob]) -> int:
        batch = list(jobs)
        self.sent.append(batch)
        return len(batch)

    @property
    def jobs(self) -> list[ReportJob]:
        return [job for batch in self.sent for job in batch]


def on_payer(client_id: str, accounts: list[str], **overrides: Any) -> dict[str, Any]:
    return client_record(client_id=client_id, account_ids=accounts, credentials=PAYER_ROLE, **overrides)


def on_exports(client_id: str, accounts: list[str], **overrides: Any) -> dict[str, Any]:
    return on_payer(client_id, accounts, cost_source="data_exports", data_export=EXPORT, **overrides)


@pytest.fixture
def clients() -> FakeClients:
    return FakeClients(
        on_payer("alpha", ["111111111111"]),
        on_payer("beta", ["222222222222"]),
        on_exports("gamma", ["333333333333"]),
        on_exports("delta", ["444444444444"]),
        client_record(client_id="weekly-one", schedule="weekly"),
    )


def test_data_exports_clients_go_to_the_export_queue_and_the_others_to_the_jobs_queue(clients):
    jobs_queue, export_queue = FakeQueue(), FakeQueue()

    jobs = dispatch_due("daily", AS_OF, clients, jobs_queue, export_queue)

    assert [job.client_id for job in jobs_queue.jobs] == ["alpha", "beta"]
    assert [job.client_id for job in export_queue.jobs] == ["delta", "gamma"]
    assert [job.client_id for job in jobs] == ["alpha", "beta", "delta", "gamma"]
    assert {job.run_id for job in jobs} == {"2026-11-27.daily"}


def test_export_clients_share_no_cost_explorer_query_with_the_clients_of_their_payer(clients):
    jobs_queue, export_queue = FakeQueue(), FakeQueue()

    dispatch_due("daily", AS_OF, clients, jobs_queue, export_queue)

    shared = {job.client_id: job.shared_accounts for job in [*jobs_queue.jobs, *export_queue.jobs]}
    # alpha and beta share the payer's role: each names the other's account, never an export client's.
    assert shared == {"alpha": ["222222222222"], "beta": ["111111111111"], "gamma": [], "delta": []}


def test_without_an_export_queue_every_run_goes_to_the_jobs_queue(clients):
    jobs_queue = FakeQueue()

    jobs = dispatch_due("daily", AS_OF, clients, jobs_queue)

    assert sorted(job.client_id for job in jobs_queue.jobs) == ["alpha", "beta", "delta", "gamma"]
    assert len(jobs) == 4


def test_month_close_routes_the_final_runs_the_same_way():
    clients = FakeClients(
        on_payer("alpha", ["111111111111"], schedule="monthly"),
        on_exports("gamma", ["333333333333"], schedule="monthly"),
    )
    jobs_queue, export_queue = FakeQueue(), FakeQueue()

    assert dispatch_due("month-close", date(2026, 11, 3), clients, jobs_queue, export_queue) == []
    dispatch_due("month-close", date(2026, 11, 5), clients, jobs_queue, export_queue)

    assert [(j.client_id, j.kind, j.run_id) for j in jobs_queue.jobs] == [("alpha", "final", "2026-11-05.final")]
    assert [(j.client_id, j.kind, j.run_id) for j in export_queue.jobs] == [("gamma", "final", "2026-11-05.final")]


def test_an_invalid_record_goes_to_the_jobs_queue_where_its_run_fails_naming_the_field():
    broken = dict(on_exports("broken", ["555555555555"]), data_export=None)  # data_exports without its export
    clients = FakeClients(broken, on_exports("gamma", ["333333333333"]))
    jobs_queue, export_queue = FakeQueue(), FakeQueue()

    dispatch_due("daily", AS_OF, clients, jobs_queue, export_queue)

    assert [job.client_id for job in jobs_queue.jobs] == ["broken"]
    assert [job.client_id for job in export_queue.jobs] == ["gamma"]


def test_no_export_client_due_sends_nothing_to_the_export_queue():
    jobs_queue, export_queue = FakeQueue(), FakeQueue()

    dispatch_due("daily", AS_OF, FakeClients(on_payer("alpha", ["111111111111"])), jobs_queue, export_queue)

    assert [job.client_id for job in jobs_queue.jobs] == ["alpha"] and export_queue.sent == []


def settings(**overrides: str) -> Settings:
    fields = {
        "CLIENTS_TABLE": "clients",
        "EXECUTIONS_TABLE": "executions",
        "IDEMPOTENCY_TABLE": "idempotency",
        "ASSETS_BUCKET": "assets",
        "SENDER_EMAIL": "reports@example.com",
        "JOBS_QUEUE_URL": "https://sqs.local/jobs",
    }
    return Settings.model_validate({**fields, **overrides})


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({"EXPORT_JOBS_QUEUE_URL": "https://sqs.local/export-jobs"}, "https://sqs.local/export-jobs"),
        ({}, None),  # not configured: the jobs queue takes every run
    ],
)
def test_the_dispatcher_lambda_reads_the_export_queue_from_its_settings(monkeypatch, clients, environment, expected):
    seen: dict[str, Any] = {}

    def fake_dispatch_due(trigger, as_of, clients_port, queue, export_queue=None):
        seen.update(queue=queue.queue_url, export_queue=export_queue and export_queue.queue_url)
        return []

    monkeypatch.setattr(dispatch, "dispatch_due", fake_dispatch_due)

    dispatch_scheduled("daily", AS_OF, settings(**environment))

    assert seen == {"queue": "https://sqs.local/jobs", "export_queue": expected}
