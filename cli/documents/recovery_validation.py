"""`system validate-recovery`: is a restored environment whole?

Against the backup file that was restored (`--input`): every resource of `deploy validate`, then
every backed-up client, suppression and run compared with the live tables (missing or
different: CRITICAL; clients not in the backup: WARNING; newer runs are expected).

Without the backup file at hand (`--comprehensive`, as the users' runbook calls it): against the
environment's own evidence. Every resource healthy; every client record valid and every secret
it names there; no client missing from the client table that the archive (`reports/<client>/`),
the run history or the suppressions know of, unless the audit trail says it was removed; the
run history there if the archive holds reports; and every active client's last report within
its schedule (the days lost are re-run with `report run --as-of DAY`). Both together with both.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from cli.documents.health import stale_clients_check
from cli.probes.recovery import client_secrets
from cli.probes.resources import bucket_name, resource_checks
from cli.readers.clients import clients_table
from cli.reviews.checks import Check, Status, listed
from cli.workflows import audit_trail as audit
from cli.workflows.backup import (
    CLIENTS,
    EXECUTIONS,
    SUPPRESSIONS,
    Backup,
    backup_checks,
    execution_key,
    suppression_items,
    suppression_key,
)
from cli.workflows.client_records import canonical
from infrastructure.config import EnvironmentConfig
from lambdas.dal.aws import platform_client
from lambdas.dal.dynamo import PlatformTable
from lambdas.dal.executions_table import ExecutionsTable
from lambdas.dal.suppressions import SuppressionsTable
from lambdas.models.client import parse_client
from lambdas.models.exceptions import InvalidInputError

AUDIT_MONTHS = 13  # how far back the audit trail is read for removed clients


def recovery_checks(config: EnvironmentConfig, backup: Backup) -> list[Check]:
    checks = [check for check in backup_checks(backup) if check.status is not Status.OK]
    if checks:
        return checks  # a damaged backup cannot be the reference
    checks = resource_checks(config)
    expected = {str(record["client_id"]): canonical(parse_client(record)) for record in backup.client_records}
    live: dict[str, Any] = {}
    for record in clients_table(config).records():
        try:
            live[str(record["client_id"])] = canonical(parse_client(record))
        except InvalidInputError:
            live[str(record["client_id"])] = record
    checks.append(_compare(CLIENTS, expected, live, extra_status=Status.WARNING))
    if EXECUTIONS in backup.files:
        runs = {execution_key(item): item for item in backup.execution_items}
        current = {execution_key(item): item for item in ExecutionsTable(config.executions_table).items()}
        checks.append(_compare(EXECUTIONS, runs, current, extra_status=Status.OK))
    if SUPPRESSIONS in backup.files:
        checks.append(_suppressions_restored(config, backup))
    return checks


def _suppressions_restored(config: EnvironmentConfig, backup: Backup) -> Check:
    """Every backed-up suppression is in the table (its state may be newer there: a clearing or a
    later bounce after the backup is expected)."""
    expected = {suppression_key(item) for item in backup.suppression_items}
    live = {suppression_key(item) for item in suppression_items(config)}
    lost = sorted(f"{client_id}: {email}" for client_id, email in expected - live)
    data = {"missing": lost, "not_in_backup": len(live - expected)}
    if lost:
        detail = f"{len(lost)} missing (their addresses bounced or complained and would be mailed): {listed(lost)}"
        return Check(f"restored {SUPPRESSIONS}", Status.CRITICAL, detail, data)
    return Check(f"restored {SUPPRESSIONS}", Status.OK, f"all {len(expected)} present", data)


def _compare(name: str, expected: dict[Any, Any], live: dict[Any, Any], *, extra_status: Status) -> Check:
    lost = sorted(str(key) for key in expected.keys() - live.keys())
    changed = sorted(str(key) for key in expected.keys() & live.keys() if expected[key] != live[key])
    extra = sorted(str(key) for key in live.keys() - expected.keys())
    data = {"missing": lost, "different": changed, "not_in_backup": extra}
    if lost or changed:
        detail = f"{len(lost)} missing, {len(changed)} different: {listed(lost + changed)}"
        return Check(f"restored {name}", Status.CRITICAL, detail, data)
    note = f"; {len(extra)} not in the backup (newer)" if extra else ""
    return Check(f"restored {name}", extra_status if extra else Status.OK, f"all {len(expected)} match{note}", data)


# -- without the backup file: the environment's own evidence -------------------------------------


def archived_clients(config: EnvironmentConfig) -> set[str]:
    """Clients with archived reports: `reports/<client_id>/` in the assets bucket."""
    name = bucket_name(config)
    if name is None:
        return set()
    pages = (
        platform_client("s3").get_paginator("list_objects_v2").paginate(Bucket=name, Prefix="reports/", Delimiter="/")
    )
    return {p["Prefix"].split("/")[1] for page in pages for p in page.get("CommonPrefixes", [])}


def _partition_keys(table: PlatformTable) -> set[str]:
    return {item["client_id"]["S"] for item in table.key_values(["client_id"])}


def removed_clients(config: EnvironmentConfig, at: datetime) -> tuple[set[str], list[str]]:
    """Clients whose last add, import or removal in the audit trail is a removal."""
    events, unreadable = audit.events_between(config, at - timedelta(days=31 * AUDIT_MONTHS), at + timedelta(seconds=1))
    last: dict[str, str] = {}
    for event in events:  # oldest first
        for client_id in event.clients or [event.client_id]:
            if event.action in ("client.add", "client.import", "client.remove"):
                last[client_id] = event.action
    return {client_id for client_id, action in last.items() if action == "client.remove"}, unreadable


def known_clients_check(config: EnvironmentConfig, at: datetime, live: set[str]) -> list[Check]:
    """No client the archive, the run history or the suppressions know of is missing from the
    client table, unless the audit trail says it was removed."""
    archived = archived_clients(config)
    ran = _partition_keys(ExecutionsTable(config.executions_table))
    suppressed = _partition_keys(SuppressionsTable(config.suppressions_table))
    removed, unreadable = removed_clients(config, at)
    lost = sorted((archived | ran | suppressed) - live - removed)
    data = {"archived": len(archived), "with_runs": len(ran), "removed": sorted(removed), "missing": lost}
    checks = []
    if lost:
        detail = (
            f"{len(lost)} client(s) the archive or history know of, not removed, missing from the table: "
            f"{listed(lost)} (point-in-time recovery, or backup restore)"
        )
        checks.append(Check("client records known", Status.CRITICAL, detail, data))
    else:
        detail = f"all {len(live)} there; {len(archived)} with archived reports, {len(removed)} removed (audit trail)"
        checks.append(Check("client records known", Status.OK, detail, data))
    if archived and not ran:
        detail = "empty while the archive holds reports: the history was lost (point-in-time recovery, backup restore)"
        checks.append(Check(f"run history {config.executions_table}", Status.CRITICAL, detail))
    if unreadable:
        checks.append(
            Check("audit trail", Status.WARNING, f"{len(unreadable)} unreadable object(s): {listed(unreadable)}")
        )
    return checks


def evidence_checks(config: EnvironmentConfig, at: datetime) -> list[Check]:
    """Whole without a backup file: resources, records, secrets, known clients, freshness."""
    checks = resource_checks(config)
    live: set[str] = {str(record.get("client_id")) for record in clients_table(config).records()}
    secrets, invalid = client_secrets(config)
    if invalid:
        checks.append(Check("client records valid", Status.CRITICAL, f"{len(invalid)} invalid: {listed(invalid)}"))
    else:
        checks.append(Check("client records valid", Status.OK, f"all {len(live)} parse"))
    lost = [f"{item.name} ({item.state})" for item in secrets if item.status is not Status.OK]
    status = Status.CRITICAL if lost else Status.OK
    detail = f"{len(lost)} missing: {listed(lost)}" if lost else f"all {len(secrets)} there"
    checks.append(Check("secrets clients name", status, detail))
    checks += known_clients_check(config, at, live)
    checks.append(stale_clients_check(config, at))
    return checks
