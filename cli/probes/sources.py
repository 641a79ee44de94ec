"""What the operations reports read from AWS besides the tables (cli/readers has those): function
configuration, CloudWatch metrics and logs, the bucket's objects and size, IAM statements.

Each reader answers what is there, or says plainly that it is not (`Reading.available` and
`reason`): a metric AWS has no data for, a log group the local environment does not have. The
reports then show the gap instead of inventing a figure.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

from cli.aws_errors import missing, problem
from cli.context import tracked
from cli.probes.resources import bucket_name, metric_points
from cli.reviews.cost_advice import StoredObject
from infrastructure.config import LOCAL_FUNCTION_MEMORY_MB, LOCAL_FUNCTION_TIMEOUT_S, EnvironmentConfig
from lambdas.dal.aws import platform_client

# -- functions -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunctionLimits:
    name: str
    memory_mb: int
    timeout_s: int
    source: str
    max_concurrency: int | None = None  # the SQS event source's maximum concurrency (worker)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def function_limits(config: EnvironmentConfig, name: str) -> FunctionLimits | None:
    """Memory and timeout as Lambda has them configured. The local environment runs the handlers
    in process with the emulator's context (emulator/lambda_runtime.py): its limits stand in there."""
    client = platform_client("lambda")
    try:
        answer = client.get_function_configuration(FunctionName=name)
    except Exception as error:
        if not config.deployed_by_stack:
            return FunctionLimits(
                name, LOCAL_FUNCTION_MEMORY_MB, LOCAL_FUNCTION_TIMEOUT_S, "emulator LocalContext (local)"
            )
        if missing(error):
            return None
        raise
    concurrency = None
    try:
        for mapping in client.list_event_source_mappings(FunctionName=name).get("EventSourceMappings", []):
            scaling = mapping.get("ScalingConfig") or {}
            concurrency = scaling.get("MaximumConcurrency", concurrency)
    except Exception:  # noqa: S110 - informational; the limits stand without it
        pass
    return FunctionLimits(
        name, int(answer["MemorySize"]), int(answer["Timeout"]), "Lambda GetFunctionConfiguration", concurrency
    )


# -- CloudWatch ----------------------------------------------------------------------------------


@dataclass
class Reading:
    """A figure from AWS, or why there is none."""

    available: bool
    value: Any = None
    reason: str = ""
    source: str = ""

    def as_dict(self) -> dict[str, Any]:
        if self.available:
            return {"available": True, "value": self.value, "source": self.source}
        return {"available": False, "reason": self.reason, "source": self.source}

    def counted(self) -> dict[str, Any]:
        """`as_dict` with a list value given as its length (log events: how many, not which)."""
        return self.as_dict() | ({"value": len(self.value)} if self.available else {})


def metric_total(
    namespace: str, metric: str, dimensions: dict[str, str], start: datetime, end: datetime, statistic: str = "Sum"
) -> Reading:
    """Sum (or Maximum) of a metric over [start, end); not available when CloudWatch has no
    data point at all (a metric never published is not a zero)."""
    source = f"CloudWatch {namespace} {metric}"
    try:
        points = metric_points(namespace, metric, dimensions, start, end, statistic)
    except Exception as error:
        return Reading(False, reason=problem(error), source=source)
    if not points:
        return Reading(False, reason="no data points", source=source)
    values = [value for _, value in points]
    total = max(values) if statistic == "Maximum" else sum(values, Decimal(0))
    # CloudWatch answers in floats: a whole number stays whole (3, not 3.0).
    return Reading(True, Decimal(int(total)) if total == total.to_integral_value() else total, source=source)


# -- logs ----------------------------------------------------------------------------------------

# Where log readings come from. CloudWatch Logs accepts events up to 14 days old: older seeded days
# (emulator/history.py) have no log events.
LOGS_SOURCE = "CloudWatch Logs (filter_log_events)"


