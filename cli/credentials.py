"""`credentials ...`: key ages, validation, rotation of clients' credentials.

Where key age comes from: IAM's CreateDate of the access key the secret holds, read with that
key itself (iam:ListAccessKeys on its own user). It is the age of the exact key in use and
cannot drift: `rotated_at` in the client record is only as true as whoever last wrote it (and
is absent for keys onboarded by hand), and a secret's version date changes whenever the secret
is rewritten without a new key. A key whose age cannot be read is a WARNING, never "fine".

Rotation of stored keys: read the current key, create a second key for the same IAM user
(with the current key), validate it (same identity; Cost Explorer reads the same accounts),
store it as the secret's new current version, stamp `rotated_at`, delete the old key with the
new one. Until the new key is stored the old one stays untouched; a failure at any step says
which step failed and what state each key is in.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import typer
from aws_lambda_powertools.metrics import MetricUnit
from rich.table import Table

from cli import audit as audit_trail
from cli.checks import Check, Status, age_in_days, key_age_status, report_checks, worst
from cli.clients import clients_table, require_client
from cli.context import (
    EXIT_FINDINGS,
    EnvironmentOption,
    FormatOption,
    OutputFormat,
    OutputOption,
    console,
    emit,
    environment_config,
    fail,
    mask_key,
    now,
    pipeline_logs,
    tracked,
    writable,
)
from infrastructure.config import EnvironmentConfig
from lambdas.dal.access_keys import AccessKeys, Identity
from lambdas.dal.aws import AwsCredentials, client_with
from lambdas.dal.clients_table import ClientsTable
from lambdas.dal.cost_explorer import CostExplorer
from lambdas.dal.credentials import CredentialProvider
from lambdas.dal.secrets_store import SecretsStore
from lambdas.models.client import Client, RoleCredentials, StoredKeyCredentials, parse_client
from lambdas.models.exceptions import InvalidInputError, PlatformError, UnauthorizedError
from lambdas.observability import ACCESS, UNAUTHORIZED, audit, metrics

app = typer.Typer(help="Credential ages, validation and rotation.", no_args_is_help=True)

WARN_DAYS, CRITICAL_DAYS = 60, 80
REQUESTER = "cli"  # who the audit lines name: the operator's own AWS identity is in CloudTrail
VISIBILITY_WINDOW = timedelta(days=30)
# A new IAM key can take a few seconds to work everywhere: validation retries before giving up.
VALIDATION_ATTEMPTS, VALIDATION_PAUSE_SECONDS = 6, 5.0
sleep: Callable[[float], None] = time.sleep


# -- key age -------------------------------------------------------------------------------------


@dataclass
class KeyAge:
    client_id: str
    secret_name: str
    status: Status
    detail: str
    access_key: str = ""  # masked
    created: datetime | None = None
    age_days: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "secret_name": self.secret_name,
            "status": self.status.name,
            "detail": self.detail,
            "access_key": self.access_key,
            "created": self.created.isoformat() if self.created else None,
            "age_days": self.age_days,
        }


def key_age(client: Client, warn_days: int, critical_days: int, at: datetime) -> KeyAge:
    """The age of a stored-keys client's key, from IAM, classified against the limits."""
    if not isinstance(client.credentials, StoredKeyCredentials):
        raise TypeError(f"{client.client_id} has no stored keys")
    secret = client.credentials.secret_name
    try:
        credentials = CredentialProvider().for_client(client)
        key = AccessKeys(credentials).current()
    except PlatformError as error:
        return KeyAge(client.client_id, secret, Status.WARNING, f"age unknown: {error}")
    masked = mask_key(credentials.access_key_id)
    if key is None:
        return KeyAge(client.client_id, secret, Status.CRITICAL, "IAM does not list the stored key", masked)
    age = age_in_days(key.created, at)
    status = key_age_status(age, warn_days, critical_days)
    detail = {Status.OK: "within limits", Status.WARNING: "rotate soon", Status.CRITICAL: "rotate now"}[status]
    return KeyAge(client.client_id, secret, status, detail, masked, key.created, age)


