"""`credentials ...`: key ages, validation, rotation of clients' credentials and of the link signer's key.

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

The link signer's key (a system key: the platform's own IAM user whose key signs the reports'
links, docs/deploy.md) goes through the same steps with the operator's credentials, since the
key itself may only read reports: its age is IAM's CreateDate of the key its secret holds; a new
key is proven the way it is used (S3 serves a GET it presigned); and the old key, which signed
the links of the last 7 days' emails, is kept until those links expire (`--finish` then deletes
it), unless `--revoke-old` deletes it at once.
"""

from __future__ import annotations

import re
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import typer
from aws_lambda_powertools.metrics import MetricUnit
from rich.text import Text

from cli.commands.client import clients_table, cost_explorer_estimate, require_client
from cli.context import (
    EXIT_FINDINGS,
    EnvironmentOption,
    FormatOption,
    OutputFormat,
    OutputOption,
    Table,
    console,
    emit,
    environment_config,
    fail,
    findings,
    finish,
    mask_key,
    now,
    pipeline_logs,
    styled,
    tracked,
    writable,
)
from cli.probes.resources import bucket_name
from cli.reviews.checks import Check, Status, age_in_days, key_age_status, report_checks, worst
from cli.workflows import audit_trail
from infrastructure.config import EnvironmentConfig
from lambdas.dal.access_keys import AccessKeyInfo, AccessKeys, Identity
from lambdas.dal.archive import LINK_EXPIRY_SECONDS, ReportArchive
from lambdas.dal.aws import AwsCredentials, client_with, platform_error
from lambdas.dal.clients_table import ClientsTable
from lambdas.dal.cost_explorer import CostExplorer
from lambdas.dal.credentials import CredentialProvider
from lambdas.dal.secrets_store import SecretsStore
from lambdas.logic.planner import ExpectedCost
from lambdas.models.client import Client, RoleCredentials, StoredKeyCredentials, parse_client
from lambdas.models.exceptions import InvalidInputError, PlatformError, UnauthorizedError
from lambdas.models.settings import DEFAULT_CE_REQUEST_CAP
from lambdas.observability import ACCESS, UNAUTHORIZED, audit, metrics

app = typer.Typer(help="Credential ages, validation and rotation.", no_args_is_help=True)

WARN_DAYS, CRITICAL_DAYS = 60, 80
# System keys (the link signer's) are rotated every 60 days (runbook); the same lead times as client
# keys (rotated every 90 days: WARNING a month before, CRITICAL ten days before) give day 30 and day 50.
SYSTEM_ROTATION_DAYS = 60
SYSTEM_WARN_DAYS, SYSTEM_CRITICAL_DAYS = SYSTEM_ROTATION_DAYS - 30, SYSTEM_ROTATION_DAYS - 10
# A run that read the old signer key just before the new one was stored can still sign with it until
# it ends (the worker's timeout is 10 minutes): a retired key's links live this much past 7 days.
RETIRED_KEY_MARGIN = timedelta(minutes=15)
# The rotation proves a signer key on this object (client ids cannot start with "_": no client's prefix).
PROBE_KEY = "reports/_link-signer-probe"
PROBE_LINK_SECONDS, PROBE_TIMEOUT_SECONDS = 60, 10
REQUESTER = "cli"  # who the audit lines name: the operator's own AWS identity is in CloudTrail
VISIBILITY_WINDOW = timedelta(days=30)
# A new IAM key can take a few seconds to work everywhere: validation retries before giving up.
VALIDATION_ATTEMPTS, VALIDATION_PAUSE_SECONDS = 6, 5.0
sleep: Callable[[float], None] = time.sleep


# -- key age -------------------------------------------------------------------------------------


class AgeRow:
    """A key's age row as JSON: the fields in order, status by name, created as ISO 8601."""

    status: Status
    created: datetime | None

    def as_dict(self) -> dict[str, Any]:
        row = asdict(self)  # type: ignore[call-overload]
        return {**row, "status": self.status.name, "created": self.created.isoformat() if self.created else None}


