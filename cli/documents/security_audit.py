"""`ops security-audit`'s document: findings on credentials, refusals, alarms, IAM and storage."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from cli.aws_errors import missing, problem
from cli.documents.kpis import meta
from cli.probes import sources
from cli.probes.resources import alarms, bucket_name, topic_arn
from cli.readers import tables
from cli.readers.clients import clients_table, key_ages
from cli.reviews.key_ages import CRITICAL_DAYS, WARN_DAYS
from cli.workflows.link_signer import link_signer_ages
from infrastructure.config import TABLES, EnvironmentConfig
from lambdas.dal.aws import platform_client

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO")


# Runs refused access: by a client's account ("unauthorized": its role or key) or by the platform's
# own resources ("access_denied": an IAM or KMS policy of the stack gone wrong). Both are logged UNAUTHORIZED.
REFUSED_KINDS = frozenset({"unauthorized", "access_denied"})


def _finding(severity: str, area: str, resource: str, finding: str, fix: str) -> dict[str, str]:
    return {"severity": severity, "area": area, "resource": resource, "finding": finding, "fix": fix}


def _local(config: EnvironmentConfig, severity: str) -> str:
    """In `local` the stack's protections do not exist by design: shown, as information."""
    return severity if config.deployed_by_stack else "INFO"


def _credential_findings(
    config: EnvironmentConfig, at: datetime
) -> tuple[list[dict[str, str]], dict[str, list[dict[str, Any]]]]:
    ages, _ = key_ages(clients_table(config), WARN_DAYS, CRITICAL_DAYS, at)
    findings = [
        _finding(
            "HIGH" if age.status.name == "CRITICAL" else "MEDIUM",
            "credentials",
            age.client_id,
            f"stored key: {age.detail} ({age.age_days if age.age_days is not None else '?'} days)",
            f"python cli/main.py credentials rotate --client-id {age.client_id}",
        )
        for age in ages
        if age.status.name != "OK"
    ]
    system = link_signer_ages(config, at)
    findings += [
        _finding(
            "HIGH" if key.status.name == "CRITICAL" else "MEDIUM",
            "credentials",
            key.user,
            f"link signer, {key.use} key: {key.detail} ({key.age_days if key.age_days is not None else '?'} days)",
            "python cli/main.py credentials rotate --link-signer" + (" --finish" if key.use == "retired" else ""),
        )
        for key in system
        if key.status.name != "OK"
    ]
    return findings, {"clients": [age.as_dict() for age in ages], "system": [key.as_dict() for key in system]}


def _refusal_fix(client_id: str, platform_refused: set[str]) -> str:
    if client_id in platform_refused:
        return (
            "the platform's own role was refused (an IAM or KMS policy of the stack): python cli/main.py deploy "
            "validate, then redrive the jobs DLQ"
        )
    return (
        f"python cli/main.py credentials validate --client-id {client_id}; if the client revoked access, "
        f"client pause --client-id {client_id}"
    )


def _unauthorized(
    config: EnvironmentConfig, start: datetime, end: datetime
) -> tuple[list[dict[str, str]], dict[str, Any]]:
    runs = [r for r in tables.runs_between(config, start, end) if r.error_kind in REFUSED_KINDS]
    logs = sources.log_events(f"/aws/lambda/{config.worker_function}", "UNAUTHORIZED", start, end)
    by_client: Counter[str] = Counter(r.client_id for r in runs)
    platform_refused = {r.client_id for r in runs if r.error_kind == "access_denied"}
    logged: Counter[str] = Counter(str(e.get("client_id", "?")) for e in (logs.value or []))
    findings = [
        _finding(
            "HIGH",
            "access",
            client_id,
            f"access refused in the period: {by_client[client_id]} failed run(s), {logged[client_id]} UNAUTHORIZED "
            "log line(s)",
            _refusal_fix(client_id, platform_refused),
        )
        for client_id in sorted(set(by_client) | set(logged))
    ]
    evidence = {
        "refused_runs": [{"client_id": r.client_id, "run_id": r.run_id, "error": r.error} for r in runs],
        "log_events": logs.counted(),
        "log_events_by_client": dict(sorted(logged.items())),
    }
    return findings, evidence


def _alarm_signature(alarm: dict[str, Any]) -> str:
    parts = [str(alarm.get("AlarmName", "")), str(alarm.get("MetricName", ""))]
    parts += [str(d.get("Value", "")) for d in alarm.get("Dimensions", [])]
    for query in alarm.get("Metrics", []):
        metric = (query.get("MetricStat") or {}).get("Metric") or {}
        parts.append(str(metric.get("MetricName", "")))
        parts += [str(d.get("Value", "")) for d in metric.get("Dimensions", [])]
    return " ".join(parts)


