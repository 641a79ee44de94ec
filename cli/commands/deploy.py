"""`deploy ...`: after `cdk deploy`, is everything there and healthy, and does it stay so?

`validate` checks every resource the configuration names (infrastructure/config.py): tables
ACTIVE with the stack's keys, point-in-time recovery, the bucket (versioned, public access
blocked), both queues and the redrive between them, the alert topic, the SES identity and
configuration set; where the stack deploys them, the functions (Active, last update
Successful), the alarms on the alert topic and the dashboard. Then it proves that an alarm's
notification reaches a subscriber of the alert topic (cli/probes/alert_delivery.py).

`monitor` polls once an interval (a minute by default) for `--duration` minutes and prints a
line per poll: alarms in ALARM, function errors and throttles and failed runs since the monitor
started, the jobs queue and the dead-letter queue. It stops with exit 1 at the first trouble:
an alarm in ALARM, a function error or throttle, a failed run, or a dead letter more than when
it started.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import typer

from cli.context import EXIT_FINDINGS, environment_config, fail, now, report_checks
from cli.options import EnvironmentOption, FormatOption, OutputFormat, OutputOption
from cli.probes.alert_delivery import alert_delivery_check
from cli.probes.resources import alarms, metric_sum, queue_depth, queue_url, resource_checks, topic_arn
from cli.render.console import console
from cli.workflows.link_signer import link_signer_check
from infrastructure.config import METRICS_NAMESPACE, EnvironmentConfig

app = typer.Typer(help="Validate and watch a deployment.", no_args_is_help=True)

sleep: Callable[[float], None] = time.sleep


@app.command("validate")
def validate(
    fmt: OutputFormat = FormatOption,
    output: Path | None = OutputOption,
    environment: str = EnvironmentOption,
) -> None:
    """Every resource the configuration names exists and is healthy."""
    config = environment_config(environment, output=output)
    meta = {"environment": config.environment, "checked_at": now().isoformat()}
    report_checks(
        [*resource_checks(config), alert_delivery_check(config), link_signer_check(config, now())],
        title=f"deployment of {config.environment}",
        fmt=fmt,
        output=output,
        meta=meta,
    )


@dataclass
class Reading:
    in_alarm: list[str]
    watching: int
    function_errors: int
    throttles: int
    failed_runs: int
    waiting: int
    in_flight: int
    dead_letters: int

    def trouble(self, dead_letters_at_start: int) -> str | None:
        if self.in_alarm:
            return f"in ALARM: {', '.join(self.in_alarm)}"
        if self.function_errors or self.throttles:
            return f"{self.function_errors} function error(s), {self.throttles} throttle(s)"
        if self.failed_runs:
            return f"{self.failed_runs} failed run(s)"
        if self.dead_letters > dead_letters_at_start:
            return f"{self.dead_letters - dead_letters_at_start} new dead letter(s)"
        return None


def read(config: EnvironmentConfig, topic: str | None, jobs: str, dlq: str, since: datetime, at: datetime) -> Reading:
    watching = alarms(topic) if topic else []
    functions = (config.worker_function, config.export_worker_function, config.dispatcher_function)
    waiting, in_flight = queue_depth(jobs)
    return Reading(
        in_alarm=sorted(str(a["AlarmName"]) for a in watching if a.get("StateValue") == "ALARM"),
        watching=len(watching),
        function_errors=sum(metric_sum("AWS/Lambda", "Errors", {"FunctionName": f}, since, at) for f in functions),
        throttles=sum(metric_sum("AWS/Lambda", "Throttles", {"FunctionName": f}, since, at) for f in functions),
        failed_runs=metric_sum(METRICS_NAMESPACE, "RunsFailed", {"service": config.service_name}, since, at),
        waiting=waiting,
        in_flight=in_flight,
        dead_letters=sum(queue_depth(dlq)),
    )


@app.command("monitor")
def monitor(
    duration: float = typer.Option(60, "--duration", help="Minutes to watch."),
    interval: float = typer.Option(60, "--interval", help="Seconds between polls."),
    environment: str = EnvironmentOption,
) -> None:
    """Watch alarms, errors and the queues after a deployment; exit 1 at the first trouble."""
    if duration <= 0:
        fail("--duration: must be a positive number of minutes")
    if interval <= 0:
        fail("--interval: must be a positive number of seconds")
    config = environment_config(environment)
    topic, jobs, dlq = topic_arn(config), queue_url(config.jobs_queue), queue_url(config.dead_letter_queue)
    if jobs is None or dlq is None:
        fail(
            f"queue {config.jobs_queue if jobs is None else config.dead_letter_queue} missing: run `deploy validate`", 1
        )
    started = now()
    since = started - timedelta(minutes=1)  # metrics land a little late: include the minute before
    polls = max(1, math.ceil(duration * 60 / interval))
    baseline: int | None = None
    console.print(f"Watching {config.environment} for {duration:g} min, a line every {interval:g} s.")
    for poll in range(polls):
        if poll:
            sleep(interval)
        at = now()
        reading = read(config, topic, jobs, dlq, since, at)
        baseline = reading.dead_letters if baseline is None else baseline
        console.print(
            f"{at:%H:%M:%S}  alarms {len(reading.in_alarm)}/{reading.watching} in ALARM · "
            f"errors {reading.function_errors} · throttles {reading.throttles} · failed runs {reading.failed_runs} · "
            f"queue {reading.waiting} waiting, {reading.in_flight} in flight · DLQ {reading.dead_letters} "
            f"({reading.dead_letters - baseline:+d})",
            highlight=False,
        )
        trouble = reading.trouble(baseline)
        if trouble:
            fail(f"trouble at {at:%H:%M:%S}: {trouble}", EXIT_FINDINGS)
    console.print(f"No trouble in {duration:g} min.")