@dataclass
class KeyAge(AgeRow):
    client_id: str
    secret_name: str
    status: Status
    detail: str
    access_key: str = ""  # masked
    created: datetime | None = None
    age_days: int | None = None


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
    """Age of every stored access key against the rotation limits (roles have no keys to age): the
    clients' (--warn-days, --critical-days) and the link signer's, a system key (WARNING from day 30,
    CRITICAL from day 50: the runbook rotates system keys every 60 days)."""
    if warn_days < 1 or critical_days <= warn_days:
        fail("--critical-days: must be greater than --warn-days, and both positive")
    writable(report, "--report")
    config = environment_config(environment)
    at = now()
    ages, roles = key_ages(clients_table(config), warn_days, critical_days, at)
    system = link_signer_ages(config, at)
    overall = max([age.status for age in ages] + [key.status for key in system], default=Status.OK)
    view = Table("client", "key", "created", "age (days)", "status", "detail", title=f"stored keys: {overall.name}")
    for age in ages:
        view.add_row(age.client_id, age.access_key, *_when(age.created, age.age_days), _status(age.status), age.detail)
    view.add_section()
    for key in system:
        name = f"({key.name}, {key.use})"
        view.add_row(name, key.access_key, *_when(key.created, key.age_days), _status(key.status), key.detail)
    document = {
        "environment": config.environment,
        "checked_at": at.isoformat(),
        "warn_days": warn_days,
        "critical_days": critical_days,
        "system_warn_days": SYSTEM_WARN_DAYS,
        "system_critical_days": SYSTEM_CRITICAL_DAYS,
        "status": overall.name,
        "role_clients": roles,
        "keys": [age.as_dict() for age in ages],
        "system_keys": [key.as_dict() for key in system],
    }
    emit(document, view, fmt, report)
    if fmt is OutputFormat.table:
        console.print(
            f"{len(ages)} stored key(s), {roles} role client(s) (temporary credentials, nothing to age); "
            f"system keys: WARNING from {SYSTEM_WARN_DAYS} days, CRITICAL from {SYSTEM_CRITICAL_DAYS}."
        )
    flagged = [f"{a.client_id} ({a.status.name})" for a in ages if a.status is not Status.OK]
    flagged += [f"{k.name} {k.use} key ({k.status.name})" for k in system if k.status is not Status.OK]
    finish(f"{len(flagged)} key(s) near or past their limit: {', '.join(flagged)}" if flagged else "")


def _when(created: datetime | None, age_days: int | None) -> tuple[str, str]:
    return (created.date().isoformat() if created else "-", str(age_days) if age_days is not None else "-")


def _status(status: Status) -> Text:
    return styled(status.name, status.style)


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


def validate(
    client: Client, at: datetime, *, verbose: bool = False, expected: ExpectedCost | None = None
) -> Validation:
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
        checks.append(wrong_external_id_check(client, client.credentials))
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
    if expected is not None:
        checks.append(plan_check(client, expected))
    return Validation(checks, readable, unreadable, identity, credentials)


def wrong_external_id_check(client: Client, role: RoleCredentials) -> Check:
    """The confused-deputy protection, proven: the client's role must refuse the platform when it
    comes with another external id. A role that accepts any id lets anyone who can have the platform
    assume it (another client naming this role) read this client's costs."""
    wrong = RoleCredentials(role_arn=role.role_arn, external_id=f"wrong-{secrets.token_urlsafe(18)}")
    try:
        CredentialProvider().for_client(client.model_copy(update={"credentials": wrong}))
    except UnauthorizedError:
        return Check("external id", Status.OK, "the role refuses a wrong external id")
    except PlatformError as error:
        return Check("external id", Status.WARNING, f"could not try a wrong external id ({error})")
    return Check(
        "external id",
        Status.CRITICAL,
        f"{role.role_arn} accepts a wrong external id: its trust policy must require sts:ExternalId "
        "(StringEquals, the client's id: docs/deploy.md), or any client naming this role reads these costs",
    )


def plan_check(client: Client, expected: ExpectedCost) -> Check:
    """Does the client's expected plan fit its budget (its own, else the environment's default cap)?"""
    budget = client.max_ce_requests or DEFAULT_CE_REQUEST_CAP
    facts = {"requests_per_report": expected.per_report, "usd_per_month": str(expected.usd_per_month), "budget": budget}
    if expected.per_report > budget:
        detail = f"{expected.describe()}: above its budget of {budget}, reports will leave sections out or not be sent"
        return Check("cost explorer plan", Status.WARNING, detail, facts)
    return Check("cost explorer plan", Status.OK, expected.describe(), facts)


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
    result = validate(client, at, verbose=verbose, expected=cost_explorer_estimate(config, client))
    if fmt is OutputFormat.table:
        accounts = Table("account", "Cost Explorer", title=f"{client_id}: accounts")
        for account in client.account_ids:
            accounts.add_row(
                account, styled("readable", "green") if account in result.readable else styled("not readable", "red")
            )
        console.print(accounts)
    meta = {"environment": config.environment, "client_id": client_id, "checked_at": at.isoformat()}
    report_checks(result.checks, title=f"credentials of {client_id}", fmt=fmt, output=output, meta=meta)