def stored_key_clients(table: ClientsTable) -> tuple[list[Client], int]:
    """Clients with stored keys (valid records), and how many use roles."""
    stored, roles = [], 0
    for record in table.records():
        try:
            client = parse_client(record)
        except InvalidInputError:
            continue  # `client list` shows invalid records; they have no usable key to age
        if isinstance(client.credentials, StoredKeyCredentials):
            stored.append(client)
        else:
            roles += 1
    return sorted(stored, key=lambda c: c.client_id), roles


def key_ages(table: ClientsTable, warn_days: int, critical_days: int, at: datetime) -> tuple[list[KeyAge], int]:
    clients, roles = stored_key_clients(table)
    ages = [key_age(c, warn_days, critical_days, at) for c in tracked(clients, "Reading key ages", len(clients))]
    return ages, roles


@app.command("check-age")
def check_age(
    warn_days: int = typer.Option(WARN_DAYS, "--warn-days", help="WARNING from this age in days."),
    critical_days: int = typer.Option(CRITICAL_DAYS, "--critical-days", help="CRITICAL from this age in days."),
    report: Path | None = typer.Option(None, "--report", help="Also write the findings as JSON to FILE."),
    fmt: OutputFormat = FormatOption,
    environment: str = EnvironmentOption,
) -> None:
    """Age of every stored access key against the rotation limits (roles have no keys to age)."""
    if warn_days < 1 or critical_days <= warn_days:
        fail("--critical-days: must be greater than --warn-days, and both positive")
    writable(report, "--report")
    config = environment_config(environment)
    at = now()
    ages, roles = key_ages(clients_table(config), warn_days, critical_days, at)
    overall = max((age.status for age in ages), default=Status.OK)
    view = Table("client", "key", "created", "age (days)", "status", "detail", title=f"stored keys: {overall.name}")
    for age in ages:
        created = age.created.date().isoformat() if age.created else "-"
        days = str(age.age_days) if age.age_days is not None else "-"
        view.add_row(
            age.client_id, age.access_key, created, days, f"[{age.status.style}]{age.status.name}[/]", age.detail
        )
    document = {
        "environment": config.environment,
        "checked_at": at.isoformat(),
        "warn_days": warn_days,
        "critical_days": critical_days,
        "status": overall.name,
        "role_clients": roles,
        "keys": [age.as_dict() for age in ages],
    }
    emit(document, view, fmt, report)
    if fmt is OutputFormat.table:
        console.print(f"{len(ages)} stored key(s), {roles} role client(s) (temporary credentials, nothing to age).")
    raise typer.Exit(0 if overall is Status.OK else EXIT_FINDINGS)


# -- validation ----------------------------------------------------------------------------------


def visible_accounts(credentials: AwsCredentials, at: datetime) -> set[str]:
    """Accounts whose costs these credentials can read in Cost Explorer (one paid request:
    the last 30 days, monthly, by linked account)."""
    request = {
        "TimePeriod": {
            "Start": (at - VISIBILITY_WINDOW).date().isoformat(),
            "End": at.date().isoformat(),
        },
        "Granularity": "MONTHLY",
        "Metrics": ["UnblendedCost"],
        "GroupBy": [{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}],
    }
    pages = CostExplorer(client_with("ce", credentials)).get_cost_and_usage(request)
    return {
        str(group["Keys"][0])
        for page in pages
        for result in page.get("ResultsByTime", [])
        for group in result.get("Groups", [])
    }


@dataclass
class Validation:
    checks: list[Check]
    readable: list[str]
    unreadable: list[str]
    identity: Identity | None = None
    credentials: AwsCredentials | None = None


def refused(client: Client, error: PlatformError) -> None:
    """An UNAUTHORIZED audit line for a refusal (on stderr, as the worker's pipeline logs are)."""
    if isinstance(error, UnauthorizedError):
        with pipeline_logs(verbose=False):
            audit(UNAUTHORIZED, str(error), client_id=client.client_id, requester=REQUESTER)


