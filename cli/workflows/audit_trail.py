"""The audit trail of operators' changes: who changed which client, and credential rotations.

Each change made through the CLI (`client add/update/pause/resume/remove/import/unsuppress`,
`credentials rotate`, `backup restore`) is recorded as one JSON object in the environment's audit
bucket (`cost-reporting-audit-<account>-<region>`), under
`audit/YYYY/MM/DD/<time>-<client>-<random>.json`. Why there and not in a table:

- append-only, and enforced: every event has its own new key and is never overwritten, and the
  bucket locks each object version with S3 Object Lock in governance mode for
  AUDIT_RETENTION_DAYS (infrastructure/config.py): nobody deletes or rewrites an event before then
  without s3:BypassGovernanceRetention and an explicit request, which CloudTrail records. It is
  versioned and encrypted with the project's key;
- a new DynamoDB table would need a grant and a place in backups, and the executions table's
  items are validated as runs by backups and recovery checks;
- a month's events are one prefix: `ops audit-report` lists and reads them, nothing else.

Events written before the audit bucket existed stay under `audit/` in the assets bucket: they are
read too.

"Who" is the AWS principal that made the change (STS GetCallerIdentity: what CloudTrail would
show for the same call) and the operating-system user that ran the command. Changed fields
are named, values are not recorded (an external id or a recipient is not an audit fact).
"""

from __future__ import annotations

import getpass
import json
import secrets
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from functools import cache
from typing import Literal

from pydantic import BaseModel, ConfigDict

from cli.aws_errors import problem
from cli.context import EXIT_FINDINGS, fail, now
from cli.probes.resources import bucket_name
from infrastructure.config import EnvironmentConfig
from lambdas.dal.archive import ReportArchive
from lambdas.dal.aws import platform_client
from lambdas.logic.periods import add_months

AUDIT_PREFIX = "audit/"

Action = Literal[
    "client.add",
    "client.update",
    "client.pause",
    "client.resume",
    "client.remove",
    "client.import",
    "client.unsuppress",
    "credentials.rotate",
    "backup.restore",
]


class AuditEvent(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    at: datetime
    environment: str
    action: Action
    client_id: str
    actor: str  # AWS principal ARN
    operator: str  # operating-system user of the CLI
    fields: list[str] = []
    clients: list[str] = []  # an import: every client it wrote
    outcome: Literal["done", "stopped"] = "done"
    detail: str = ""


@cache
def actor() -> str:
    """The AWS principal making the CLI's calls: what CloudTrail would show."""
    try:
        return str(platform_client("sts").get_caller_identity()["Arn"])
    except Exception as error:
        return f"unknown ({problem(error)})"


def _operator() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers
        return "unknown"


def event_key(event: AuditEvent) -> str:
    stamp = event.at.strftime("%Y/%m/%d/%Y%m%dT%H%M%S.%fZ")
    return f"{AUDIT_PREFIX}{stamp}-{event.client_id}-{secrets.token_hex(4)}.json"


def _archive(config: EnvironmentConfig) -> ReportArchive:
    """The audit bucket, where events are written (and locked)."""
    name = bucket_name(config, config.audit_bucket)
    if name is None:
        raise LookupError(f"bucket {config.audit_bucket} missing")
    return ReportArchive(name)


def _archives(config: EnvironmentConfig) -> list[ReportArchive]:
    """Where events are read: the audit bucket, and the assets bucket's `audit/` of older versions."""
    legacy = bucket_name(config)
    return [_archive(config), *([ReportArchive(legacy)] if legacy else [])]


def record(
    config: EnvironmentConfig,
    action: Action,
    client_id: str,
    *,
    fields: Iterable[str] = (),
    clients: Iterable[str] = (),
    outcome: Literal["done", "stopped"] = "done",
    detail: str = "",
) -> None:
    """Record a change that was made. If the event cannot be written the change stands, and the
    command says so on one line and exits 1: an audit trail must not miss changes silently."""
    event = AuditEvent(
        at=now(),
        environment=config.environment,
        action=action,
        client_id=client_id,
        actor=actor(),
        operator=_operator(),
        fields=sorted(set(fields)),
        clients=sorted(set(clients)),
        outcome=outcome,
        detail=detail,
    )
    try:
        body = event.model_dump_json().encode()
        _archive(config).put(event_key(event), body, "application/json")
    except Exception as error:
        fail(
            f"{action} of {client_id} was made, but its audit event was not recorded ({problem(error)})",
            EXIT_FINDINGS,
        )


def _months(start: date, end: date) -> list[str]:
    """Prefixes of every month from `start` to `end` (exclusive)."""
    prefixes, day = [], start.replace(day=1)
    while day < end:
        prefixes.append(f"{AUDIT_PREFIX}{day:%Y/%m}/")
        day = add_months(day, 1)
    return prefixes


def events_between(config: EnvironmentConfig, start: datetime, end: datetime) -> tuple[list[AuditEvent], list[str]]:
    """The recorded events with start <= at < end, oldest first, and the keys under the audit
    prefix that are not events (reported, never skipped silently)."""
    events, unreadable = [], []
    for archive in _archives(config):
        for prefix in _months(start.date(), end.date() + timedelta(days=1)):
            for key in archive.list(prefix):
                try:
                    event = AuditEvent.model_validate(json.loads(archive.get(key)))
                except ValueError:
                    unreadable.append(key)
                    continue
                if start <= event.at < end:
                    events.append(event)
    return sorted(events, key=lambda e: e.at), unreadable