# -- how a rotation stops ------------------------------------------------------------------------


class RotationStopped(Exception):
    """A step failed; the message says which and in what state the keys are. `done`: the steps
    completed before it."""

    done: tuple[str, ...] = ()


class NotYet(RotationStopped):
    """A check of a new key that may pass once IAM has propagated it (seconds): retried."""


class LinkRefused(NotYet):
    """S3 did not serve a GET presigned with the key."""


# -- the link signer: the platform's own (system) key ---------------------------------------------


@dataclass
class SignerState:
    """The link signer as IAM and Secrets Manager see it: the key the secret holds (the one the
    worker signs with), since when, and every key of its IAM user."""

    stored: AwsCredentials
    stored_since: datetime
    keys: list[AccessKeyInfo]

    @property
    def current(self) -> AccessKeyInfo | None:
        return next((key for key in self.keys if key.access_key_id == self.stored.access_key_id), None)

    @property
    def retired(self) -> list[AccessKeyInfo]:
        """Keys of the user that no longer sign: they serve the links they signed until those expire."""
        return [key for key in self.keys if key.access_key_id != self.stored.access_key_id]

    @property
    def retired_links_until(self) -> datetime:
        return retired_links_until(self.stored_since)


def retired_links_until(stored_at: datetime) -> datetime:
    """When the last link a retired signer key signed expires: 7 days after the key replacing it was
    stored, plus the longest a run that had read the old key before can still sign with it."""
    return stored_at + timedelta(seconds=LINK_EXPIRY_SECONDS) + RETIRED_KEY_MARGIN


def signer_state(config: EnvironmentConfig) -> SignerState:
    """Read with the operator's credentials (the signer's own key may only read reports)."""
    stored = CredentialProvider().stored_keys(config.link_signer_secret)
    since = SecretsStore().current_since(config.link_signer_secret)
    return SignerState(stored, since, AccessKeys.of_user(config.link_signer_user).list())


@dataclass
class SystemKeyAge(AgeRow):
    """One key of a platform IAM user (today: the link signer's), classified like a client's key
    against the runbook's limits for system keys."""

    name: str
    user: str
    secret_name: str
    use: str  # signing | retired | unknown
    status: Status
    detail: str
    access_key: str = ""  # masked
    created: datetime | None = None
    age_days: int | None = None


def link_signer_ages(config: EnvironmentConfig, at: datetime) -> list[SystemKeyAge]:
    """The signing key's age against the system-key limits, and each retired key: fine while the
    links it signed live, a WARNING once they have expired and it is still there."""
    user, secret = config.link_signer_user, config.link_signer_secret

    def row(use: str, status: Status, detail: str, key: AccessKeyInfo | None = None, masked: str = "") -> SystemKeyAge:
        age = age_in_days(key.created, at) if key else None
        access_key = mask_key(key.access_key_id) if key else masked
        created = key.created if key else None
        return SystemKeyAge("link-signer", user, secret, use, status, detail, access_key, created, age)

    try:
        state = signer_state(config)
    except PlatformError as error:
        return [row("unknown", Status.WARNING, f"age unknown: {error}")]
    current = state.current
    if current is None:
        detail = "IAM does not list the stored key: links signed with it fail (credentials rotate --link-signer)"
        rows = [row("signing", Status.CRITICAL, detail, masked=mask_key(state.stored.access_key_id))]
    else:
        status = key_age_status(age_in_days(current.created, at), SYSTEM_WARN_DAYS, SYSTEM_CRITICAL_DAYS)
        advice = {Status.OK: "within limits", Status.WARNING: "rotate soon", Status.CRITICAL: "rotate now"}[status]
        rows = [row("signing", status, f"{advice} (system keys: every {SYSTEM_ROTATION_DAYS} days)", current)]
    until = state.retired_links_until
    for key in state.retired:
        if at < until:
            rows.append(row("retired", Status.OK, f"serves the links it signed until {_moment(until)}", key))
        else:
            detail = f"its links expired {_moment(until)}: delete it (credentials rotate --link-signer --finish)"
            rows.append(row("retired", Status.WARNING, detail, key))
    return rows