def validate(client: Client, at: datetime, *, verbose: bool = False) -> Validation:
    """Can the platform obtain this client's credentials, and read Cost Explorer for which of
    its accounts? The read is audited (`ACCESS`, shown on stderr with `verbose`), as the worker's."""
    checks: list[Check] = []
    kind = "role" if isinstance(client.credentials, RoleCredentials) else "stored keys"
    try:
        credentials = CredentialProvider().for_client(client)
    except PlatformError as error:
        refused(client, error)
        checks.append(Check("credentials", Status.CRITICAL, str(error)))
        return Validation(checks, [], list(client.account_ids))
    if isinstance(client.credentials, RoleCredentials):
        obtained = f"assumed {client.credentials.role_arn} with the external id"
    else:
        obtained = f"read {client.credentials.secret_name}: key {mask_key(credentials.access_key_id)}"
    checks.append(Check("credentials", Status.OK, f"{kind}: {obtained}"))
    try:
        identity = AccessKeys(credentials).identity()
        checks.append(Check("identity", Status.OK, f"{identity.arn} (account {identity.account_id})"))
    except PlatformError as error:
        refused(client, error)
        checks.append(Check("identity", Status.CRITICAL, str(error)))
        return Validation(checks, [], list(client.account_ids), credentials=credentials)
    try:
        with pipeline_logs(verbose):
            audit(ACCESS, "cost data read (visible accounts)", client_id=client.client_id, requester=REQUESTER)
            visible = visible_accounts(credentials, at)
            metrics.add_metric(name="CostExplorerRequests", unit=MetricUnit.Count, value=1)
    except PlatformError as error:
        refused(client, error)
        checks.append(Check("cost explorer", Status.CRITICAL, str(error)))
        return Validation(checks, [], list(client.account_ids), identity, credentials)
    readable = [a for a in client.account_ids if a in visible]
    unreadable = [a for a in client.account_ids if a not in visible]
    if not readable:
        status, detail = Status.CRITICAL, "no configured account is readable"
    elif unreadable:
        status, detail = Status.WARNING, f"not readable: {', '.join(unreadable)}"
    else:
        status, detail = Status.OK, f"all {len(readable)} configured account(s) readable"
    checks.append(Check("cost explorer", status, detail, {"readable": readable, "unreadable": unreadable}))
    return Validation(checks, readable, unreadable, identity, credentials)


@app.command("validate")
def validate_command(
    client_id: str = typer.Option(..., "--client-id", help="The client whose credentials to try."),
    fmt: OutputFormat = FormatOption,
    output: Path | None = OutputOption,
    verbose: bool = typer.Option(False, "--verbose", help="Show the audit log lines (on stderr)."),
    environment: str = EnvironmentOption,
) -> None:
    """Obtain the client's credentials and report for which accounts they read Cost Explorer."""
    writable(output)
    config = environment_config(environment)
    client = require_client(clients_table(config), client_id)
    at = now()
    result = validate(client, at, verbose=verbose)
    if fmt is OutputFormat.table:
        accounts = Table("account", "Cost Explorer", title=f"{client_id}: accounts")
        for account in client.account_ids:
            accounts.add_row(account, "[green]readable[/]" if account in result.readable else "[red]not readable[/]")
        console.print(accounts)
    meta = {"environment": config.environment, "client_id": client_id, "checked_at": at.isoformat()}
    report_checks(result.checks, title=f"credentials of {client_id}", fmt=fmt, output=output, meta=meta)


# -- rotation ------------------------------------------------------------------------------------


class RotationStopped(Exception):
    """A step failed; the message says which and in what state the keys are."""


