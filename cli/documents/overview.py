"""`docs overview`'s Markdown: the environment's functions, tables, storage, schedules, clients and
alarms, read live."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime
from typing import Any

from cli.aws_errors import problem
from cli.probes.resources import alarms, bucket_name, queue_depth, queue_url, topic_arn
from cli.probes.sources import function_limits
from cli.readers.clients import clients_table
from cli.readers.tables import table_sizes
from infrastructure.config import MAX_RECEIVES, EnvironmentConfig
from lambdas.dal.aws import platform_client
from lambdas.logic.calendar import FIRE_HOUR_UTC
from lambdas.models.client import SCHEDULES, parse_client
from lambdas.models.exceptions import InvalidInputError

_SPECIAL = re.compile(r"([\\`*_\[\]<>|])")


def md(value: Any) -> str:
    """One Markdown table cell: special characters escaped, on one line."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(value).split())) if value is not None else "-"


def _table(headers: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(" --- " for _ in headers) + "|"]
    lines += ["| " + " | ".join(md(cell) for cell in row) + " |" for row in rows]
    return [*lines, ""]


def _functions(config: EnvironmentConfig) -> list[list[Any]]:
    rows = []
    for role, name in (
        ("worker: one client's report per SQS message", config.worker_function),
        ("export worker: a Data Export client's report per SQS message", config.export_worker_function),
        ("dispatcher: queues the clients due on a schedule", config.dispatcher_function),
        ("feedback: SES bounces and complaints to suppressions", config.feedback_function),
    ):
        limits = function_limits(config, name)
        if limits is None:
            rows.append([name, role, "not deployed", "", ""])
        else:
            concurrency = f", at most {limits.max_concurrency} at once" if limits.max_concurrency else ""
            rows.append([name, role, f"{limits.memory_mb} MB", f"{limits.timeout_s} s{concurrency}", limits.source])
    return rows


def _schedules(config: EnvironmentConfig) -> list[list[Any]] | str:
    try:
        found = platform_client("scheduler").list_schedules().get("Schedules", [])
    except Exception as error:
        return f"not readable here ({problem(error)})"
    rows = []
    for entry in found:
        if config.dispatcher_function not in str(
            entry.get("Target", {}).get("Arn", "")
        ) and config.environment not in str(entry.get("Name", "")):
            continue
        detail = platform_client("scheduler").get_schedule(
            Name=entry["Name"], GroupName=entry.get("GroupName", "default")
        )
        rows.append(
            [
                entry["Name"],
                detail.get("ScheduleExpression"),
                detail.get("State"),
                detail.get("Target", {}).get("Input"),
            ]
        )
    return rows or "none in this environment (local: `local seed-history` or `report run` play the schedules)"


def overview_markdown(config: EnvironmentConfig, at: datetime) -> str:
    out = [
        f"# System overview: `{config.environment}`",
        "",
        f"Generated {at:%Y-%m-%d %H:%M} UTC from the live configuration by "
        f"`python cli/main.py docs overview -e {config.environment}`. Regenerate it rather than edit it.",
        "",
        "## How a report is made",
        "",
        "```",
        f"EventBridge schedule ({FIRE_HOUR_UTC:02d}:00 UTC) -> dispatcher -> SQS jobs queue (DLQ after {MAX_RECEIVES} "
        "receives)",
        "  -> worker: client record -> credentials (role + external id, or stored keys) -> Cost Explorer",
        "     -> report -> HTML, text, CSV -> S3 archive -> SES (once) -> execution record, metrics",
        "SES bounce/complaint -> SNS -> feedback -> suppressions",
        "```",
        "",
        "Runbook: docs/operations.md. Architecture and sizing: docs/architecture.md. Cost Explorer: "
        "docs/cost-explorer.md.",
        "",
        "## Functions",
        "",
        *_table(["function", "does", "memory", "timeout", "from"], _functions(config)),
        "## Tables",
        "",
    ]
    out += _tables_section(config)
    arn = topic_arn(config)
    out += _storage_section(config, arn)
    out += _schedules_section(config)
    out += _clients_section(config)
    out += _alarms_section(config, arn)
    return "\n".join(out).rstrip() + "\n"


