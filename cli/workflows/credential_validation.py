"""Whether a client's credentials work: the role or keys assumed, the accounts they see, the plan they
allow; and for a client that names a Data Export, whether the export can be read.

Cost Explorer is asked (one paid request) only when the client's runs read it: its `cost_source` is
`cost_explorer`, or its forecast is Cost Explorer's. A `data_exports` client whose forecast follows
the daily trend never calls Cost Explorer, so its role may rightly lack the permission: asking would
turn a correct role into a false CRITICAL. Its role is still assumed and proven to refuse a wrong
external id (the export is read through it), and the export is probed instead: its partitions
listed and its newest manifest read, never its data (`probe_export`)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from cli.context import pipeline_logs
from cli.reviews.checks import Check, Status
from cli.reviews.key_ages import mask_key
from lambdas.dal.access_keys import AccessKeys, Identity
from lambdas.dal.aws import AwsCredentials, client_with
from lambdas.dal.cost_explorer import CostExplorer
from lambdas.dal.credentials import CredentialProvider
from lambdas.logic.planner import ExpectedCost
from lambdas.models.client import Client, RoleCredentials
from lambdas.models.exceptions import PlatformError, UnauthorizedError
from lambdas.models.export_source import replicated_export_problem
from lambdas.models.settings import DEFAULT_CE_REQUEST_CAP
from lambdas.observability import ACCESS, UNAUTHORIZED, audit, metrics
from lambdas.orchestration.dependencies import export_s3
from lambdas.orchestration.export_costs import ExportProbe, probe_export
from lambdas.orchestration.export_reader import export_location

VISIBILITY_WINDOW = timedelta(days=30)


# A new IAM key can take a few seconds to work everywhere: validation retries before giving up.
VALIDATION_ATTEMPTS, VALIDATION_PAUSE_SECONDS = 6, 5.0


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


def reads_cost_explorer(client: Client) -> bool:
    """Do the client's runs call Cost Explorer (its costs, or its forecast)?"""
    return client.cost_source == "cost_explorer" or client.forecast_source == "cost_explorer"


def validate(
    client: Client,
    at: datetime,
    *,
    verbose: bool = False,
    expected: ExpectedCost | None = None,
    platform_bucket: str | None = None,
) -> Validation:
    """Can the platform obtain this client's credentials, and read Cost Explorer for which of
    its accounts (when its runs read it)? Its Data Export, when it names one. The reads are audited
    (`ACCESS`, shown on stderr with `verbose`), as the worker's. `platform_bucket`: the assets
    bucket's deployed name, against which a replicated export is checked before it is probed."""
    result = _validate_credentials(client, at, verbose=verbose, expected=expected)
    if client.data_export is not None:
        result.checks.append(export_check(client, result.credentials, verbose=verbose, platform_bucket=platform_bucket))
    return result


def _validate_credentials(client: Client, at: datetime, *, verbose: bool, expected: ExpectedCost | None) -> Validation:
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
    if not reads_cost_explorer(client):
        detail = "not read: the costs come from the Data Export and the forecast from the daily trend"
        checks.append(Check("cost explorer", Status.OK, detail, {"read": False}))
        return Validation(checks, [], [], identity, credentials)
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
    if expected is not None and client.cost_source == "cost_explorer":  # else its costs are not planned requests
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


REQUESTER = "cli"  # who the audit lines name: the operator's own AWS identity is in CloudTrail


# -- the Data Export --------------------------------------------------------------------------------


def export_reader(client: Client, credentials: AwsCredentials | None) -> tuple[Any | None, str]:
    """The S3 client that reads the client's export as the worker does, and who it reads as: the
    client's credentials (`client_role`), or the platform's own for a copy in its bucket
    (`replicated`). None when the client's credentials could not be obtained."""
    export = client.data_export
    if export is not None and export.access == "replicated":
        return export_s3(None), "the platform's own credentials (access replicated)"
    who = (
        f"the role {client.credentials.role_arn}"
        if isinstance(client.credentials, RoleCredentials)
        else f"the keys in {client.credentials.secret_name}"
    )
    return (export_s3(credentials) if credentials is not None else None), who


def export_check(
    client: Client, credentials: AwsCredentials | None, *, verbose: bool = False, platform_bucket: str | None = None
) -> Check:
    """The client's export, probed with the credentials the worker would read it with: CRITICAL when
    it cannot be read, has no billing period, or is not what the record says; a newest period still
    being written (no manifest yet) is a note, the run reads the periods that are complete."""
    s3, who = export_reader(client, credentials)
    where = export_location(client)
    export = client.data_export
    problem = (
        replicated_export_problem(client.client_id, export, platform_bucket) if export and platform_bucket else None
    )
    if problem:  # another client's copy is never listed, as the run never reads it
        return Check("data export", Status.CRITICAL, f"{': '.join(problem)}; not probed")
    if s3 is None:
        return Check("data export", Status.CRITICAL, f"{where}: not checked, the client's credentials failed (above)")
    try:
        with pipeline_logs(verbose):
            audit(ACCESS, "data export probed (listing, manifest)", client_id=client.client_id, requester=REQUESTER)
            probe = probe_export(client, s3=s3)
    except PlatformError as error:
        refused(client, error)
        return Check("data export", Status.CRITICAL, f"data_export: {where} read as {who}: {error}")
    if probe.refusal is not None:
        refused(client, probe.refusal)
    return probe_check(client, probe, who)


def probe_check(client: Client, probe: ExportProbe, who: str) -> Check:
    """What a probe found, as one check: its findings, else the partitions and the newest one's state."""
    export = client.data_export
    facts: dict[str, Any] = {
        "location": export_location(client),
        "format": export.format if export else None,
        "access": export.access if export else None,
        "read_as": who,
        "partitions": probe.partitions,
        "newest": probe.newest,
        "newest_has_manifest": probe.newest_has_manifest,
        "findings": probe.findings,
    }
    if probe.findings:
        detail = "; ".join(probe.findings) + f" (read as {who})"
        if client.cost_source != "data_exports":
            detail += "; the client's cost_source is still cost_explorer"
        return Check("data export", Status.CRITICAL, detail, facts)
    span = probe.partitions[0] if len(probe.partitions) == 1 else f"{probe.partitions[0]} to {probe.newest}"
    detail = f"{facts['location']}: {len(probe.partitions)} billing period(s), {span}, read as {who}"
    if not probe.newest_has_manifest:
        detail += (
            f"; note: BILLING_PERIOD={probe.newest} is still being written (no manifest yet), "
            "a run reads it once its manifest is there"
        )
    return Check("data export", Status.OK, detail, facts)
