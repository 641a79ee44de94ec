"""Disaster recovery: the first 15 minutes (`system assess-damage`) and the check that a restored
environment is whole (`system validate-recovery`).

`assess-damage` lists, in the order to restore them, every part of an environment: what exists,
what is missing or damaged, what holds data now and where each is restorable from, with the
users' runbook's recovery time objective (critical 1 hour, standard 4 hours, non-critical 24
hours). `--comprehensive` counts every table's items exactly (a paid scan; otherwise DynamoDB's
count, updated about every six hours), parses every client record and looks up every secret a
client names.

`validate-recovery` compares the environment with the backup file that was restored (`--input`),
and/or (`--comprehensive`, no backup file needed) with the environment's own evidence: every
resource healthy, every client record valid with its secrets there, and no client that the
archive, the run history or the suppressions know of missing from the client table unless the
audit trail says it was removed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cli.aws_errors import missing, problem
from cli.probes.resources import alarms, bucket_name, identity_check, topic_arn
from cli.readers import tables
from cli.readers.clients import clients_table
from cli.reviews.checks import Status, listed
from infrastructure.config import EnvironmentConfig
from lambdas.dal.aws import platform_client
from lambdas.models.client import StoredKeyCredentials, parse_client
from lambdas.models.events import Trigger
from lambdas.models.exceptions import InvalidInputError

# The users' runbook, Recovery Time Objectives.
RTO = {"critical": "1 hour", "standard": "4 hours", "non-critical": "24 hours"}
SCHEDULES: tuple[str, ...] = Trigger.__args__  # type: ignore[attr-defined]


@dataclass
class Item:
    """One part of the environment, as found."""

    name: str
    tier: str  # a key of RTO
    status: Status  # OK there and sound, WARNING degraded, CRITICAL missing or damaged
    state: str
    holds: str = "-"
    restore_from: str = "cdk deploy (make deploy ENV=...)"

    def as_dict(self, order: int) -> dict[str, Any]:
        return {
            "order": order,
            "name": self.name,
            "rto": RTO[self.tier],
            "tier": self.tier,
            "status": self.status.name,
            "state": self.state,
            "holds": self.holds,
            "restore_from": self.restore_from,
        }


def _probe(name: str, tier: str, restore_from: str, look: Callable[[], Item]) -> Item:
    """An item as `look` finds it; an AWS error is the item's state, never the end of the assessment."""
    try:
        return look()
    except Exception as error:
        state = "missing" if missing(error) else f"unreadable: {problem(error)}"
        return Item(name, tier, Status.CRITICAL, state, restore_from=restore_from)


# -- infrastructure ------------------------------------------------------------------------------


def kms_item(config: EnvironmentConfig) -> Item:
    name = f"KMS key {config.kms_alias}"
    restore = "a key pending deletion: aws kms cancel-key-deletion; a deleted key cannot be restored"

    def look() -> Item:
        key = platform_client("kms").describe_key(KeyId=config.kms_alias)["KeyMetadata"]
        state = key.get("KeyState", "Enabled")
        status = Status.OK if state == "Enabled" else Status.CRITICAL
        detail = state + (f", deletion on {key['DeletionDate']:%Y-%m-%d}" if key.get("DeletionDate") else "")
        return Item(name, "critical", status, detail, "every table, the bucket, queues, secrets", restore)

    if not config.deployed_by_stack:
        return Item(name, "critical", Status.OK, "not in local (data stored unencrypted)", restore_from="-")
    return _probe(name, "critical", restore, look)


def stack_item(config: EnvironmentConfig) -> Item:
    name = f"stack {config.stack_name}"
    if not config.deployed_by_stack:
        return Item(name, "critical", Status.OK, "not in local: `local bootstrap` provisions it", restore_from="-")

    def look() -> Item:
        stack = platform_client("cloudformation").describe_stacks(StackName=config.stack_name)["Stacks"][0]
        state = stack["StackStatus"]
        healthy = state.endswith("_COMPLETE") and "ROLLBACK" not in state and "DELETE" not in state
        return Item(name, "critical", Status.OK if healthy else Status.CRITICAL, state)

    return _probe(name, "critical", "cdk deploy (make deploy ENV=...)", look)


TABLE_TIERS = {
    "clients_table": ("critical", "client records"),
    "suppressions_table": ("critical", "suppressed recipients"),
    "executions_table": ("standard", "runs"),
    "cost_cache_table": ("non-critical", "cached Cost Explorer answers"),
    "idempotency_table": ("non-critical", "idempotency records"),
}
REFILLED = {
    "cost_cache_table": "nothing to restore: refilled by the next runs (Cost Explorer requests, USD 0.01 each)",
    "idempotency_table": "nothing to restore: they expire within 7 days",
}