def _alarm_findings(config: EnvironmentConfig) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    names = {
        "worker": config.worker_function,
        "dispatcher": config.dispatcher_function,
        "feedback": config.feedback_function,
        "dlq": config.dead_letter_queue,
    }
    try:
        arn = topic_arn(config)
        watching = alarms(arn) if arn else []
    except Exception as error:
        return [
            _finding(
                "HIGH",
                "monitoring",
                config.alerts_topic,
                f"alarms unreadable: {problem(error)}",
                "check the operator's cloudwatch:DescribeAlarms permission",
            )
        ], []
    signatures = [_alarm_signature(alarm) for alarm in watching]
    coverage, findings = [], []
    for label, words in REQUIRED_ALARMS:
        needed = [word.format(**names) for word in words]
        covered = [a["AlarmName"] for a, s in zip(watching, signatures, strict=True) if all(w in s for w in needed)]
        coverage.append({"alarm": label, "covered_by": covered})
        if not covered:
            findings.append(
                _finding(
                    _local(config, "HIGH"),
                    "monitoring",
                    label,
                    f"no alarm on {' '.join(needed)} notifies {config.alerts_topic}",
                    "deploy the stack's monitoring (infrastructure/constructs/monitoring.py)",
                )
            )
    return findings, coverage


def _role_names(config: EnvironmentConfig) -> list[str]:
    return [config.worker_role, f"{config.dispatcher_function}-role", f"{config.feedback_function}-role"]


def _iam_findings(config: EnvironmentConfig) -> tuple[list[dict[str, str]], dict[str, Any]]:
    findings, roles = [], {}
    for role in _role_names(config):
        reading = sources.role_policies(role)
        roles[role] = reading.as_dict()
        if not reading.available:
            findings.append(
                _finding(
                    _local(config, "HIGH"),
                    "iam",
                    role,
                    reading.reason,
                    "deploy the stack (cdk deploy); the CLI never creates roles",
                )
            )
            continue
        for policy in reading.value:
            if policy["type"] == "managed":
                findings.append(
                    _finding(
                        "MEDIUM",
                        "iam",
                        role,
                        f"managed policy {policy['policy']} attached",
                        "write the needed statements out in the stack instead",
                    )
                )
            for statement in policy["statements"]:
                if statement.get("Effect") != "Allow":
                    continue
                actions = statement.get("Action", [])
                actions = [actions] if isinstance(actions, str) else list(actions)
                resources = statement.get("Resource", [])
                resources = [resources] if isinstance(resources, str) else list(resources)
                wild = [a for a in actions if a == "*" or a.endswith(":*")]
                if wild:
                    findings.append(
                        _finding(
                            "HIGH",
                            "iam",
                            role,
                            f"wildcard action(s) {', '.join(wild)} in {policy['policy']}",
                            "name the actions the code calls",
                        )
                    )
                if "*" in resources and not set(actions) <= XRAY_ACTIONS:
                    findings.append(
                        _finding(
                            "MEDIUM",
                            "iam",
                            role,
                            f'Resource "*" for {", ".join(actions)} in {policy["policy"]}',
                            "name the resources",
                        )
                    )
    return findings, roles


def _storage_findings(config: EnvironmentConfig) -> tuple[list[dict[str, str]], dict[str, Any]]:
    findings: list[dict[str, str]] = []
    state: dict[str, Any] = {}
    name = bucket_name(config)
    if name is None:
        findings.append(_finding("CRITICAL", "storage", config.assets_bucket, "bucket missing", "cdk deploy"))
    else:
        found, bucket = _bucket_findings(config, name)
        findings += found
        state["bucket"] = {"name": name, **bucket}
    found, state["tables"] = _table_findings(config)
    findings += found
    found, state["kms_rotation"] = _key_findings(config)
    findings += found
    return findings, state


