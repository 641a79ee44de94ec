"""What a run needs from the outside world, as Protocols: the adapters of lambdas/dal satisfy
them, and a test or a tool may hand in anything else that does (an in-memory fake). Only the
methods and attributes the orchestration calls are named here."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from lambdas.dal.aws import AwsCredentials
    from lambdas.dal.client_secrets import ClientSecrets
    from lambdas.dal.cost_explorer import Answer
    from lambdas.dal.executions_table import DeliveryClaim
    from lambdas.logic.needs import Cell, CellKey, Density, Need
    from lambdas.models.client import Client
    from lambdas.models.events import ReportJob
    from lambdas.models.report import Report
    from lambdas.models.ses_events import Suppression


class ClientRecords(Protocol):
    """The clients table, as the worker and the dispatcher read it."""

    def get_record(self, client_id: str) -> dict[str, Any]: ...

    def due(self, schedule: str) -> Iterator[str]: ...

    def get_records(self, client_ids: list[str]) -> dict[str, dict[str, Any]]: ...


class RunRecords(Protocol):
    """The executions table: one record per run, and the at-most-once delivery claim."""

    def start(self, client_id: str, run_id: str, *, as_of: str, kind: str, now: datetime) -> None: ...

    def finish(self, client_id: str, run_id: str, fields: dict[str, Any]) -> None: ...

    def claim_delivery(self, client_id: str, run_id: str, now: datetime, lease_until: datetime) -> DeliveryClaim: ...

    def mark_sent(self, client_id: str, run_id: str, message_id: str, recipients: int) -> None: ...

    def release_delivery(self, client_id: str, run_id: str) -> None: ...


class CredentialSource(Protocol):
    def for_client(self, client: Client, secrets: ClientSecrets | None = None) -> AwsCredentials: ...

    def stored_keys(self, secret_name: str) -> AwsCredentials: ...


class Archive(Protocol):
    """Where a run's files are kept (S3), and the signed link to them."""

    bucket: str

    def put(self, key: str, body: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes: ...

    def list(self, prefix: str) -> list[str]: ...

    def presigned_url(self, key: str, signer: AwsCredentials | None = None, expires_in: int | None = None) -> str: ...


class Sender(Protocol):
    """Sends one raw MIME message (SES) and answers its message id."""

    sender: str

    def send_raw(self, message: bytes, recipients: list[str], *, tags: dict[str, str] | None = None) -> str: ...


class CostSource(Protocol):
    """Cost Explorer, every request counted against the run's budget."""

    requests: int
    max_requests: int | None

    @property
    def remaining(self) -> int | None: ...

    def fetch(self, request: dict[str, Any]) -> Answer: ...

    def get_cost_forecast(self, request: dict[str, Any]) -> Decimal | None: ...


class ExportQueries(Protocol):
    """Athena in the platform's workgroup (lambdas/dal/athena.py): where a Data Export too large for
    one function is read."""

    scanned_bytes: int
    queries: list[str]

    def query(self, sql: str) -> Any: ...


class CellCache(Protocol):
    """The cost cache: the cells earlier runs read, and what answers taught about their size."""

    read_only: bool
    density: Density

    @property
    def account_names(self) -> dict[str, str]: ...

    def load(self, scope: str, metric: str, needs: list[Need], accounts: Iterable[str]) -> dict[CellKey, Cell]: ...

    def save(self, cells: dict[CellKey, Cell], account_names: dict[str, str], now: datetime) -> int: ...


class SuppressionList(Protocol):
    def list(self, client_id: str) -> list[Suppression]: ...


class ChatChannels(Protocol):
    def deliver(self, client: Client, report: Report, secrets: ClientSecrets | None = None) -> list[dict[str, Any]]: ...


class JobQueue(Protocol):
    def send(self, jobs: Iterable[ReportJob]) -> int: ...
