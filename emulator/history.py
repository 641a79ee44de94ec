"""Past days of the platform's life, for the local environment and the tests.

For each day, the schedules that fire that day (lambdas/logic/calendar.py, as the stack's
EventBridge schedules: daily; weekly on Mondays; monthly on the 1st; month-close from the 5th to
the 10th) go through the dispatcher's own logic (`dispatch_due`), and each
queued job through the worker's pipeline (`ReportRun`) with the clock at that day's 06:00 UTC
plus the time really spent, in batches of 10 as the SQS event source delivers them. What a
deployed function leaves behind is published the way Lambda would:

- the worker's structured log lines (ACCESS, UNAUTHORIZED, ...) in its log group
  `/aws/lambda/<worker>` (CloudWatch Logs keeps only events up to 14 days old: older days
  have none, as in AWS);
- its EMF metrics (namespace CostReporting, `service` the environment's service name);
- the AWS/Lambda metrics of every invocation: Invocations, Duration, Errors, Throttles (zero, as
  Lambda reports them), ConcurrentExecutions;
- the REPORT line Lambda writes after every invocation (duration, billed duration, memory size,
  max memory used), in the function's log group.

A run that fails transiently (throttling) is retried once, as the queue would redeliver it.

Clients registered after the first seeded day are re-dated to it (a history older than its
client would contradict itself).

`incidents=True` adds three things that happen to real platforms, each through the real code
path: a day on which one client's record is broken by a hand edit (its budget written as text:
the run fails as invalid input, then the record is restored), a day on which one client's
credentials are refused (its record points at a secret that does not exist, then is restored),
and a permanent bounce of one recipient reported by SES (an SNS notification through the
feedback handler). (Throttling is left out: botocore's adaptive retries would back off for a
minute per run, exactly as in AWS.)
"""

from __future__ import annotations

import contextlib
import io
import json
import resource
import sys
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from emulator.admin import admin
from emulator.lambda_runtime import LocalContext
from infrastructure.config import METRICS_NAMESPACE, WORKER_BATCH, EnvironmentConfig
from lambdas.dal.aws import platform_client
from lambdas.dal.clients_table import ClientsTable
from lambdas.logic.calendar import FIRE_HOUR_UTC, triggers_on
from lambdas.models.client import parse_client
from lambdas.models.events import ReportJob
from lambdas.models.exceptions import PlatformError
from lambdas.models.settings import Settings
from lambdas.orchestration.dependencies import dependencies_from
from lambdas.orchestration.dispatch import dispatch_due
from lambdas.orchestration.run import ReportRun

FIRE_HOUR = FIRE_HOUR_UTC  # the name cli/ops.py imports


class _Collected:
    """Stands in for the jobs queue: keeps what the dispatcher sends, in order."""

    def __init__(self) -> None:
        self.jobs: list[ReportJob] = []

    def send(self, jobs: Sequence[ReportJob]) -> int:
        self.jobs.extend(jobs)
        return len(jobs)


@dataclass
class SeedResult:
    days: int = 0
    runs: int = 0
    failed: int = 0
    invocations: int = 0
    log_events: int = 0
    incidents: tuple[str, ...] = ()


@contextlib.contextmanager
def _captured() -> Iterator[tuple[io.StringIO, io.StringIO]]:
    """The handlers' JSON log lines and EMF blobs of one invocation, as Lambda would collect them."""
    from lambdas.observability import logger, logs_to, metrics

    logs, emf = io.StringIO(), io.StringIO()
    level = logger.log_level
    logger.setLevel("INFO")
    try:
        with logs_to(logs), contextlib.redirect_stdout(emf), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "no application metrics to publish" is no news here
            yield logs, emf
            metrics.flush_metrics()
    finally:
        metrics.clear_metrics()
        logger.setLevel(level)