def _bucket_findings(config: EnvironmentConfig, name: str) -> tuple[list[dict[str, str]], dict[str, Any]]:
    """The assets bucket's default encryption, public access block and TLS-only policy."""
    findings: list[dict[str, str]] = []
    s3 = platform_client("s3")
    bucket: dict[str, Any] = {}
    try:
        rules = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
        algorithm = rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
    except Exception as error:
        algorithm = None if missing(error) or "NotFound" in problem(error) else problem(error)
    bucket["encryption"] = algorithm
    if algorithm != "aws:kms":
        findings.append(
            _finding(
                _local(config, "HIGH" if algorithm is None else "LOW"),
                "storage",
                name,
                f"default encryption {algorithm or 'not configured'}, not the project's KMS key",
                "deploy the stack's bucket (KMS, bucket key)",
            )
        )
    try:
        block = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    except Exception:  # none configured (or none readable): reported as not blocked
        block = {}
    bucket["public_access_block"] = block
    if not block or not all(block.values()):
        findings.append(
            _finding(
                "CRITICAL",
                "storage",
                name,
                "public access is not blocked",
                "aws s3api put-public-access-block (all four settings true)",
            )
        )
    try:
        policy = json.loads(s3.get_bucket_policy(Bucket=name)["Policy"])
    except Exception:  # no bucket policy (or none readable): nothing denies plain HTTP
        policy = {}
    tls = "aws:SecureTransport" in json.dumps(policy)
    bucket["tls_only"] = tls
    if not tls:
        findings.append(
            _finding(
                _local(config, "MEDIUM"),
                "storage",
                name,
                "no policy denies requests without TLS",
                "deploy the stack's bucket (enforce_ssl)",
            )
        )
    return findings, bucket


def _table_findings(config: EnvironmentConfig) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """Each table's encryption: the project's KMS key, or an AWS owned one."""
    findings: list[dict[str, str]] = []
    encryption = []
    for attribute in TABLES:
        table_name = getattr(config, attribute)
        try:
            description = tables.table(config, attribute).describe()
        except Exception as error:
            findings.append(
                _finding("HIGH", "storage", table_name, f"table unreadable: {problem(error)}", "cdk deploy")
            )
            continue
        sse = description.get("SSEDescription") or {}
        kms = sse.get("Status") == "ENABLED" and sse.get("SSEType") == "KMS"
        encryption.append({"table": table_name, "encryption": sse.get("SSEType") or "AWS owned key"})
        if not kms:
            findings.append(
                _finding(
                    _local(config, "MEDIUM"),
                    "storage",
                    table_name,
                    "encrypted with an AWS owned key, not the project's KMS key",
                    "deploy the stack's tables",
                )
            )
    return findings, encryption


def _key_findings(config: EnvironmentConfig) -> tuple[list[dict[str, str]], bool | None]:
    """The project's KMS key: there, and rotated automatically."""
    findings: list[dict[str, str]] = []
    try:
        key = platform_client("kms").describe_key(KeyId=config.kms_alias)["KeyMetadata"]["KeyId"]
        rotation = platform_client("kms").get_key_rotation_status(KeyId=key)["KeyRotationEnabled"]
    except Exception as error:
        rotation = None
        findings.append(
            _finding(
                _local(config, "HIGH"),
                "encryption",
                config.kms_alias,
                f"key not found ({problem(error)})",
                "deploy the stack (infrastructure/constructs/encryption.py)",
            )
        )
    if rotation is False:
        findings.append(
            _finding(
                "MEDIUM", "encryption", config.kms_alias, "automatic key rotation is off", "aws kms enable-key-rotation"
            )
        )
    return findings, rotation


def security_audit_document(config: EnvironmentConfig, at: datetime, *, comprehensive: bool) -> dict[str, Any]:
    days = 30 if comprehensive else 7
    start = at - timedelta(days=days)
    findings, ages = _credential_findings(config, at)
    refused, evidence = _unauthorized(config, start, at)
    watched, coverage = _alarm_findings(config)
    findings += refused + watched
    document: dict[str, Any] = {
        **meta(config, at, "security-audit"),
        "scope": "comprehensive" if comprehensive else "weekly",
        "period": {"start": start, "end": at, "days": days},
        "credential_ages": ages,
        "unauthorized": evidence,
        "alarm_coverage": coverage,
    }
    if comprehensive:
        iam, roles = _iam_findings(config)
        storage, state = _storage_findings(config)
        findings += iam + storage
        document["iam_roles"] = roles
        document["encryption_and_access"] = state
    findings.sort(key=lambda f: (SEVERITIES.index(f["severity"]), f["area"], f["resource"]))
    counts = Counter(f["severity"] for f in findings)
    document["summary"] = {level: counts.get(level, 0) for level in SEVERITIES}
    document["findings"] = findings
    return document


REQUIRED_ALARMS = (  # (what, words that must all appear in the alarm's name, metric and dimensions)
    ("worker errors", ("{worker}", "Errors")),
    ("worker throttles", ("{worker}", "Throttles")),
    ("worker duration", ("{worker}", "Duration")),
    ("dispatcher errors", ("{dispatcher}", "Errors")),
    ("feedback errors", ("{feedback}", "Errors")),
    ("jobs dead letters", ("{dlq}", "ApproximateNumberOfMessagesVisible")),
)


XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