def _tables_section(config: EnvironmentConfig) -> list[str]:
    """Each table: items, bytes, billing mode, encryption."""
    out: list[str] = []
    tables = table_sizes(config)
    out += _table(
        ["table", "items", "bytes", "billing", "encryption"],
        [
            [
                t["table"],
                t.get("items", "-"),
                t.get("bytes", "-"),
                t.get("billing_mode", "-"),
                t.get("encryption", t.get("reason")),
            ]
            for t in tables
        ],
    )
    return out


def _storage_section(config: EnvironmentConfig, arn: str | None) -> list[str]:
    """The bucket, the queues, the alert topic, the sender."""
    out: list[str] = []
    out += ["## Storage, queues, topics", ""]
    rows: list[list[Any]] = []
    bucket = bucket_name(config)
    if bucket:
        versioning = platform_client("s3").get_bucket_versioning(Bucket=bucket).get("Status", "off")
        rows.append(["bucket", bucket, f"versioning {versioning}; reports under reports/, audit trail under audit/"])
    else:
        rows.append(["bucket", config.assets_bucket, "missing"])
    for name in (
        config.jobs_queue,
        config.dead_letter_queue,
        config.export_jobs_queue,
        config.export_dead_letter_queue,
    ):
        url = queue_url(name)
        if url:
            waiting, in_flight = queue_depth(url)
            rows.append(["queue", name, f"{waiting} waiting, {in_flight} in flight"])
        else:
            rows.append(["queue", name, "missing"])
    rows.append(["alert topic", config.alerts_topic, arn or "missing"])
    rows.append(["sender", config.sender_email, f"configuration set {config.configuration_set}"])
    out += _table(["kind", "name", "state"], rows)
    return out


def _schedules_section(config: EnvironmentConfig) -> list[str]:
    """The EventBridge schedules as deployed."""
    out: list[str] = []
    out += ["## Schedules", ""]
    schedules = _schedules(config)
    out += (
        _table(["schedule", "expression", "state", "input"], schedules)
        if isinstance(schedules, list)
        else [schedules, ""]
    )
    return out


def _clients_section(config: EnvironmentConfig) -> list[str]:
    """The clients by schedule, and the records that do not validate."""
    out: list[str] = []
    by_schedule: dict[str, list[list[Any]]] = defaultdict(list)
    invalid = []
    for record in sorted(clients_table(config).records(), key=lambda r: str(r.get("client_id", ""))):
        try:
            client = parse_client(record)
        except InvalidInputError as error:
            invalid.append([record.get("client_id", "?"), str(error)])
            continue
        by_schedule[client.schedule].append(
            [client.client_id, client.name, len(client.account_ids), client.credentials.type, client.status]
        )
    total = sum(len(rows) for rows in by_schedule.values())
    out += [
        "## Clients by schedule",
        "",
        f"{total} client(s): " + ", ".join(f"{len(by_schedule.get(s, []))} {s}" for s in SCHEDULES) + ".",
        "",
    ]
    for schedule in SCHEDULES:
        if by_schedule.get(schedule):
            out += [f"### {schedule.capitalize()}", ""]
            out += _table(["client", "name", "accounts", "credentials", "status"], by_schedule[schedule])
    if invalid:
        out += ["### Invalid records", "", *_table(["client", "problem"], invalid)]
    return out


def _alarms_section(config: EnvironmentConfig, arn: str | None) -> list[str]:
    """The alarms that notify the alert topic."""
    out: list[str] = []
    out += ["## Alarms", ""]
    watching = alarms(arn) if arn else []
    if watching:
        out += _table(
            ["alarm", "metric", "threshold", "state"],
            [
                [
                    a["AlarmName"],
                    a.get("MetricName") or "expression",
                    f"{a.get('ComparisonOperator', '')} {a.get('Threshold', '')}",
                    a.get("StateValue"),
                ]
                for a in sorted(watching, key=lambda a: a["AlarmName"])
            ],
        )
    else:
        where = (
            "the stack deploys them (docs/architecture.md, Monitoring)"
            if not config.deployed_by_stack
            else "deploy the stack"
        )
        out += [f"No alarm notifies {md(config.alerts_topic)}: {where}.", ""]
    return out
