"""`system health-check`'s checks: SES, alarms, queues, clients gone stale, credential ages,
suppressions, recent errors."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from cli.aws_errors import problem
from cli.context import tracked
from cli.probes.resources import (
    alarms,
    bucket_check,
    metric_sum,
    queue_depth,
    queue_url,
    resource_checks,
    table_check,
    topic_arn,
)
from cli.readers.clients import clients_table, key_ages
from cli.reviews.checks import (
    BOUNCE_CRITICAL,
    BOUNCE_WARNING,
    COMPLAINT_CRITICAL,
    COMPLAINT_WARNING,
    QUOTA_WARNING,
    Check,
    Status,
    is_stale,
    listed,
    rate_status,
)
from cli.reviews.key_ages import CRITICAL_DAYS, WARN_DAYS
from cli.workflows.credential_validation import refused
from cli.workflows.link_signer import link_signer_check
from infrastructure.config import METRICS_NAMESPACE, EnvironmentConfig
from lambdas.dal.aws import platform_client
from lambdas.dal.credentials import CredentialProvider
from lambdas.dal.executions_table import ExecutionsTable
from lambdas.dal.suppressions import SuppressionsTable
from lambdas.models.client import Client, parse_client
from lambdas.models.exceptions import InvalidInputError, PlatformError


def ses_checks() -> list[Check]:
    checks = []
    try:
        account = platform_client("sesv2").get_account()
        enforcement = account.get("EnforcementStatus", "HEALTHY")
        if not account.get("SendingEnabled", True) or enforcement == "SHUTDOWN":
            checks.append(Check("SES sending", Status.CRITICAL, f"sending disabled (enforcement {enforcement})"))
        elif enforcement != "HEALTHY" or not account.get("ProductionAccessEnabled", True):
            sandbox = "" if account.get("ProductionAccessEnabled", True) else ", sandbox: verified recipients only"
            checks.append(Check("SES sending", Status.WARNING, f"enforcement {enforcement}{sandbox}"))
        else:
            checks.append(Check("SES sending", Status.OK, "enabled, enforcement HEALTHY"))
    except Exception as error:
        checks.append(Check("SES sending", Status.WARNING, f"status unknown: {problem(error)}"))
    ses = platform_client("ses")
    try:
        quota = ses.get_send_quota()
        limit, sent = Decimal(str(quota["Max24HourSend"])), Decimal(str(quota["SentLast24Hours"]))
        used = sent / limit if limit > 0 else Decimal(1)
        status = Status.CRITICAL if used >= 1 else Status.WARNING if used >= QUOTA_WARNING else Status.OK
        checks.append(
            Check("SES quota", status, f"{sent:.0f} of {limit:.0f} in 24 h ({used:.0%}), {quota['MaxSendRate']}/s")
        )
    except Exception as error:
        checks.append(Check("SES quota", Status.WARNING, f"unknown: {problem(error)}"))
    try:
        points = ses.get_send_statistics().get("SendDataPoints", [])
        attempts = sum(int(p.get("DeliveryAttempts", 0)) for p in points)
        bounces = sum(int(p.get("Bounces", 0)) for p in points)
        complaints = sum(int(p.get("Complaints", 0)) for p in points)
        if attempts == 0:
            checks.append(Check("SES reputation", Status.OK, "no delivery attempts in the last 14 days"))
        else:
            bounce_rate, complaint_rate = Decimal(bounces) / attempts, Decimal(complaints) / attempts
            status = max(
                rate_status(bounce_rate, BOUNCE_WARNING, BOUNCE_CRITICAL),
                rate_status(complaint_rate, COMPLAINT_WARNING, COMPLAINT_CRITICAL),
            )
            detail = (
                f"{attempts} sent in 14 days: {bounces} bounced ({bounce_rate:.2%}), "
                f"{complaints} complained ({complaint_rate:.3%})"
            )
            checks.append(Check("SES reputation", status, detail))
    except Exception as error:
        checks.append(Check("SES reputation", Status.WARNING, f"unknown: {problem(error)}"))
    return checks


def alarms_check(config: EnvironmentConfig) -> Check:
    try:
        arn = topic_arn(config)
        if arn is None:
            return Check("alarms", Status.CRITICAL, f"alert topic {config.alerts_topic} missing")
        watching = alarms(arn)
    except Exception as error:
        return Check("alarms", Status.WARNING, f"unknown: {problem(error)}")
    firing = sorted(str(alarm["AlarmName"]) for alarm in watching if alarm.get("StateValue") == "ALARM")
    if firing:
        return Check("alarms", Status.CRITICAL, f"in ALARM: {listed(firing)}", {"in_alarm": firing})
    if not watching and config.deployed_by_stack:
        return Check("alarms", Status.WARNING, f"no alarm notifies {config.alerts_topic}")
    return Check("alarms", Status.OK, f"none in ALARM ({len(watching)} notify {config.alerts_topic})")


def queue_check(name: str, *, dead_letters: bool) -> Check:
    try:
        url = queue_url(name)
        if url is None:
            return Check(f"queue {name}", Status.CRITICAL, "missing")
        waiting, in_flight = queue_depth(url)
    except Exception as error:
        return Check(f"queue {name}", Status.CRITICAL, problem(error))
    data = {"waiting": waiting, "in_flight": in_flight}
    if dead_letters and waiting + in_flight:
        detail = f"{waiting + in_flight} run(s) failed every retry: see docs/operations.md, incident response"
        return Check(f"dead letters {name}", Status.CRITICAL, detail, data)
    label = f"dead letters {name}" if dead_letters else f"queue {name}"
    return Check(label, Status.OK, f"{waiting} waiting, {in_flight} in flight", data)


def active_clients(config: EnvironmentConfig) -> tuple[list[Client], list[str]]:
    clients, invalid = [], []
    for record in clients_table(config).records():
        try:
            client = parse_client(record)
        except InvalidInputError as error:
            invalid.append(f"{record.get('client_id', '?')} ({error})")
            continue
        if client.active:
            clients.append(client)
    return sorted(clients, key=lambda c: c.client_id), invalid


def stale_clients_check(config: EnvironmentConfig, at: datetime) -> Check:
    try:
        clients, invalid = active_clients(config)
        executions = ExecutionsTable(config.executions_table)
        stale = []
        for client in tracked(clients, "Checking last reports", len(clients)):
            last = executions.last_succeeded(client.client_id)
            when = (last.finished_at or last.started_at) if last else None
            if is_stale(client.schedule, when, client.created_at, at):
                stale.append({"client_id": client.client_id, "schedule": client.schedule, "last_success": when})
    except Exception as error:
        return Check("report freshness", Status.WARNING, f"unknown: {problem(error)}")
    data = {"stale": stale, "invalid_records": invalid}
    if invalid:
        return Check("report freshness", Status.WARNING, f"invalid client records: {listed(invalid)}", data)
    if stale:
        ids = [f"{s['client_id']} ({s['schedule']})" for s in stale]
        return Check("report freshness", Status.WARNING, f"{len(stale)} stale: {listed(ids)}", data)
    return Check("report freshness", Status.OK, f"all {len(clients)} active client(s) within their schedule", data)


def credential_age_check(config: EnvironmentConfig, at: datetime) -> Check:
    try:
        ages, roles = key_ages(clients_table(config), WARN_DAYS, CRITICAL_DAYS, at)
    except Exception as error:
        return Check("credential ages", Status.WARNING, f"unknown: {problem(error)}")
    overall = max((age.status for age in ages), default=Status.OK)
    flagged = [
        f"{a.client_id} ({a.age_days if a.age_days is not None else '?'} d)" for a in ages if a.status is not Status.OK
    ]
    data = {"keys": [a.as_dict() for a in ages]}
    if flagged:
        return Check("credential ages", overall, f"near or past {CRITICAL_DAYS} days: {listed(flagged)}", data)
    return Check(
        "credential ages", Status.OK, f"{len(ages)} stored key(s) under {WARN_DAYS} days, {roles} role(s)", data
    )


def suppressions_check(config: EnvironmentConfig) -> Check:
    """Recipients of active clients that SES reported bouncing or complaining: they get no report
    until an operator clears them (`client unsuppress`). WARNING while any is suppressed, CRITICAL
    when an active client has no recipient left at all (its reports are archived, sent to nobody)."""
    try:
        clients, _ = active_clients(config)
        suppressed = SuppressionsTable(config.suppressions_table).every_client(cleared=False)
    except Exception as error:
        return Check("suppressed recipients", Status.WARNING, f"unknown: {problem(error)}")
    by_client: dict[str, dict[str, str]] = {}
    for entry in suppressed:
        by_client.setdefault(entry.client_id, {})[entry.email] = entry.reason
    found: list[dict[str, str]] = []
    silenced: list[str] = []
    for client in clients:
        own = by_client.get(client.client_id, {})
        hit = [(address.lower(), own[address.lower()]) for address in client.recipients if address.lower() in own]
        if not hit:
            continue
        found.extend({"client_id": client.client_id, "email": email, "reason": reason} for email, reason in hit)
        if len(hit) == len(client.recipients):
            silenced.append(client.client_id)
    data = {"suppressed": found, "no_recipient_left": silenced}
    if not found:
        return Check("suppressed recipients", Status.OK, "none of the active clients' recipients", data)
    addresses = [f"{entry['client_id']}: {entry['email']} ({entry['reason']})" for entry in found]
    detail = f"{len(found)} suppressed, clear with `client unsuppress`: {listed(addresses)}"
    if silenced:
        detail = f"no recipient left for {listed(silenced)}; {detail}"
        return Check("suppressed recipients", Status.CRITICAL, detail, data)
    return Check("suppressed recipients", Status.WARNING, detail, data)


def client_credentials_check(config: EnvironmentConfig) -> Check:
    clients, _ = active_clients(config)
    provider, failed = CredentialProvider(), []
    for client in tracked(clients, "Obtaining client credentials", len(clients)):
        try:
            provider.for_client(client)
        except PlatformError as error:
            refused(client, error)
            failed.append(f"{client.client_id}: {error}")
    if failed:
        return Check("client credentials", Status.CRITICAL, f"refused: {listed(failed)}", {"refused": failed})
    return Check("client credentials", Status.OK, f"obtained for all {len(clients)} active client(s)")


def recent_errors_check(config: EnvironmentConfig, at: datetime) -> Check:
    start = at - timedelta(hours=1)
    try:
        errors = sum(
            metric_sum("AWS/Lambda", "Errors", {"FunctionName": name}, start, at)
            for name in (config.worker_function, config.export_worker_function, config.dispatcher_function)
        )
        throttles = sum(
            metric_sum("AWS/Lambda", "Throttles", {"FunctionName": name}, start, at)
            for name in (config.worker_function, config.export_worker_function)
        )
        failed = metric_sum(METRICS_NAMESPACE, "RunsFailed", {"service": config.service_name}, start, at)
    except Exception as error:
        return Check("last hour", Status.WARNING, f"unknown: {problem(error)}")
    detail = f"function errors {errors}, throttles {throttles}, failed runs {failed}"
    status = Status.CRITICAL if errors or throttles else Status.WARNING if failed else Status.OK
    return Check("last hour", status, detail)


def health_checks(
    config: EnvironmentConfig, at: datetime, *, post_deployment: bool, comprehensive: bool
) -> list[Check]:
    checks = [table_check(config.clients_table), table_check(config.executions_table), bucket_check(config)]
    checks += ses_checks()
    checks.append(alarms_check(config))
    checks.append(queue_check(config.dead_letter_queue, dead_letters=True))
    checks.append(queue_check(config.jobs_queue, dead_letters=False))
    checks.append(queue_check(config.export_dead_letter_queue, dead_letters=True))
    checks.append(queue_check(config.export_jobs_queue, dead_letters=False))
    checks.append(stale_clients_check(config, at))
    checks.append(credential_age_check(config, at))
    checks.append(link_signer_check(config, at))
    checks.append(suppressions_check(config))
    if post_deployment or comprehensive:
        seen = {check.name for check in checks}
        checks += [check for check in resource_checks(config) if check.name not in seen]
        checks.append(recent_errors_check(config, at))
    if comprehensive:
        checks.append(client_credentials_check(config))
    return checks
