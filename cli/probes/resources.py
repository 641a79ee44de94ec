"""What the CLI reads of a deployed environment: its resources, alarms, queues and metrics.

Each probe answers a `Check` (or a number) and never raises for a missing or refused resource:
a health check must report every problem it finds, not stop at the first.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from cli.aws_errors import missing, problem
from cli.reviews.checks import Check, Status
from infrastructure.config import TABLES, EnvironmentConfig, TableSpec
from lambdas.dal.aws import platform_client
from lambdas.dal.dynamo import PlatformTable

# -- names ---------------------------------------------------------------------------------------


def topic_arn(config: EnvironmentConfig) -> str | None:
    for page in platform_client("sns").get_paginator("list_topics").paginate():
        for topic in page.get("Topics", []):
            if topic["TopicArn"].rsplit(":", 1)[-1] == config.alerts_topic:
                return str(topic["TopicArn"])
    return None


def bucket_name(config: EnvironmentConfig, base: str | None = None) -> str | None:
    """A bucket's real name (the assets bucket's unless `base` names another, e.g. the audit bucket):
    the base name, or the base with a unique suffix."""
    base = base or config.assets_bucket
    s3 = platform_client("s3")
    try:
        s3.head_bucket(Bucket=base)
        return base
    except ClientError as error:
        if not missing(error):
            raise
    buckets = s3.list_buckets().get("Buckets", [])
    matches = sorted(b["Name"] for b in buckets if config.bucket_matches(b["Name"], base))
    return matches[0] if matches else None


def queue_url(name: str) -> str | None:
    try:
        return str(platform_client("sqs").get_queue_url(QueueName=name)["QueueUrl"])
    except ClientError as error:
        if missing(error):
            return None
        raise


def queue_depth(url: str) -> tuple[int, int]:
    """(messages waiting, messages in flight)."""
    attributes = platform_client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def alarms(topic: str) -> list[dict[str, Any]]:
    """Every alarm that notifies the environment's alert topic: the stack's alarms, whatever
    their names."""
    found: list[dict[str, Any]] = []
    for page in platform_client("cloudwatch").get_paginator("describe_alarms").paginate(ActionPrefix=topic):
        found.extend(page.get("MetricAlarms", []))
        found.extend(page.get("CompositeAlarms", []))
    return [alarm for alarm in found if topic in alarm.get("AlarmActions", [])]


def metric_points(
    namespace: str,
    metric: str,
    dimensions: dict[str, str],
    start: datetime,
    end: datetime,
    statistic: str,
    period: int = 86400,
) -> list[tuple[datetime, Decimal]]:
    """A metric's data points in [start, end), oldest first."""
    answer = platform_client("cloudwatch").get_metric_statistics(
        Namespace=namespace,
        MetricName=metric,
        Dimensions=[{"Name": key, "Value": value} for key, value in dimensions.items()],
        StartTime=start,
        EndTime=end,
        Period=period,
        Statistics=[statistic],
    )
    return sorted(
        (point["Timestamp"].astimezone(UTC), Decimal(str(point[statistic]))) for point in answer.get("Datapoints", [])
    )


def metric_sum(namespace: str, metric: str, dimensions: dict[str, str], start: datetime, end: datetime) -> int:
    """A count over a short recent span (minutes): summed per minute."""
    return int(sum((value for _, value in metric_points(namespace, metric, dimensions, start, end, "Sum", 60)), 0))


# -- resource checks (deploy validate, health checks, recovery) ----------------------------------


def table_check(name: str, spec: TableSpec | None = None) -> Check:
    try:
        table = PlatformTable(name).describe()
    except Exception as error:
        return Check(f"table {name}", Status.CRITICAL, "missing" if missing(error) else problem(error))
    status = table.get("TableStatus", "?")
    if status != "ACTIVE":
        return Check(f"table {name}", Status.WARNING if status == "UPDATING" else Status.CRITICAL, status)
    if spec is not None:
        keys = {key["KeyType"]: key["AttributeName"] for key in table.get("KeySchema", [])}
        expected = {"HASH": spec.partition_key, **({"RANGE": spec.sort_key} if spec.sort_key else {})}
        if keys != expected:
            return Check(f"table {name}", Status.CRITICAL, f"keys {keys} differ from the stack's {expected}")
    return Check(f"table {name}", Status.OK, "ACTIVE")


def recovery_check(name: str) -> Check:
    """Point-in-time recovery on the client table: the runbook's one-hour RPO rests on it."""
    try:
        answer = PlatformTable(name).continuous_backups()
    except Exception as error:
        return Check(f"point-in-time recovery {name}", Status.CRITICAL, problem(error))
    description = answer.get("PointInTimeRecoveryDescription", {})
    enabled = description.get("PointInTimeRecoveryStatus") == "ENABLED"
    return Check(
        f"point-in-time recovery {name}",
        Status.OK if enabled else Status.WARNING,
        "enabled" if enabled else "disabled: the 1-hour RPO for client configuration is not met",
    )


def bucket_check(config: EnvironmentConfig) -> Check:
    try:
        name = bucket_name(config)
        if name is None:
            return Check(f"bucket {config.assets_bucket}", Status.CRITICAL, "missing")
        s3 = platform_client("s3")
        versioning = s3.get_bucket_versioning(Bucket=name).get("Status")
        block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    except Exception as error:
        return Check(f"bucket {config.assets_bucket}", Status.CRITICAL, problem(error))
    if not all(block.values()):
        return Check(f"bucket {name}", Status.CRITICAL, "public access is not blocked")
    if versioning != "Enabled":
        return Check(f"bucket {name}", Status.WARNING, "versioning is off: overwritten reports cannot be recovered")
    return Check(f"bucket {name}", Status.OK, "versioned, public access blocked")