def link_signer_check(config: EnvironmentConfig, at: datetime) -> Check:
    """The key that signs the reports' links: a system key (WARNING from day 30, CRITICAL from day 50),
    and any retired key still kept after the links it signed expired."""
    keys = link_signer_ages(config, at)
    overall = max((key.status for key in keys), default=Status.OK)
    data = {"system_keys": [key.as_dict() for key in keys]}
    detail = "; ".join(f"{key.use} {key.access_key or '?'}: {key.detail}" for key in keys)
    return Check("link signer key", overall, detail or "no key found", data)


def probe_link(config: EnvironmentConfig, credentials: AwsCredentials) -> None:
    """Does S3 serve a GET presigned with these credentials? What a recipient's browser does with a
    report link: a probe object is written under reports/ with the platform's credentials, fetched
    over HTTP through a link the key signed, compared, and deleted. Raises RotationStopped saying what
    failed (never the link: it carries the signature)."""
    bucket = bucket_name(config)
    if bucket is None:
        raise RotationStopped(f"the assets bucket {config.assets_bucket} was not found")
    archive, token = ReportArchive(bucket), secrets.token_hex(16)
    try:
        archive.put(PROBE_KEY, token.encode(), "text/plain")
        try:
            link = archive.presigned_url(PROBE_KEY, credentials, expires_in=PROBE_LINK_SECONDS)
            served = _fetch(link)
        finally:
            archive.delete(PROBE_KEY)
    except Exception as error:
        failure = platform_error(error)
        if failure is None:
            raise
        raise RotationStopped(f"the probe object could not be written or removed ({failure})") from None
    if served != token.encode():
        raise LinkRefused("S3 served something other than the probe object through the key's link")


def _fetch(link: str) -> bytes:
    if urlsplit(link).scheme not in ("https", "http"):
        raise LinkRefused("the presigned link is not a web link")
    try:
        with urllib.request.urlopen(link, timeout=PROBE_TIMEOUT_SECONDS) as answer:  # noqa: S310 - an S3 link (https; http only to the loopback emulator)
            body: bytes = answer.read()
            return body
    except urllib.error.HTTPError as refusal:
        code = re.search(rb"<Code>(\w+)</Code>", refusal.read() or b"")
        named = f" {code.group(1).decode()}" if code else ""
        raise LinkRefused(f"S3 refused a GET signed with the key (HTTP {refusal.code}{named})") from None
    except (urllib.error.URLError, TimeoutError) as error:
        raise LinkRefused(f"S3 unreachable ({type(error).__name__})") from None


