"""One client run, step by step (DESIGN.md data flow). The handler, the CLI and the demo all
call this; each step is a small function or adapter, this class only wires them.

1. load and validate the client   2. credentials   3. cost data (cost_step.py: Cost Explorer or
the client's Data Export)   4. build the report   5. render   6. archive   7. send (at most once)
8. record
"""

from __future__ import annotations

import json
import resource
import sys
import time
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit

from lambdas.dal.archive import report_prefix
from lambdas.dal.aws import SES_CALL_BUDGET_SECONDS, platform_error
from lambdas.dal.client_secrets import ClientSecrets
from lambdas.logic.cost_data import CostRow
from lambdas.logic.outputs import CONTENT_TYPES, render_outputs
from lambdas.logic.periods import ReportWindow, settled_through, window_for
from lambdas.logic.report import RunFacts, build_report
from lambdas.logic.restatement import covers, restatement
from lambdas.models.client import Client, StoredKeyCredentials, parse_client
from lambdas.models.events import ReportJob
from lambdas.models.exceptions import (
    AccessDeniedError,
    ClientNotFoundError,
    DeliveryInProgressError,
    DeliveryRejectedError,
    OutOfTimeError,
    PermanentError,
    PlatformError,
    UnauthorizedError,
)
from lambdas.models.report import Report
from lambdas.models.ses_events import message_tags
from lambdas.observability import UNAUTHORIZED, audit, logger, metrics
from lambdas.orchestration.cost_reader import CostRead
from lambdas.orchestration.cost_step import CostStep
from lambdas.orchestration.outcome import RunOutcome

if TYPE_CHECKING:
    from lambdas.orchestration.dependencies import Dependencies