def log_events(log_group: str, marker: str, start: datetime, end: datetime) -> Reading:
    """The worker's structured log lines carrying `marker` (ACCESS, UNAUTHORIZED) in the period,
    each parsed from Powertools' JSON; not available where the log group does not exist."""
    logs = platform_client("logs")
    source = f"{LOGS_SOURCE} {log_group} {marker}"
    events: list[dict[str, Any]] = []
    try:
        paginator = logs.get_paginator("filter_log_events")
        for page in paginator.paginate(
            logGroupName=log_group,
            filterPattern=marker,
            startTime=int(start.timestamp() * 1000),
            endTime=int(end.timestamp() * 1000) - 1,
        ):
            for event in page.get("events", []):
                parsed = _parse_log_line(event.get("message", ""))
                if parsed.get("audit") != marker and not str(parsed.get("message", "")).startswith(marker):
                    continue  # the term appeared elsewhere in the line (an error text), not as the marker
                parsed["timestamp"] = datetime.fromtimestamp(event["timestamp"] / 1000, UTC)
                events.append(parsed)
    except Exception as error:
        reason = f"log group {log_group} does not exist" if missing(error) else problem(error)
        return Reading(False, reason=reason, source=source)
    return Reading(True, events, source=source)


def _parse_log_line(message: str) -> dict[str, Any]:
    try:
        parsed = json.loads(message)
    except ValueError:
        return {"message": message.strip()}
    return parsed if isinstance(parsed, dict) else {"message": message.strip()}


# -- storage -------------------------------------------------------------------------------------


@dataclass
class BucketListing:
    bucket: str | None
    objects: list[StoredObject] = field(default_factory=list)
    reason: str = ""

    @property
    def bytes(self) -> int:
        return sum(o.size for o in self.objects)


def bucket_objects(config: EnvironmentConfig, prefix: str = "") -> BucketListing:
    """Every current object under `prefix` of the assets bucket, with size and storage class."""
    try:
        name = bucket_name(config)
    except Exception as error:
        return BucketListing(None, reason=problem(error))
    if name is None:
        return BucketListing(None, reason=f"bucket {config.assets_bucket} missing")
    listing = BucketListing(name)
    pages = platform_client("s3").get_paginator("list_objects_v2").paginate(Bucket=name, Prefix=prefix)
    for page in tracked(pages, f"Listing s3://{name}/{prefix}"):
        for entry in page.get("Contents", []):
            listing.objects.append(
                StoredObject(
                    unquote(entry["Key"]),
                    int(entry["Size"]),
                    entry.get("StorageClass", "STANDARD"),
                    entry["LastModified"].astimezone(UTC),
                )
            )
    return listing


def bucket_size(config: EnvironmentConfig, at: datetime) -> Reading:
    """The bucket's size from CloudWatch's daily S3 storage metric, every storage class summed;
    where there is no such metric (a new bucket, the emulator), from listing the bucket."""
    name = bucket_name(config)
    if name is None:
        return Reading(False, reason=f"bucket {config.assets_bucket} missing", source="S3")
    total, found = Decimal(0), False
    for storage_type in ("StandardStorage", "StandardIAStorage", "GlacierInstantRetrievalStorage"):
        try:
            points = metric_points(
                "AWS/S3",
                "BucketSizeBytes",
                {"BucketName": name, "StorageType": storage_type},
                at - timedelta(days=3),
                at,
                "Average",
            )
        except Exception:  # no readable metric: the bucket listing below answers instead
            points = []
        if points:
            total += points[-1][1]
            found = True
    if found:
        return Reading(True, int(total), source="CloudWatch AWS/S3 BucketSizeBytes")
    listing = bucket_objects(config)
    return Reading(True, listing.bytes, source=f"S3 ListObjectsV2 ({len(listing.objects)} objects)")


# -- IAM -----------------------------------------------------------------------------------------


def role_policies(role_name: str) -> Reading:
    """A role's inline and attached managed policy statements."""
    iam = platform_client("iam")
    source = f"IAM role {role_name}"
    try:
        iam.get_role(RoleName=role_name)
    except Exception as error:
        absent = missing(error) or problem(error) == "NoSuchEntity"
        return Reading(False, reason="role does not exist" if absent else problem(error), source=source)
    policies: list[dict[str, Any]] = []
    for page in iam.get_paginator("list_role_policies").paginate(RoleName=role_name):
        for policy_name in page.get("PolicyNames", []):
            document = iam.get_role_policy(RoleName=role_name, PolicyName=policy_name)["PolicyDocument"]
            policies.append({"policy": policy_name, "type": "inline", "statements": _statements(document)})
    for page in iam.get_paginator("list_attached_role_policies").paginate(RoleName=role_name):
        for attached in page.get("AttachedPolicies", []):
            arn = attached["PolicyArn"]
            version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
            policies.append({"policy": arn, "type": "managed", "statements": _statements(document)})
    return Reading(True, policies, source=source)


def _statements(document: Any) -> list[dict[str, Any]]:
    if isinstance(document, str):
        document = json.loads(unquote(document))
    statements = document.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]