def queue_checks(config: EnvironmentConfig) -> list[Check]:
    """Each queue (the jobs queue, the export worker's) exists and redrives to its dead-letter queue."""
    return [
        *_queue_pair_checks(config.jobs_queue, config.dead_letter_queue),
        *_queue_pair_checks(config.export_jobs_queue, config.export_dead_letter_queue),
    ]


def _queue_pair_checks(queue: str, dead_letter_queue: str) -> list[Check]:
    checks = []
    try:
        jobs, dlq = queue_url(queue), queue_url(dead_letter_queue)
    except Exception as error:
        return [Check(f"queues {queue}", Status.CRITICAL, problem(error))]
    checks.append(
        Check(f"queue {dead_letter_queue}", *((Status.OK, "exists") if dlq else (Status.CRITICAL, "missing")))
    )
    if jobs is None:
        return [Check(f"queue {queue}", Status.CRITICAL, "missing"), *checks]
    redrive = platform_client("sqs").get_queue_attributes(QueueUrl=jobs, AttributeNames=["RedrivePolicy"])
    policy = redrive.get("Attributes", {}).get("RedrivePolicy", "")
    if dead_letter_queue not in policy:
        checks.insert(0, Check(f"queue {queue}", Status.CRITICAL, "no redrive to the dead-letter queue"))
    else:
        checks.insert(0, Check(f"queue {queue}", Status.OK, "redrives to the dead-letter queue"))
    return checks


def topic_check(config: EnvironmentConfig) -> Check:
    try:
        arn = topic_arn(config)
    except Exception as error:
        return Check(f"topic {config.alerts_topic}", Status.CRITICAL, problem(error))
    return Check(f"topic {config.alerts_topic}", Status.OK if arn else Status.CRITICAL, arn or "missing")


def identity_check(domain: str, sender: str) -> Check:
    """The sender's identity may send: SES v2's `VerifiedForSendingStatus`, what the runbook's
    `aws sesv2 get-email-identity` shows and what SES decides sending by (the domain's, else
    the address's own identity)."""
    sesv2 = platform_client("sesv2")
    found: list[str] = []
    for identity in (domain, sender):
        try:
            answer = sesv2.get_email_identity(EmailIdentity=identity)
        except Exception as error:
            if missing(error):
                continue
            return Check(f"SES identity {domain}", Status.CRITICAL, problem(error))
        if answer.get("VerifiedForSendingStatus"):
            return Check(f"SES identity {domain}", Status.OK, f"{identity} verified for sending")
        found.append(f"{identity} {answer.get('VerificationStatus', 'status unknown')}")
    detail = f"not verified for sending ({', '.join(found)})" if found else "no identity for the sender"
    return Check(f"SES identity {domain}", Status.CRITICAL, detail)


def ses_identity_checks(config: EnvironmentConfig) -> list[Check]:
    domain = config.sender_email.split("@", 1)[1]
    checks = [identity_check(domain, config.sender_email)]
    try:
        platform_client("sesv2").get_configuration_set(ConfigurationSetName=config.configuration_set)
        checks.append(Check(f"SES configuration set {config.configuration_set}", Status.OK, "exists"))
    except Exception as error:
        detail = "missing" if missing(error) else problem(error)
        checks.append(Check(f"SES configuration set {config.configuration_set}", Status.CRITICAL, detail))
    return checks


def function_check(name: str) -> Check:
    try:
        configuration = platform_client("lambda").get_function(FunctionName=name)["Configuration"]
    except Exception as error:
        return Check(f"function {name}", Status.CRITICAL, "missing" if missing(error) else problem(error))
    state, update = configuration.get("State", "Active"), configuration.get("LastUpdateStatus", "Successful")
    healthy = state == "Active" and update == "Successful"
    return Check(f"function {name}", Status.OK if healthy else Status.CRITICAL, f"{state}, last update {update}")


def dashboard_check(config: EnvironmentConfig) -> Check:
    try:
        platform_client("cloudwatch").get_dashboard(DashboardName=config.dashboard)
    except Exception as error:
        return Check(f"dashboard {config.dashboard}", Status.WARNING, "missing" if missing(error) else problem(error))
    return Check(f"dashboard {config.dashboard}", Status.OK, "exists")


def alarm_coverage_check(config: EnvironmentConfig) -> Check:
    try:
        arn = topic_arn(config)
        count = len(alarms(arn)) if arn else 0
    except Exception as error:
        return Check("alarms", Status.CRITICAL, problem(error))
    if count == 0:
        return Check("alarms", Status.CRITICAL, f"no alarm notifies {config.alerts_topic}")
    return Check("alarms", Status.OK, f"{count} alarm(s) notify {config.alerts_topic}")


def resource_checks(config: EnvironmentConfig) -> list[Check]:
    """Every resource the configuration names exists and is healthy (`deploy validate`)."""
    checks = [table_check(getattr(config, attribute), spec) for attribute, spec in TABLES.items()]
    checks.append(recovery_check(config.clients_table))
    checks.append(bucket_check(config))
    checks.extend(queue_checks(config))
    checks.append(topic_check(config))
    checks.extend(ses_identity_checks(config))
    if config.deployed_by_stack:
        checks.extend(
            function_check(name)
            for name in (
                config.worker_function,
                config.export_worker_function,
                config.dispatcher_function,
                config.feedback_function,
            )
        )
        checks.append(alarm_coverage_check(config))
        checks.append(dashboard_check(config))
    else:
        checks.append(
            Check("functions, alarms, dashboard", Status.OK, "not in local: the handlers run in process there")
        )
    return checks