class _CloudWatch:
    """Publishes one invocation's logs and metrics with the simulated time."""

    def __init__(self, config: EnvironmentConfig) -> None:
        self.config = config
        self.logs = platform_client("logs")
        self.cloudwatch = platform_client("cloudwatch")
        self.groups: set[str] = set()
        self.accepted = 0

    def log_group(self, function: str) -> str:
        group = f"/aws/lambda/{function}"
        if group not in self.groups:
            with contextlib.suppress(Exception):
                self.logs.create_log_group(logGroupName=group)
            self.groups.add(group)
        return group

    def invocation(self, function: str, started: datetime, duration_ms: int, logs: str, emf: str) -> None:
        self._lambda_metrics(function, started, duration_ms)
        self._emf(emf, started)
        self._logs(function, started, logs + report_line(function, duration_ms))

    def _lambda_metrics(self, function: str, at: datetime, duration_ms: int) -> None:
        dimensions = [{"Name": "FunctionName", "Value": function}]
        self.cloudwatch.put_metric_data(
            Namespace="AWS/Lambda",
            MetricData=[
                {"MetricName": "Invocations", "Dimensions": dimensions, "Timestamp": at, "Value": 1, "Unit": "Count"},
                {
                    "MetricName": "Duration",
                    "Dimensions": dimensions,
                    "Timestamp": at,
                    "Value": duration_ms,
                    "Unit": "Milliseconds",
                },
                {"MetricName": "Errors", "Dimensions": dimensions, "Timestamp": at, "Value": 0, "Unit": "Count"},
                {"MetricName": "Throttles", "Dimensions": dimensions, "Timestamp": at, "Value": 0, "Unit": "Count"},
                {
                    "MetricName": "ConcurrentExecutions",
                    "Dimensions": dimensions,
                    "Timestamp": at,
                    "Value": 1,
                    "Unit": "Count",
                },
            ],
        )

    def _emf(self, emf: str, at: datetime) -> None:
        for line in emf.splitlines():
            try:
                blob = json.loads(line)
                directives = blob["_aws"]["CloudWatchMetrics"]
            except (ValueError, KeyError, TypeError):
                continue
            data = []
            for directive in directives:
                # The stack sets POWERTOOLS_SERVICE_NAME to the environment's service name.
                dimensions = [{"Name": "service", "Value": self.config.service_name}]
                for metric in directive.get("Metrics", []):
                    values = blob.get(metric["Name"], [])
                    for value in values if isinstance(values, list) else [values]:
                        data.append(
                            {
                                "MetricName": metric["Name"],
                                "Dimensions": dimensions,
                                "Timestamp": at,
                                "Value": float(value),
                                "Unit": metric.get("Unit", "None"),
                            }
                        )
            for start in range(0, len(data), 20):
                self.cloudwatch.put_metric_data(Namespace=METRICS_NAMESPACE, MetricData=data[start : start + 20])

    def _logs(self, function: str, at: datetime, logs: str) -> None:
        events = []
        for offset, line in enumerate(line for line in logs.splitlines() if line.strip()):
            stamp = at + timedelta(milliseconds=offset)
            try:
                record = json.loads(line)
                record["timestamp"] = stamp.strftime("%Y-%m-%d %H:%M:%S,%f")[:-3] + "+0000"
                line = json.dumps(record, separators=(",", ":"))
            except ValueError:
                pass
            events.append({"timestamp": int(stamp.timestamp() * 1000), "message": line})
        if not events:
            return
        group = self.log_group(function)
        stream = f"{at:%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"
        self.logs.create_log_stream(logGroupName=group, logStreamName=stream)
        answer = self.logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)
        rejected = answer.get("rejectedLogEventsInfo") or {}
        too_old = rejected.get("tooOldLogEventEndIndex")
        self.accepted += len(events) - (too_old + 1 if too_old is not None else 0)