def table_item(config: EnvironmentConfig, attribute: str, exact: bool) -> Item:
    table = getattr(config, attribute)
    tier, what = TABLE_TIERS[attribute]
    deleted = (
        "cdk deploy recreates it empty; its data: the system backup DynamoDB kept when it was deleted "
        "(aws dynamodb list-backups --backup-type SYSTEM, 35 days), or backup restore from the latest backup file"
    )

    def look() -> Item:
        adapter = tables.table(config, attribute)
        description = adapter.describe()
        count = adapter.count() if exact else int(description.get("ItemCount", 0))
        holds = f"{count} {what}" + ("" if exact else " (DynamoDB's count, updated about every 6 hours)")
        recovery = adapter.continuous_backups()
        pitr = recovery.get("PointInTimeRecoveryDescription", {})
        if attribute in REFILLED:
            source = REFILLED[attribute]
        elif pitr.get("PointInTimeRecoveryStatus") == "ENABLED":
            earliest = pitr.get("EarliestRestorableDateTime")
            since = f" since {earliest:%Y-%m-%d %H:%M} UTC" if isinstance(earliest, datetime) else ""
            source = f"point-in-time recovery{since} (restore-table-to-point-in-time); backup restore"
        else:
            source = "backup restore from the latest backup file (no point-in-time recovery)"
        state = description.get("TableStatus", "?")
        status = Status.OK if state == "ACTIVE" else Status.WARNING if state == "UPDATING" else Status.CRITICAL
        return Item(f"table {table}", tier, status, state, holds, source)

    return _probe(f"table {table}", tier, deleted, look)


def bucket_item(config: EnvironmentConfig, exact: bool) -> Item:
    label = f"bucket {config.assets_bucket}"

    def look() -> Item:
        name = bucket_name(config)
        if name is None:
            restore = "cdk deploy recreates it empty; its reports: the replica bucket, if replication was on"
            return Item(label, "critical", Status.CRITICAL, "missing", restore_from=restore)
        s3 = platform_client("s3")
        versioning = s3.get_bucket_versioning(Bucket=name).get("Status")
        try:
            rules = s3.get_bucket_replication(Bucket=name)["ReplicationConfiguration"]["Rules"]
            replica = ", ".join(sorted({r["Destination"]["Bucket"].rsplit(":", 1)[-1] for r in rules}))
        except Exception:  # no replication configured (or not readable): said so in the row
            replica = ""
        source = "earlier object versions (versioning)" if versioning == "Enabled" else "nothing: versioning is off"
        source += f"; the replica {replica}" if replica else "; no replica"
        listing = s3.list_objects_v2(Bucket=name, Prefix="reports/", MaxKeys=1000 if exact else 1)
        holds = f"{listing.get('KeyCount', 0)} archived object(s)" if exact else "archived reports, audit trail"
        if exact and listing.get("IsTruncated"):
            holds = "over 1000 archived objects"
        status = Status.OK if versioning == "Enabled" else Status.WARNING
        return Item(f"bucket {name}", "critical", status, f"versioning {versioning or 'off'}", holds, source)

    return _probe(label, "critical", "cdk deploy", look)


def queue_item(name: str, tier: str, dead_letters: bool) -> Item:
    def look() -> Item:
        sqs = platform_client("sqs")
        url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
        waiting = int(attributes["Attributes"]["ApproximateNumberOfMessages"])
        holds = f"{waiting} message(s)" + (": failed runs, re-run with report run --as-of" if dead_letters else "")
        return Item(f"queue {name}", tier, Status.OK, "exists", holds, "cdk deploy; its messages are not restorable")

    return _probe(f"queue {name}", tier, "cdk deploy; lost jobs: report run --client-id ID --as-of DAY", look)


def topic_item(config: EnvironmentConfig) -> Item:
    def look() -> Item:
        arn = topic_arn(config)
        return Item(f"topic {config.alerts_topic}", "standard", Status.OK if arn else Status.CRITICAL, arn or "missing")

    return _probe(f"topic {config.alerts_topic}", "standard", "cdk deploy", look)