@dataclass
class Rotation:
    """One rotation of a stored-keys client, step by step (see the module docstring)."""

    config: EnvironmentConfig
    client: Client
    at: datetime
    dry_run: bool = False

    def run(self) -> list[str]:
        if not isinstance(self.client.credentials, StoredKeyCredentials):
            raise TypeError(f"{self.client.client_id} has no stored keys")
        secret = self.client.credentials.secret_name
        done: list[str] = []
        before = validate(self.client, self.at)
        if worst(before.checks) is Status.CRITICAL or before.credentials is None or before.identity is None:
            problem = next(c.detail for c in before.checks if c.status is Status.CRITICAL)
            raise RotationStopped(f"read: the current key does not validate ({problem}); nothing changed")
        old, identity = before.credentials, before.identity
        old_keys = AccessKeys(old)
        try:
            keys = old_keys.list()
        except PlatformError as error:
            raise RotationStopped(f"read: cannot list the user's keys ({error}); nothing changed") from None
        if len(keys) >= 2:
            others = ", ".join(mask_key(k.access_key_id) for k in keys if k.access_key_id != old.access_key_id)
            raise RotationStopped(f"read: the user already has two keys (other: {others}); delete one first")
        done.append(f"current key {mask_key(old.access_key_id)} of {identity.arn} validates")
        if self.dry_run:
            done.append("dry run: would create a new key, validate it, store it in " + secret + ", delete the old one")
            return done

        try:
            created, new = old_keys.create()
        except PlatformError as error:
            raise RotationStopped(f"create: {error}; nothing changed, the old key is in use") from None
        done.append(f"created {mask_key(created.access_key_id)}")
        step = "validate"
        try:
            self._validate_new(new, identity, before.readable)
            done.append("new key validates: same identity, same readable accounts")
            step = "store"
            version = SecretsStore().put_keys(secret, new)
            done.append(f"stored in {secret} (version {version[:8]})")
        except (PlatformError, RotationStopped) as error:
            raise RotationStopped(f"{step}: {error}; {self._discard(old_keys, created.access_key_id)}") from None

        try:
            rotated = self.client.credentials.model_copy(update={"rotated_at": self.at})
            ClientsTable(self.config.clients_table).put(
                self.client.model_copy(update={"credentials": rotated, "updated_at": self.at}), must_exist=True
            )
            done.append("recorded rotated_at")
        except Exception as error:  # the key is rotated; the record's date is only informative
            done.append(f"WARNING: rotated_at not recorded ({type(error).__name__})")
        try:
            AccessKeys(new).delete(old.access_key_id)
        except PlatformError as error:
            raise RotationStopped(
                f"delete: {error}; the new key is stored and working, the old key {mask_key(old.access_key_id)} "
                "still exists: delete it as the client (aws iam delete-access-key)"
            ) from None
        done.append(f"deleted the old key {mask_key(old.access_key_id)}")
        return done

    def _validate_new(self, new: AwsCredentials, identity: Identity, readable: list[str]) -> None:
        problem = ""
        for attempt in range(VALIDATION_ATTEMPTS):
            if attempt:
                sleep(VALIDATION_PAUSE_SECONDS)
            try:
                seen = AccessKeys(new).identity()
                if seen.arn != identity.arn:
                    raise RotationStopped(f"the new key belongs to {seen.arn}, not {identity.arn}")
                missing = set(readable) - visible_accounts(new, self.at)
                if not missing:
                    return
                problem = f"Cost Explorer does not read {', '.join(sorted(missing))} with the new key"
            except PlatformError as error:
                problem = str(error)
        raise RotationStopped(problem)

    @staticmethod
    def _discard(keys: AccessKeys, access_key_id: str) -> str:
        try:
            keys.delete(access_key_id)
        except PlatformError as error:
            unused = mask_key(access_key_id)
            return (
                f"the old key is still stored and working; the unused new key {unused} could not be deleted ({error})"
            )
        return "the new key was deleted; the old key is still stored and working"


@app.command("rotate")
def rotate(
    client_id: str = typer.Option(..., "--client-id", help="The client whose keys to rotate."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check every precondition; change nothing."),
    environment: str = EnvironmentOption,
) -> None:
    """Rotate a client's stored access keys (roles: nothing to rotate, the role is validated)."""
    config = environment_config(environment)
    client = require_client(clients_table(config), client_id)
    at = now()
    if isinstance(client.credentials, RoleCredentials):
        console.print(f"{client_id} uses a role: its credentials are temporary, there is nothing to rotate.")
        result = validate(client, at)
        meta = {"environment": config.environment, "client_id": client_id, "checked_at": at.isoformat()}
        report_checks(result.checks, title=f"role of {client_id}", fmt=OutputFormat.table, output=None, meta=meta)
    try:
        steps = Rotation(config, client, at, dry_run=dry_run).run()
    except RotationStopped as stopped:
        if not dry_run:
            detail = f"stopped at {stopped}"
            audit_trail.record(config, "credentials.rotate", client_id, outcome="stopped", detail=detail)
        fail(f"rotation of {client_id} stopped at {stopped}", EXIT_FINDINGS)
    for step in steps:
        console.print(f"  {step}")
    warned = any(step.startswith("WARNING") for step in steps)
    console.print(f"{'Dry run of the rotation' if dry_run else 'Rotated'} {client_id}: done.")
    if not dry_run:
        audit_trail.record(config, "credentials.rotate", client_id, detail="; ".join(steps))
    raise typer.Exit(EXIT_FINDINGS if warned else 0)
