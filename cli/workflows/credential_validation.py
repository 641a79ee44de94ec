"""Whether a client's credentials work: the role or keys assumed, the accounts they see, the plan they
allow."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

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
from lambdas.models.settings import DEFAULT_CE_REQUEST_CAP
from lambdas.observability import ACCESS, UNAUTHORIZED, audit, metrics

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


REQUESTER = "cli"  # who the audit lines name: the operator's own AWS identity is in CloudTrail