def deployed_items(config: EnvironmentConfig) -> list[Item]:
    """Functions, schedules, alarms and dashboard: what only the stack makes."""
    if not config.deployed_by_stack:
        state = "not in local: the handlers run in process"
        return [Item("functions, schedules, alarms, dashboard", "critical", Status.OK, state, restore_from="-")]
    items = []
    for function, tier in (
        (config.worker_function, "critical"),
        (config.export_worker_function, "critical"),
        (config.dispatcher_function, "critical"),
        (config.feedback_function, "standard"),
    ):

        def look(function: str = function, tier: str = tier) -> Item:
            found = platform_client("lambda").get_function(FunctionName=function)["Configuration"]
            state = f"{found.get('State', 'Active')}, last update {found.get('LastUpdateStatus', 'Successful')}"
            healthy = state == "Active, last update Successful"
            return Item(f"function {function}", tier, Status.OK if healthy else Status.CRITICAL, state)

        items.append(_probe(f"function {function}", tier, "cdk deploy (the code is in git)", look))
    for schedule in SCHEDULES:
        name = f"{config.dispatcher_function}-{schedule}"

        def look_schedule(name: str = name) -> Item:
            found = platform_client("scheduler").get_schedule(Name=name)
            status = Status.OK if found.get("State") == "ENABLED" else Status.CRITICAL
            return Item(f"schedule {name}", "critical", status, str(found.get("State")))

        items.append(_probe(f"schedule {name}", "critical", "cdk deploy", look_schedule))
    items.append(_probe("alarms", "standard", "cdk deploy", lambda: _alarms_item(config)))
    items.append(_probe(f"dashboard {config.dashboard}", "non-critical", "cdk deploy", lambda: _dashboard(config)))
    return items


def _alarms_item(config: EnvironmentConfig) -> Item:
    arn = topic_arn(config)
    count = len(alarms(arn)) if arn else 0
    return Item("alarms", "standard", Status.OK if count else Status.CRITICAL, f"{count} notify {config.alerts_topic}")


def _dashboard(config: EnvironmentConfig) -> Item:
    platform_client("cloudwatch").get_dashboard(DashboardName=config.dashboard)
    return Item(f"dashboard {config.dashboard}", "non-critical", Status.OK, "exists")


# -- identity and secrets ------------------------------------------------------------------------


def ses_item(config: EnvironmentConfig) -> Item:
    domain = config.sender_email.split("@", 1)[1]
    check = identity_check(domain, config.sender_email)
    restore = "cdk deploy, then publish the DkimRecord outputs as CNAME records and wait for verification"
    return Item(f"SES identity {domain}", "critical", check.status, check.detail, restore_from=restore)


def secret_item(name: str, label: str, tier: str, restore: str) -> Item:
    def look() -> Item:
        found = platform_client("secretsmanager").describe_secret(SecretId=name)
        if found.get("DeletedDate"):
            until = found["DeletedDate"]
            state = f"deleted on {until:%Y-%m-%d %H:%M} UTC, within its recovery window"
            source = f"aws secretsmanager restore-secret --secret-id {name}"
            return Item(label, tier, Status.CRITICAL, state, restore_from=source)
        return Item(label, tier, Status.OK, "exists", "a key (never shown)", restore)

    return _probe(label, tier, restore, look)


def client_secrets(config: EnvironmentConfig) -> tuple[list[Item], list[str]]:
    """Every secret a client record names (stored keys, webhooks), and the invalid records."""
    items, invalid = [], []
    for record in sorted(clients_table(config).records(), key=lambda r: str(r.get("client_id", ""))):
        try:
            client = parse_client(record)
        except InvalidInputError as error:
            invalid.append(f"{record.get('client_id', '?')} ({error})")
            continue
        names = [w.secret_name for w in client.webhooks]
        if isinstance(client.credentials, StoredKeyCredentials):
            names.insert(0, client.credentials.secret_name)
        tier = "critical" if client.active else "standard"
        for name in names:
            restore = "the client sends a new key (aws secretsmanager create-secret, then client update)"
            items.append(secret_item(name, f"secret of {client.client_id}: {name}", tier, restore))
    return items, invalid


def assessment(config: EnvironmentConfig, *, comprehensive: bool) -> list[Item]:
    """Every part of the environment, in the order to restore them."""
    items = [kms_item(config), stack_item(config)]
    items += [table_item(config, attribute, comprehensive) for attribute in TABLE_TIERS]
    items.append(bucket_item(config, comprehensive))
    items.append(queue_item(config.jobs_queue, "critical", dead_letters=False))
    items.append(queue_item(config.dead_letter_queue, "standard", dead_letters=True))
    items.append(queue_item(config.export_jobs_queue, "critical", dead_letters=False))
    items.append(queue_item(config.export_dead_letter_queue, "standard", dead_letters=True))
    items += deployed_items(config)
    items.append(ses_item(config))
    signer = "cdk deploy makes a new key (links already sent stop working)"
    items.append(secret_item(config.link_signer_secret, "link signer key", "standard", signer))
    if comprehensive:
        secrets, invalid = client_secrets(config)
        items += secrets
        if invalid:
            detail = f"{len(invalid)} invalid record(s): {listed(invalid)}"
            items.append(Item("client records", "critical", Status.CRITICAL, detail, restore_from="backup restore"))
    items.append(topic_item(config))
    return items


@dataclass(frozen=True)
class Assessed:
    items: list[Item]

    @property
    def damaged(self) -> list[Item]:
        return [item for item in self.items if item.status is not Status.OK]
