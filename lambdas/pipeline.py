"""One client run, step by step (DESIGN.md data flow). The handler, the CLI and the demo all
call this; each step is a small function or adapter, this class only wires them.

1. load and validate the client   2. credentials   3. Cost Explorer   4. build the report
5. render                          6. archive        7. send (at most once)   8. record
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.dal.archive import ReportArchive, report_prefix
from lambdas.dal.aws import AwsCredentials, client_with
from lambdas.dal.clients_table import ClientsTable
from lambdas.dal.cost_explorer import PRICE_PER_REQUEST_USD, CostExplorer
from lambdas.dal.credentials import CredentialProvider
from lambdas.dal.executions_table import ExecutionsTable
from lambdas.dal.mailer import Mailer
from lambdas.logic.cost_data import parse_daily_by_service_and_account
from lambdas.logic.outputs import CONTENT_TYPES, ReportOutputs, render_outputs
from lambdas.logic.periods import month_to_date
from lambdas.logic.queries import daily_by_service_and_account
from lambdas.logic.report import build_report
from lambdas.models.client import Client, parse_client
from lambdas.models.events import ReportJob
from lambdas.models.exceptions import ClientNotFoundError, PermanentError, PlatformError, UnauthorizedError
from lambdas.models.report import Report
from lambdas.models.settings import Settings
from lambdas.observability import ACCESS, UNAUTHORIZED, logger, metrics


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Dependencies:
    clients: ClientsTable
    executions: ExecutionsTable
    credentials: CredentialProvider
    archive: ReportArchive
    mailer: Mailer
    cost_explorer: Callable[[AwsCredentials], CostExplorer] = field(
        default=lambda credentials: CostExplorer(client_with("ce", credentials))
    )
    clock: Callable[[], datetime] = _utcnow


@dataclass
class RunOutcome:
    client_id: str
    run_id: str
    status: str  # succeeded | failed | skipped
    delivery: str | None = None
    message_id: str | None = None
    recipients: int = 0
    ce_requests: int = 0
    error_kind: str | None = None
    error: str | None = None
    report: Report | None = None
    files: dict[str, bytes] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """What the idempotency store keeps and the handler returns: small and JSON-safe."""
        return {
            "client_id": self.client_id,
            "run_id": self.run_id,
            "status": self.status,
            "delivery": self.delivery,
            "message_id": self.message_id,
            "ce_requests": self.ce_requests,
            "error_kind": self.error_kind,
            "error": self.error,
        }


class ReportRun:
    """Runs one job. Permanent failures are recorded and returned (the queue must not retry
    them); transient ones are recorded and raised (the queue retries)."""

    def __init__(self, deps: Dependencies, *, dry_run: bool = False, requester: str = "worker") -> None:
        self.deps = deps
        self.dry_run = dry_run
        self.requester = requester

    def run(self, job: ReportJob) -> RunOutcome:
        started = time.monotonic()
        now = self.deps.clock()
        logger.append_keys(client_id=job.client_id, run_id=job.run_id)
        outcome = RunOutcome(client_id=job.client_id, run_id=job.run_id, status="failed")
        try:
            record = self.deps.clients.get_record(job.client_id)
        except ClientNotFoundError as error:
            self._fail(outcome, error)  # no such client: nothing to record against
            return outcome
        if not self.dry_run:
            self.deps.executions.start(job.client_id, job.run_id, as_of=job.as_of.isoformat(), kind=job.kind, now=now)
        try:
            self._run(record, job, now, outcome)
        except PermanentError as error:
            self._fail(outcome, error)
        except Exception as error:
            self._fail(outcome, error)
            self._record(job, outcome, started)
            raise
        self._record(job, outcome, started)
        return outcome

    def _run(self, record: dict[str, Any], job: ReportJob, now: datetime, outcome: RunOutcome) -> None:
        client = parse_client(record)
        if not client.active and job.kind == "scheduled":
            outcome.status = "skipped"
            logger.info("client paused: scheduled run skipped")
            return
        report, outputs = self._build(client, job, now, outcome)
        outcome.report, outcome.files = report, outputs.files
        if self.dry_run:
            outcome.status, outcome.delivery = "succeeded", "dry_run"
            return
        prefix = report_prefix(client.client_id, job.run_id)
        for name, body in outputs.archived().items():
            self.deps.archive.put(prefix + name, body, CONTENT_TYPES[name])
        self._send(client, job, outputs.message, outcome)
        outcome.status = "succeeded"

    def _build(
        self, client: Client, job: ReportJob, now: datetime, outcome: RunOutcome
    ) -> tuple[Report, ReportOutputs]:
        try:
            credentials = self.deps.credentials.for_client(client)
        except UnauthorizedError:
            logger.warning(f"{UNAUTHORIZED} credentials refused", extra={"requester": self.requester})
            raise
        explorer = self.deps.cost_explorer(credentials)
        window = month_to_date(job.as_of)
        logger.info(f"{ACCESS} cost data read", extra={"requester": self.requester, "accounts": client.account_ids})
        try:
            pages = explorer.get_cost_and_usage(
                daily_by_service_and_account(
                    window.query_start, window.query_end_exclusive, client.account_ids, client.metric
                )
            )
        except UnauthorizedError:
            logger.warning(f"{UNAUTHORIZED} Cost Explorer refused", extra={"requester": self.requester})
            raise
        finally:
            outcome.ce_requests = explorer.requests
        data = parse_daily_by_service_and_account(pages, client.metric, set(client.account_ids))
        report = build_report(
            client,
            window,
            data,
            run_id=job.run_id,
            as_of=job.as_of,
            generated_at=now,
            ce_requests=explorer.requests,
        )
        outputs = render_outputs(
            report,
            data.rows,
            sender=self.deps.mailer.sender,
            recipients=list(client.recipients),
            attach_xlsx=client.attach_xlsx,
        )
        return report, outputs

    def _send(self, client: Client, job: ReportJob, eml: bytes, outcome: RunOutcome) -> None:
        if not self.deps.executions.claim_delivery(client.client_id, job.run_id, self.deps.clock()):
            # An earlier attempt of this run already handed the message to SES (or died doing so).
            outcome.delivery = "already_claimed"
            logger.info("delivery already claimed for this run: not sending again")
            return
        try:
            outcome.message_id = self.deps.mailer.send_raw(eml, list(client.recipients))
        except Exception:
            self.deps.executions.release_delivery(client.client_id, job.run_id)
            raise
        outcome.delivery = "sent"
        outcome.recipients = len(client.recipients)
        metrics.add_metric(name="ReportsSent", unit=MetricUnit.Count, value=1)

    def _fail(self, outcome: RunOutcome, error: Exception) -> None:
        outcome.status = "failed"
        outcome.error_kind = error.kind if isinstance(error, PlatformError) else "unexpected"
        outcome.error = str(error) if isinstance(error, PlatformError) else type(error).__name__
        metrics.add_metric(name="RunsFailed", unit=MetricUnit.Count, value=1)
        if isinstance(error, UnauthorizedError):
            metrics.add_metric(name="Unauthorized", unit=MetricUnit.Count, value=1)
        logger.error("run failed", extra={"error_kind": outcome.error_kind, "error": outcome.error})

    def _record(self, job: ReportJob, outcome: RunOutcome, started: float) -> None:
        metrics.add_metric(name="CostExplorerRequests", unit=MetricUnit.Count, value=outcome.ce_requests)
        if self.dry_run:
            return
        report = outcome.report
        self.deps.executions.finish(
            job.client_id,
            job.run_id,
            {
                "status": outcome.status,
                "finished_at": self.deps.clock().isoformat(),
                "duration_ms": int((time.monotonic() - started) * 1000),
                "ce_requests": outcome.ce_requests,
                "ce_cost_usd": Decimal(PRICE_PER_REQUEST_USD) * outcome.ce_requests,
                "delivery": outcome.delivery,
                "message_id": outcome.message_id,
                "error_kind": outcome.error_kind,
                "error": outcome.error,
                "archive_prefix": report_prefix(job.client_id, job.run_id) if report else None,
                "total": report.total if report else None,
                "currency": report.currency if report else None,
                "period_start": report.period.start.isoformat() if report else None,
                "period_end": report.period.end.isoformat() if report else None,
                "recipients": outcome.recipients,
            },
        )


def dependencies_from(settings: Settings) -> Dependencies:
    """The adapters of the real pipeline, named by the settings (Lambda env or CLI config)."""
    return Dependencies(
        clients=ClientsTable(settings.clients_table),
        executions=ExecutionsTable(settings.executions_table, ttl_days=settings.execution_ttl_days),
        credentials=CredentialProvider(),
        archive=ReportArchive(settings.assets_bucket),
        mailer=Mailer(settings.sender_email, settings.configuration_set),
    )