def report_line(function: str, duration_ms: int) -> str:
    """The line Lambda writes after each invocation (what `filter-log-events --filter-pattern
    REPORT` and `optimize lambda-memory` read): duration, billed duration (whole milliseconds),
    the function's memory and the peak memory used (this process's, as the run records have it)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    used = int(peak / 1024**2) if sys.platform == "darwin" else int(peak / 1024)  # bytes on macOS, KiB on Linux
    memory = LocalContext(function).memory_limit_in_mb
    return (
        f"\nREPORT RequestId: {uuid.uuid4()}\tDuration: {duration_ms:.2f} ms\tBilled Duration: {max(duration_ms, 1)} ms"
        f"\tMemory Size: {memory} MB\tMax Memory Used: {used} MB\t\n"
    )


def _backdate_registrations(clients: ClientsTable, first: datetime) -> None:
    """A client registered after the first seeded day gets that day as its registration: a
    history older than the client would contradict itself (coverage, growth)."""
    for record in list(clients.records()):
        client = parse_client(record)
        if client.created_at is None or client.created_at > first:
            clients.put(client.model_copy(update={"created_at": first}))


def _hand_edit(table: str, client_id: str) -> None:
    """What a console edit can do and `client update` never would: a budget that is not a number."""
    platform_client("dynamodb").update_item(
        TableName=table,
        Key={"client_id": {"S": client_id}},
        UpdateExpression="SET budget = :text",
        ExpressionAttributeValues={":text": {"S": "twelve thousand"}},
    )


def _bounce_event(client_id: str, run_id: str, message_id: str, recipient: str, at: datetime) -> dict[str, Any]:
    from lambdas.models.ses_events import message_tags

    ses_event = {
        "eventType": "Bounce",
        "mail": {
            "messageId": message_id,
            "timestamp": at.isoformat(),
            "tags": {name: [value] for name, value in message_tags(client_id, run_id).items()},
        },
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": recipient, "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1"}],
            "timestamp": (at + timedelta(minutes=1)).isoformat(),
        },
    }
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:cost-reporting-ses-feedback:local",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": str(uuid.uuid4()),
                    "TopicArn": "arn:aws:sns:us-east-1:123456789012:cost-reporting-ses-feedback",
                    "Subject": None,
                    "Message": json.dumps(ses_event),
                    "Timestamp": at.isoformat().replace("+00:00", "Z"),
                    "SignatureVersion": "1",
                    "Signature": "",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/cert.pem",
                    "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/unsubscribe",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def seed_history(
    config: EnvironmentConfig,
    settings: Settings,
    days: Sequence[date],
    *,
    incidents: bool = False,
    on_day: Callable[[date, int], None] | None = None,
) -> SeedResult:
    """Run the schedules of each of `days` (oldest first) as the deployed platform would have."""
    deps = dependencies_from(settings)
    with _sends_dated(deps):
        return _seed(config, settings, deps, sorted(days), incidents, on_day)


@contextlib.contextmanager
def _sends_dated(deps: Any) -> Iterator[None]:
    """Each report sent through SES carries its simulated time (`x-emulator-time`): the embedded
    AWS counts it on its own day (quota, statistics: emulator/ses_account.py), not all at once."""
    events = deps.mailer.client.meta.events

    def stamp(request: Any, **_: Any) -> None:
        request.headers["x-emulator-time"] = deps.clock().isoformat()

    events.register("before-sign.sesv2.SendEmail", stamp)
    try:
        yield
    finally:
        events.unregister("before-sign.sesv2.SendEmail", stamp)


def _seed(
    config: EnvironmentConfig,
    settings: Settings,
    deps: Any,
    days: list[date],
    incidents: bool,
    on_day: Callable[[date, int], None] | None,
) -> SeedResult:
    result = SeedResult()
    clients = ClientsTable(settings.clients_table)
    cloudwatch = _CloudWatch(config)
    _backdate_registrations(clients, datetime(days[0].year, days[0].month, days[0].day, tzinfo=UTC))
    broken_day = days[-3] if incidents and len(days) >= 3 else None
    refused_day = days[-2] if incidents and len(days) >= 2 else None
    bounce_day = days[-4] if incidents and len(days) >= 4 else None
    happened: list[str] = []
    for day in days:
        fire = datetime(day.year, day.month, day.day, FIRE_HOUR, tzinfo=UTC)
        elapsed = 0.0
        restore: dict[str, Any] | None = None
        try:
            for trigger in triggers_on(day):
                queue = _Collected()
                started = time.monotonic()
                with _captured() as (logs, emf):
                    dispatch_due(trigger, day, clients, queue)  # type: ignore[arg-type]
                took = int((time.monotonic() - started) * 1000)
                cloudwatch.invocation(
                    config.dispatcher_function, fire + timedelta(seconds=elapsed), took, logs.getvalue(), emf.getvalue()
                )
                elapsed += took / 1000
                result.invocations += 1
                if day in (refused_day, broken_day) and queue.jobs and restore is None:
                    victim = queue.jobs[0].client_id if day == refused_day else queue.jobs[-1].client_id
                    restore = clients.get_record(victim)
                    if day == refused_day:
                        revoked = {"type": "stored_keys", "secret_name": f"{config.secrets_prefix}{victim}/revoked"}
                        clients.put(parse_client(dict(restore, credentials=revoked)))
                        happened.append(f"{day}: credentials of {victim} refused")
                    else:
                        _hand_edit(settings.clients_table, victim)
                        happened.append(f"{day}: record of {victim} broken by a hand edit")
                retry: list[ReportJob] = []
                for start in range(0, len(queue.jobs), WORKER_BATCH):
                    batch = queue.jobs[start : start + WORKER_BATCH]
                    elapsed, failed = _invoke(deps, config, cloudwatch, batch, fire, elapsed, result)
                    retry.extend(failed)
                if retry:  # the queue redelivers after the visibility timeout
                    elapsed, _ = _invoke(deps, config, cloudwatch, retry, fire, elapsed + 60, result, final=True)
        finally:
            if restore is not None:
                clients.put(parse_client(restore))
        if day == bounce_day:
            bounced = _bounce_one(deps, clients, day, fire + timedelta(seconds=elapsed + 120))
            if bounced:
                happened.append(f"{day}: {bounced}")
        result.days += 1
        if on_day:
            on_day(day, result.runs)
    result.log_events = cloudwatch.accepted
    result.incidents = tuple(happened)
    return result


def _invoke(
    deps: Any,
    config: EnvironmentConfig,
    cloudwatch: _CloudWatch,
    batch: Sequence[ReportJob],
    fire: datetime,
    elapsed: float,
    result: SeedResult,
    *,
    final: bool = False,
) -> tuple[float, list[ReportJob]]:
    """One worker invocation over a batch, in order; returns the new elapsed time and the jobs
    that failed transiently."""
    from lambdas.observability import logger

    begun = fire + timedelta(seconds=elapsed)
    started = time.monotonic()
    transient: list[ReportJob] = []
    logger.clear_state()  # what Powertools' inject_lambda_context does at the start of an invocation
    logger.append_keys(function_name=config.worker_function)
    with _captured() as (logs, emf):
        for job in batch:
            deps.clock = lambda: begun + timedelta(seconds=time.monotonic() - started)
            try:
                outcome = ReportRun(deps, requester="worker").run(job)
            except PlatformError:
                transient.append(job)
                if final:
                    result.failed += 1
                continue
            result.runs += 1
            result.failed += outcome.status == "failed"
    took = int((time.monotonic() - started) * 1000)
    cloudwatch.invocation(config.worker_function, begun, took, logs.getvalue(), emf.getvalue())
    result.invocations += 1
    if final:
        result.runs += len(transient)
    return elapsed + took / 1000, transient


def _bounce_one(deps: Any, clients: ClientsTable, day: date, at: datetime) -> str | None:
    """SES reports a permanent bounce of one recipient of the day's first sent report whose
    client has more than one recipient; the feedback handler records the suppression."""
    from lambdas.handlers import feedback

    for record in sorted(clients.records(), key=lambda r: str(r.get("client_id"))):
        client = parse_client(record)
        if len(client.recipients) < 2:
            continue
        run = deps.executions.get(client.client_id, f"{day.isoformat()}.daily")
        if run is None or run.delivery != "sent" or not run.message_id:
            continue
        recipient = client.recipients[-1]
        event = _bounce_event(client.client_id, run.run_id, run.message_id, recipient, at)
        with _captured():
            feedback.handler(event, LocalContext("feedback"))
        # SES counts the bounce in its statistics; the embedded AWS learns it from whoever simulates it.
        endpoint = platform_client("sesv2").meta.endpoint_url
        admin(endpoint, "ses/events", {"type": "Bounce", "count": 1, "at": (at + timedelta(minutes=1)).isoformat()})
        return f"SES reported a permanent bounce for one recipient of {client.client_id}"
    return None