def _moment(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


# -- rotation ------------------------------------------------------------------------------------


@dataclass
class KeyRotation:
    """One rotation of a stored key: read, create, validate, store, then the old key. Until the new
    key is stored the old one stays untouched; a failure between create and store deletes the new
    key. Subclasses say how the current key is read, how a new key is proven, and what becomes of
    the old one."""

    config: EnvironmentConfig
    at: datetime
    dry_run: bool = False

    @property
    def secret(self) -> str:
        raise NotImplementedError

    def read(self, done: list[str]) -> tuple[AwsCredentials, AccessKeys]:
        """The key in use and the adapter that creates and deletes its user's keys."""
        raise NotImplementedError

    def dry_run_plan(self) -> str:
        raise NotImplementedError

    def validate_new(self, new: AwsCredentials) -> str:
        """Prove the new key (raise RotationStopped or PlatformError); say what was proven."""
        raise NotImplementedError

    def after_store(self, done: list[str]) -> None:
        """Bookkeeping once the new key is stored (nothing by default)."""

    def retire(self, old: AwsCredentials, new: AwsCredentials, keys: AccessKeys, done: list[str]) -> None:
        raise NotImplementedError

    def run(self) -> list[str]:
        done: list[str] = []
        try:
            return self._run(done)
        except RotationStopped as stopped:
            stopped.done = tuple(done)
            raise

    def _run(self, done: list[str]) -> list[str]:
        old, keys = self.read(done)
        if self.dry_run:
            done.append(f"dry run: would {self.dry_run_plan()}")
            return done
        try:
            created, new = keys.create()
        except PlatformError as error:
            raise RotationStopped(f"create: {error}; nothing changed, the old key is in use") from None
        done.append(f"created {mask_key(created.access_key_id)}")
        step = "validate"
        try:
            done.append(self._proven(new))
            step = "store"
            version = SecretsStore().put_keys(self.secret, new)
            done.append(f"stored in {self.secret} (version {version[:8]})")
        except (PlatformError, RotationStopped) as error:
            raise RotationStopped(f"{step}: {error}; {self._discard(keys, created.access_key_id)}") from None
        self.after_store(done)
        self.retire(old, new, keys, done)
        return done

    def _proven(self, new: AwsCredentials) -> str:
        """A new IAM key can take a few seconds to work everywhere: validation retries before giving up."""
        problem = ""
        for attempt in range(VALIDATION_ATTEMPTS):
            if attempt:
                sleep(VALIDATION_PAUSE_SECONDS)
            try:
                return self.validate_new(new)
            except PlatformError as error:
                problem = str(error)
            except NotYet as not_yet:
                problem = str(not_yet)
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


@dataclass(kw_only=True)
class Rotation(KeyRotation):
    """A stored-keys client's rotation (see the module docstring): the client's key creates, proves
    (same identity, same readable accounts) and deletes its own user's keys."""

    client: Client
    _identity: Identity | None = None
    _readable: list[str] | None = None

    @property
    def stored_keys(self) -> StoredKeyCredentials:
        if not isinstance(self.client.credentials, StoredKeyCredentials):
            raise TypeError(f"{self.client.client_id} has no stored keys")
        return self.client.credentials

    @property
    def secret(self) -> str:
        return self.stored_keys.secret_name

    def read(self, done: list[str]) -> tuple[AwsCredentials, AccessKeys]:
        if not isinstance(self.client.credentials, StoredKeyCredentials):
            raise TypeError(f"{self.client.client_id} has no stored keys")
        before = validate(self.client, self.at)
        if worst(before.checks) is Status.CRITICAL or before.credentials is None or before.identity is None:
            problem = next(c.detail for c in before.checks if c.status is Status.CRITICAL)
            raise RotationStopped(f"read: the current key does not validate ({problem}); nothing changed")
        old, self._identity, self._readable = before.credentials, before.identity, before.readable
        old_keys = AccessKeys(old)
        try:
            keys = old_keys.list()
        except PlatformError as error:
            raise RotationStopped(f"read: cannot list the user's keys ({error}); nothing changed") from None
        if len(keys) >= 2:
            others = ", ".join(mask_key(k.access_key_id) for k in keys if k.access_key_id != old.access_key_id)
            raise RotationStopped(f"read: the user already has two keys (other: {others}); delete one first")
        done.append(f"current key {mask_key(old.access_key_id)} of {self._identity.arn} validates")
        return old, old_keys

    def dry_run_plan(self) -> str:
        return f"create a new key, validate it, store it in {self.secret}, delete the old one"

    def validate_new(self, new: AwsCredentials) -> str:
        if self._identity is None or self._readable is None:
            raise RuntimeError("read() comes first")
        seen = AccessKeys(new).identity()
        if seen.arn != self._identity.arn:
            raise RotationStopped(f"the new key belongs to {seen.arn}, not {self._identity.arn}")
        missing = set(self._readable) - visible_accounts(new, self.at)
        if missing:
            raise NotYet(f"Cost Explorer does not read {', '.join(sorted(missing))} with the new key")
        return "new key validates: same identity, same readable accounts"

    def after_store(self, done: list[str]) -> None:
        try:
            rotated = self.stored_keys.model_copy(update={"rotated_at": self.at})
            ClientsTable(self.config.clients_table).put(
                self.client.model_copy(update={"credentials": rotated, "updated_at": self.at}), must_exist=True
            )
            done.append("recorded rotated_at")
        except Exception as error:  # the key is rotated; the record's date is only informative
            done.append(f"WARNING: rotated_at not recorded ({type(error).__name__})")

    def retire(self, old: AwsCredentials, new: AwsCredentials, keys: AccessKeys, done: list[str]) -> None:
        try:
            AccessKeys(new).delete(old.access_key_id)
        except PlatformError as error:
            raise RotationStopped(
                f"delete: {error}; the new key is stored and working, the old key {mask_key(old.access_key_id)} "
                "still exists: delete it as the client (aws iam delete-access-key)"
            ) from None
        done.append(f"deleted the old key {mask_key(old.access_key_id)}")


@dataclass
class SignerRotation(KeyRotation):
    """The link signer's rotation. Its key may only read reports, so the operator's credentials create
    and delete its user's keys, and a new key is proven the way it is used: S3 must serve a GET it
    presigned. The old key signed the links of the last 7 days' emails: it is kept until those expire
    (`finish` deletes it then), unless `revoke_old` (a compromised key) deletes it at once."""

    revoke_old: bool = False

    @property
    def user(self) -> str:
        return self.config.link_signer_user

    @property
    def secret(self) -> str:
        return self.config.link_signer_secret

    def read(self, done: list[str]) -> tuple[AwsCredentials, AccessKeys]:
        try:
            state = signer_state(self.config)
        except PlatformError as error:
            raise RotationStopped(f"read: {error}; nothing changed") from None
        keys, old, masked = AccessKeys.of_user(self.user), state.stored, mask_key(state.stored.access_key_id)
        # A signer key that does not work is what a rotation repairs: a warning, not a stop.
        if state.current is None:
            done.append(f"WARNING: IAM does not list the stored key {masked}: the links signed with it fail; "
                        "the rotation replaces it")  # fmt: skip
        else:
            try:
                probe_link(self.config, old)
                done.append(f"current key {masked} of {self.user} works: S3 served a link it signed")
            except LinkRefused as refused:
                done.append(f"WARNING: the current key {masked} does not work ({refused}): the rotation replaces it")
            except RotationStopped as stopped:
                raise RotationStopped(f"read: {stopped}; nothing changed") from None
        if state.retired:
            self._clear_retired(state, keys, done)
        return old, keys

    def _clear_retired(self, state: SignerState, keys: AccessKeys, done: list[str]) -> None:
        """IAM allows two keys: a retired one must go before a new one is made, and only once its links
        have expired (or at once with --revoke-old)."""
        until = state.retired_links_until
        for key in state.retired:
            masked = mask_key(key.access_key_id)
            if not self.revoke_old and self.at < until:
                raise RotationStopped(
                    f"read: the previous rotation's key {masked} still serves the links it signed until "
                    f"{_moment(until)}; rotate after that, or with --revoke-old if a key is compromised "
                    "(its links stop working); nothing changed"
                )
            why = "the links it signed stop working (--revoke-old)" if self.at < until else "its links have expired"
            if self.dry_run:
                done.append(f"dry run: would delete the retired key {masked}: {why}")
                continue
            try:
                keys.delete(key.access_key_id)
            except PlatformError as error:
                raise RotationStopped(f"read: the retired key {masked} could not be deleted ({error})") from None
            done.append(f"deleted the retired key {masked}: {why}")

    def dry_run_plan(self) -> str:
        fate = "delete the old one" if self.revoke_old else "keep the old one until the links it signed expire"
        return f"create a new key, prove it on a presigned GET, store it in {self.secret}, {fate}"

    def validate_new(self, new: AwsCredentials) -> str:
        seen = AccessKeys(new).identity()
        if not seen.arn.endswith(f":user/{self.user}"):
            raise RotationStopped(f"the new key belongs to {seen.arn}, not to the user {self.user}")
        probe_link(self.config, new)
        return f"new key validates: it is {self.user}'s, and S3 served a link it signed"

    def retire(self, old: AwsCredentials, new: AwsCredentials, keys: AccessKeys, done: list[str]) -> None:
        masked = mask_key(old.access_key_id)
        try:
            listed = keys.current(old.access_key_id) is not None
            if listed and self.revoke_old:
                keys.delete(old.access_key_id)
        except PlatformError as error:
            raise RotationStopped(
                f"delete: {error}; the new key is stored and working, the old key {masked} still exists: delete it "
                f"(aws iam delete-access-key --user-name {self.user} --access-key-id ...)"
            ) from None
        if not listed:
            done.append(f"the old key {masked} was no longer in IAM: nothing to keep")
        elif self.revoke_old:
            done.append(f"deleted the old key {masked}: the links it signed stop working (--revoke-old)")
        else:
            try:  # the clock `check-age` and `--finish` go by: when the new key was stored
                until = retired_links_until(SecretsStore().current_since(self.secret))
            except PlatformError:
                until = retired_links_until(self.at)
            done.append(
                f"kept the old key {masked} until {_moment(until)}, so the links it signed keep working until they "
                "expire; then run `credentials rotate --link-signer --finish` to delete it"
            )


def finish_signer_rotation(config: EnvironmentConfig, at: datetime, *, dry_run: bool = False) -> list[str]:
    """Delete the link signer's retired key once the links it signed have expired."""
    try:
        state = signer_state(config)
    except PlatformError as error:
        raise RotationStopped(f"read: {error}; nothing changed") from None
    if not state.retired:
        return [f"nothing to finish: {config.link_signer_user} has only the key in use"]
    until = state.retired_links_until
    if at < until:
        masked = ", ".join(mask_key(key.access_key_id) for key in state.retired)
        raise RotationStopped(
            f"finish: the retired key {masked} serves the links it signed until {_moment(until)}; "
            "finish after that; nothing changed"
        )
    done = []
    keys = AccessKeys.of_user(config.link_signer_user)
    for key in state.retired:
        masked = mask_key(key.access_key_id)
        if dry_run:
            done.append(f"dry run: would delete the retired key {masked} (its links expired {_moment(until)})")
            continue
        try:
            keys.delete(key.access_key_id)
        except PlatformError as error:
            raise RotationStopped(f"delete: the retired key {masked} could not be deleted ({error})") from None
        done.append(f"deleted the retired key {masked} (its links expired {_moment(until)})")
    return done


@app.command("rotate")
def rotate(
    client_id: str | None = typer.Option(None, "--client-id", help="The client whose keys to rotate."),
    link_signer: bool = typer.Option(
        False, "--link-signer", help="Rotate the link signer's key (the system key that signs report links)."
    ),
    finish: bool = typer.Option(
        False, "--finish", help="With --link-signer: delete the retired key once the links it signed have expired."
    ),
    revoke_old: bool = typer.Option(
        False, "--revoke-old", help="With --link-signer: delete the old key at once (compromised): its links stop."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check every precondition; change nothing."),
    environment: str = EnvironmentOption,
) -> None:
    """Rotate a client's stored access keys (roles: nothing to rotate, the role is validated), or the
    link signer's key."""
    if (client_id is None) == (not link_signer):
        fail("--client-id or --link-signer: give exactly one")
    if not link_signer and (finish or revoke_old):
        fail(f"{'--finish' if finish else '--revoke-old'}: only with --link-signer")
    if finish and revoke_old:
        fail("--finish and --revoke-old: give one")
    config = environment_config(environment)
    at = now()
    if client_id is None:  # --link-signer
        subject = config.link_signer_user
        work: Callable[[], list[str]] = (
            (lambda: finish_signer_rotation(config, at, dry_run=dry_run))
            if finish
            else SignerRotation(config, at, dry_run=dry_run, revoke_old=revoke_old).run
        )
    else:
        client = require_client(clients_table(config), client_id)
        subject = client_id
        if isinstance(client.credentials, RoleCredentials):
            console.print(f"{client_id} uses a role: its credentials are temporary, there is nothing to rotate.")
            result = validate(client, at)
            meta = {"environment": config.environment, "client_id": client_id, "checked_at": at.isoformat()}
            report_checks(result.checks, title=f"role of {client_id}", fmt=OutputFormat.table, output=None, meta=meta)
        work = Rotation(config, at, dry_run=dry_run, client=client).run
    try:
        steps = work()
    except RotationStopped as stopped:
        for step in stopped.done:  # what had already happened: the state the keys are in
            console.print(f"  {step}")
        if not dry_run:
            detail = "; ".join([*stopped.done, f"stopped at {stopped}"])
            audit_trail.record(config, "credentials.rotate", subject, outcome="stopped", detail=detail)
        fail(f"rotation of {subject} stopped at {stopped}", EXIT_FINDINGS)
    for step in steps:
        console.print(f"  {step}")
    done = "Finished the rotation of" if finish else "Rotated"
    console.print(f"{'Dry run of the rotation' if dry_run else done} {subject}: done.")
    if not dry_run:
        audit_trail.record(config, "credentials.rotate", subject, detail="; ".join(steps))
    warnings = [step for step in steps if step.startswith("WARNING")]
    if warnings:  # `finish` is this command's --finish flag here
        findings(f"{subject}: {'; '.join(warnings)}")