# When the Lambda invocation running this thread ends (time.monotonic()); set by the worker handler
# for each invocation, None elsewhere (the CLI). A send is started only if it can end before then.
invocation_deadline: ContextVar[float | None] = ContextVar("invocation_deadline", default=None)


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
            try:
                self.deps.executions.start(
                    job.client_id, job.run_id, as_of=job.as_of.isoformat(), kind=job.kind, now=now
                )
            except Exception as error:
                self._fail(outcome, error)  # counted and logged; the table that would record it is failing
                raise
        try:
            self._run(record, job, now, outcome)
        except PermanentError as error:
            self._fail(outcome, error)
        except Exception as error:
            self._fail(outcome, error)
            self._record(job, outcome, started)
            raise
        try:
            self._record(job, outcome, started)
        except Exception as error:
            if outcome.delivery != "sent":
                raise
            # The report is out: retrying the message could only send it again. The record stays
            # "running" with the message id mark_sent wrote (or nothing): the metric alerts.
            self._unrecorded(outcome, error)
        return outcome

    def _run(self, record: dict[str, Any], job: ReportJob, now: datetime, outcome: RunOutcome) -> None:
        client = parse_client(record)
        secrets = self.deps.client_secrets(client.client_id)
        # A record naming another client's secret (keys or webhook) fails here, before anything is read
        # or sent; IAM would refuse the read as well (the secrets reader's tag condition).
        for name in _secret_names(client):
            secrets.check(name)
        if not client.active and job.kind in ("scheduled", "final"):
            outcome.status = "skipped"
            logger.info("client paused: scheduled run skipped")
            return
        window = window_for(client.schedule, job.as_of, kind=job.kind, settled=settled_through(now))
        sent: dict[str, Any] | None = None
        if job.kind == "final":
            earlier = self._earlier_reports(client, job, window)
            if any(run.endswith(".final") for run, _ in earlier):
                outcome.skip("the final report of this month was already sent")
                return
            sent = next((report for run, report in earlier if not run.endswith(".final")), None)
        read = CostStep(self.deps, dry_run=self.dry_run, requester=self.requester).read(
            client, job, window, now, outcome, secrets
        )
        if read is None:
            return  # the month close found last month not final yet in the source: skipped, the outcome says so
        # The link is signed before rendering (the key is known) and works once the files are archived.
        link_key = report_prefix(client.client_id, job.run_id) + "report.html"
        archive_url = None if self.dry_run else self._link(link_key, client.client_id)
        report = self._report(client, job, window, now, read, outcome, archive_url, sent)
        if not report.complete and not client.send_partial:
            self._incomplete(outcome, report)
            return
        self._deliver(client, job, window, read, report, outcome, secrets)

    def _deliver(
        self,
        client: Client,
        job: ReportJob,
        window: ReportWindow,
        read: CostRead,
        report: Report,
        outcome: RunOutcome,
        secrets: ClientSecrets,
    ) -> None:
        """Steps 5 to 7: render, archive, send (at most once), then the chat summaries."""
        # The CSV: daily cost by service and account, plus credits and refunds when they count.
        rows: list[CostRow] = list(read.data.rows)
        if client.include_credits and not window.trend_months:
            rows += read.data.credit_rows
        recipients = self._deliverable(client, outcome)
        outputs = render_outputs(
            report,
            rows,
            sender=self.deps.mailer.sender,
            recipients=recipients or list(client.recipients),
            attach_xlsx=client.attach_xlsx,
        )
        outcome.report, outcome.files = report, outputs.files
        if self.dry_run:
            outcome.status, outcome.delivery = "succeeded", "dry_run"
            return
        # Archived before anything is sent: no email goes out without its archived copy.
        prefix = report_prefix(client.client_id, job.run_id)
        for name, body in outputs.archived().items():
            self.deps.archive.put(prefix + name, body, CONTENT_TYPES[name])
        if recipients:
            self._send(client, job, outputs.message, recipients, outcome)
        else:
            outcome.delivery = "suppressed"
            logger.warning("every recipient is suppressed: report archived, nothing sent")
        if outcome.delivery == "sent" and client.webhooks and self.deps.webhooks is not None:
            # After the email; deliver() never raises. A retry of an attempt stopped between the send
            # and its record posts again: a chat summary may come twice, it is never lost (the email
            # itself is sent once, by the claim above).
            outcome.channels = self.deps.webhooks.deliver(client, report, secrets)
        outcome.status = "succeeded"

    def _link(self, key: str, client_id: str) -> str:
        """The report's link: signed with the link signer's key (read once per run, so a rotated key
        is used from the next run on) for 7 days, or, with no signer configured or readable, with the
        platform's own credentials for as long as those honour (lambdas/dal/archive.py). The email
        states the link's own X-Amz-Expires, so it tells the truth either way."""
        signer = None
        if self.deps.link_signer_secret:
            try:
                signer = self.deps.credentials.stored_keys(self.deps.link_signer_secret)
            except Exception as error:  # a report with a shorter link beats no report: never fail the run
                self._signer_unavailable(error, client_id)
        return self.deps.archive.presigned_url(key, signer)

    def _signer_unavailable(self, error: Exception, client_id: str) -> None:
        error = platform_error(error) or error
        reason = str(error) if isinstance(error, PlatformError) else type(error).__name__  # names, never values
        metrics.add_metric(name="LinkSignerUnavailable", unit=MetricUnit.Count, value=1)
        if isinstance(error, UnauthorizedError | AccessDeniedError):
            audit(UNAUTHORIZED, f"link signer refused: {reason}", client_id=client_id, requester=self.requester)
        logger.warning(
            "link signer unavailable: the report's link is signed with the platform's credentials, for a shorter time",
            extra={"error": reason},
        )

    def _deliverable(self, client: Client, outcome: RunOutcome) -> list[str]:
        """The client's recipients minus those SES reported bouncing or complaining: they get no
        further mail until an operator clears them."""
        recipients = list(client.recipients)
        if self.deps.suppressions is None:
            return recipients
        suppressed = {s.email.lower() for s in self.deps.suppressions.list(client.client_id)}
        kept = [address for address in recipients if address.lower() not in suppressed]
        outcome.suppressed = len(recipients) - len(kept)
        if outcome.suppressed:
            metrics.add_metric(name="RecipientsSuppressed", unit=MetricUnit.Count, value=outcome.suppressed)
        return kept

    def _incomplete(self, outcome: RunOutcome, report: Report) -> None:
        """The core figures could not all be read: no normal report goes out (nothing archived,
        nothing sent). The cells read are cached, so the next run, scheduled or `report run`,
        goes on from there."""
        outcome.status, outcome.error_kind = "incomplete", "incomplete"
        outcome.missing = list(report.missing)
        outcome.error = "core figures incomplete: " + "; ".join(report.missing)
        outcome.report = report
        metrics.add_metric(name="RunsIncomplete", unit=MetricUnit.Count, value=1)
        logger.warning("report incomplete: not sent", extra={"missing": report.missing})

    def _report(
        self,
        client: Client,
        job: ReportJob,
        window: ReportWindow,
        now: datetime,
        read: CostRead,
        outcome: RunOutcome,
        archive_url: str | None,
        sent: dict[str, Any] | None,
    ) -> Report:
        key_age = None
        if isinstance(client.credentials, StoredKeyCredentials) and client.credentials.rotated_at is not None:
            key_age = max((now - client.credentials.rotated_at).days, 0)
        facts = RunFacts(
            run_id=job.run_id,
            as_of=job.as_of,
            generated_at=now,
            ce_requests=outcome.ce_requests,
            kind=job.kind,
            cache_hits=read.cache_hits,
            notes=tuple(read.notes),
            archive_url=archive_url,
            ce_forecast_remaining=read.forecast_remaining,
            key_age_days=key_age,
            corrections=tuple(read.corrections),
            cost_source=read.cost_source,
            export_format=read.export_format,
            top_resources=tuple(read.top_resources),
            commitments=tuple(read.commitments),
        )
        report = build_report(client, window, read.data, facts)
        if job.kind != "final":
            return report
        if sent is None:
            note = "No estimated report of this month was found in the archive to compare the final figures with."
            return report.model_copy(update={"notes": [*report.notes, note]})
        try:
            change = restatement(sent, report.total, report.by_service)
        except ValueError as error:
            return report.model_copy(
                update={"notes": [*report.notes, f"The earlier report could not be read: {error}."]}
            )
        return report.model_copy(update={"restatement": change})

    def _earlier_reports(
        self, client: Client, job: ReportJob, window: ReportWindow
    ) -> list[tuple[str, dict[str, Any]]]:
        """Archived reports of this client's runs this month that covered `window.current`, newest
        first: the month-close run looks there for the estimated report it corrects."""
        month = report_prefix(client.client_id, job.as_of.strftime("%Y-%m"))[:-1]
        runs = sorted(
            {key.split("/")[2] for key in self.deps.archive.list(month) if key.endswith("/report.json")},
            reverse=True,
        )
        found = []
        for run in runs:
            if run == job.run_id:
                continue
            report = json.loads(self.deps.archive.get(report_prefix(client.client_id, run) + "report.json"))
            if covers(report, window.current):
                found.append((run, report))
        return found

    def _send(self, client: Client, job: ReportJob, eml: bytes, recipients: list[str], outcome: RunOutcome) -> None:
        deadline = invocation_deadline.get()
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left < SES_CALL_BUDGET_SECONDS:
            # Lambda would stop this attempt in the middle of the send: stop before claiming it instead.
            raise OutOfTimeError(f"{left:.0f} s of the invocation left, a send may take {SES_CALL_BUDGET_SECONDS} s")
        now = self.deps.clock()
        # The claim holds while this attempt can be alive: to the invocation's end (Lambda stops it
        # there), or for as long as a send can take when no deadline is known.
        lease_until = now + timedelta(seconds=left if left is not None else SES_CALL_BUDGET_SECONDS)
        claim = self.deps.executions.claim_delivery(client.client_id, job.run_id, now, lease_until)
        if claim.message_id:
            outcome.delivery, outcome.message_id, outcome.recipients = "sent", claim.message_id, claim.recipients
            logger.info("an earlier attempt of this run sent the report: not sending again")
            return
        if not claim.granted:
            raise DeliveryInProgressError("another attempt of this run holds the delivery")
        try:
            message_id = self.deps.mailer.send_raw(eml, recipients, tags=message_tags(client.client_id, job.run_id))
        except Exception:
            # SES answered with an error (or never answered, after botocore's retries): not accepted.
            self.deps.executions.release_delivery(client.client_id, job.run_id)
            raise
        outcome.delivery, outcome.message_id, outcome.recipients = "sent", message_id, len(recipients)
        metrics.add_metric(name="ReportsSent", unit=MetricUnit.Count, value=1)
        try:
            self.deps.executions.mark_sent(client.client_id, job.run_id, message_id, len(recipients))
        except Exception as error:  # SES has the message: a failure here must not make the run retry
            self._unrecorded(outcome, error)

    def _unrecorded(self, outcome: RunOutcome, error: Exception) -> None:
        kind = platform_error(error) or error
        metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=1)
        logger.error(
            "report sent, execution record not written",
            extra={
                "message_id": outcome.message_id,
                "error": str(kind) if isinstance(kind, PlatformError) else repr(kind),
            },
        )

    def _fail(self, outcome: RunOutcome, error: Exception) -> None:
        error = platform_error(error) or error  # an AWS error an adapter let through, by its kind
        outcome.status = "failed"
        outcome.error_kind = error.kind if isinstance(error, PlatformError) else "unexpected"
        outcome.error = str(error) if isinstance(error, PlatformError) else type(error).__name__
        metrics.add_metric(name="RunsFailed", unit=MetricUnit.Count, value=1)
        if isinstance(error, UnauthorizedError | AccessDeniedError):
            metrics.add_metric(name="Unauthorized", unit=MetricUnit.Count, value=1)
            audit(
                UNAUTHORIZED,
                str(error),
                client_id=outcome.client_id,
                requester=self.requester,
                error_kind=outcome.error_kind,
            )
        if isinstance(error, DeliveryRejectedError):
            metrics.add_metric(name="DeliveryRejected", unit=MetricUnit.Count, value=1)
        logger.error("run failed", extra={"error_kind": outcome.error_kind, "error": outcome.error})

    def _record(self, job: ReportJob, outcome: RunOutcome, started: float) -> None:
        metrics.add_metric(name="CostExplorerRequests", unit=MetricUnit.Count, value=outcome.ce_requests)
        if self.dry_run:
            return
        duration_ms = int((time.monotonic() - started) * 1000)
        self.deps.executions.finish(
            job.client_id, job.run_id, outcome.execution_fields(self.deps.clock(), duration_ms, _peak_memory_mb())
        )


def _secret_names(client: Client) -> list[str]:
    keys = [client.credentials.secret_name] if isinstance(client.credentials, StoredKeyCredentials) else []
    return keys + [webhook.secret_name for webhook in client.webhooks]


def _peak_memory_mb() -> int:
    """Peak resident memory of this process so far: in Lambda, close to the REPORT line's Max
    Memory Used (`ops capacity` compares it with the function's memory)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak / 1024**2) if sys.platform == "darwin" else int(peak / 1024)  # bytes on macOS, KiB on Linux
