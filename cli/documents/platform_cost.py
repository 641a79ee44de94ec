"""The platform's cost per client (`billing track`, `ops cost-optimization`, `costs report`): the usage
read, priced by cli/reviews/costing."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from decimal import Decimal
from typing import Any

from cli.aws_errors import problem
from cli.documents.capacity import worker_limits
from cli.documents.kpis import meta
from cli.probes import sources
from cli.probes.resources import bucket_name
from cli.readers import tables
from cli.readers.clients import clients_table
from cli.reviews import costing
from cli.reviews.cost_advice import (
    MIN_SAVING_USD,
    REPORTS_PREFIX,
    cache_advice,
    lifecycle_advice,
    memory_advice,
    schedule_advice,
)
from cli.reviews.periods import Window, ratio, rounded
from cli.reviews.pricing import price, pricing_document
from infrastructure.config import TABLES, EnvironmentConfig
from lambdas.dal.aws import platform_client
from lambdas.dal.clients_table import ClientsTable
from lambdas.dal.executions_table import ExecutionsTable
from lambdas.dal.suppressions import SuppressionsTable
from lambdas.models.execution import ExecutionRecord


def shared_usage(config: EnvironmentConfig, window: Window, at: datetime) -> costing.SharedUsage:
    """Costs recorded per function or table, not per client: CloudWatch metrics and table sizes."""
    shared = costing.SharedUsage()
    start, end = window.start_at, min(window.end_at, at)
    seconds, requests, seen = Decimal(0), 0, False
    for name in (config.dispatcher_function, config.feedback_function):
        limits = sources.function_limits(config, name)
        duration = sources.metric_total("AWS/Lambda", "Duration", {"FunctionName": name}, start, end)
        invocations = sources.metric_total("AWS/Lambda", "Invocations", {"FunctionName": name}, start, end)
        if duration.available and limits is not None:
            seconds += duration.value / 1000 * Decimal(limits.memory_mb) / 1024
            seen = True
        if invocations.available:
            requests += int(invocations.value)
            seen = True
    if seen:
        shared.lambda_gb_seconds, shared.lambda_requests = seconds.quantize(Decimal("0.001")), requests
    else:
        shared.notes.append("dispatcher and feedback: no AWS/Lambda metrics in the period")
    reads = writes = Decimal(0)
    found = False
    for attribute in TABLES:
        table = getattr(config, attribute)
        read = sources.metric_total("AWS/DynamoDB", "ConsumedReadCapacityUnits", {"TableName": table}, start, end)
        write = sources.metric_total("AWS/DynamoDB", "ConsumedWriteCapacityUnits", {"TableName": table}, start, end)
        reads += read.value if read.available else 0
        writes += write.value if write.available else 0
        found = found or read.available or write.available
    if found:
        shared.dynamodb_read_units, shared.dynamodb_write_units = reads, writes
    else:
        shared.notes.append("DynamoDB request units: no AWS/DynamoDB metrics in the period")
    sizes = {entry["table"]: entry for entry in tables.table_sizes(config)}
    shared_tables = (config.cost_cache_table, config.idempotency_table)
    shared.dynamodb_bytes = sum(int(sizes.get(name, {}).get("bytes", 0)) for name in shared_tables)
    return shared


def client_usages(config: EnvironmentConfig, window: Window, runs: list[ExecutionRecord]) -> list[costing.ClientUsage]:
    """Each client's usage in the window: runs, archived objects, item bytes. Clients removed
    since are billed under their id."""
    names: dict[str, str] = {}
    item_bytes: Counter[str] = Counter()
    for record in clients_table(config).records():
        client_id = str(record.get("client_id", "?"))
        names[client_id] = str(record.get("name", client_id))
    for adapter in (
        ClientsTable(config.clients_table),
        ExecutionsTable(config.executions_table),
        SuppressionsTable(config.suppressions_table),
    ):
        for item in adapter.items():
            item_bytes[item["client_id"]["S"]] += costing.item_size(item)
    by_client: dict[str, list[ExecutionRecord]] = defaultdict(list)
    for run in runs:
        by_client[run.client_id].append(run)
    listing = sources.bucket_objects(config, "reports/")
    objects: dict[str, list[sources.StoredObject]] = defaultdict(list)
    for stored in listing.objects:
        parts = stored.key.split("/")
        if len(parts) > 2:
            objects[parts[1]].append(stored)
    ids = sorted(set(names) | set(by_client))
    return [
        costing.ClientUsage(
            client_id,
            names.get(client_id, client_id),
            by_client.get(client_id, []),
            objects.get(client_id, []),
            item_bytes.get(client_id, 0),
        )
        for client_id in ids
    ]


def cost_statement(config: EnvironmentConfig, window: Window, at: datetime) -> dict[str, Any]:
    """What running the platform cost in the window, per client (`billing track`)."""
    runs = tables.runs_between(config, window.start_at, window.end_at)
    return _cost_statement(config, window, at, runs, worker_limits(config))


def _cost_statement(
    config: EnvironmentConfig,
    window: Window,
    at: datetime,
    runs: list[ExecutionRecord],
    worker: sources.FunctionLimits | None,
) -> dict[str, Any]:
    usages = client_usages(config, window, runs)
    document = costing.statement(
        usages, shared_usage(config, window, at), window, at, worker.memory_mb if worker else None
    )
    document["pricing"] = pricing_document()
    return document


def _lifecycle(config: EnvironmentConfig) -> list[dict[str, Any]] | None:
    name = bucket_name(config)
    if name is None:
        return None
    try:
        return list(platform_client("s3").get_bucket_lifecycle_configuration(Bucket=name).get("Rules", []))
    except Exception as error:
        if "NoSuchLifecycleConfiguration" in problem(error):
            return []
        raise


def recommendations(
    config: EnvironmentConfig,
    window: Window,
    at: datetime,
    costs: dict[str, Any],
    runs: list[ExecutionRecord],
    worker: sources.FunctionLimits | None,
) -> list[dict[str, Any]]:
    """The rules of cli/reviews/cost_advice.py on the period's records, the worker's size and the bucket's
    lifecycle and objects; savings priced to the line (over the analysed period)."""
    found: list[dict[str, Any] | None] = []
    if worker:
        lambda_cost = sum(
            (
                Decimal(str(line["amount_usd"]))
                for c in costs["clients"]
                for line in c["lines"]
                if line["service"] == "Lambda" and line["unit"] == "GB-second"
            ),
            Decimal(0),
        )
        found.append(memory_advice(runs, worker.memory_mb, lambda_cost))
    found.extend(schedule_advice(runs))
    found.append(cache_advice(runs))
    rules = _lifecycle(config)
    if rules is not None:
        found.append(
            lifecycle_advice(
                rules,
                sources.bucket_objects(config, REPORTS_PREFIX).objects,
                at,
                costing.month_fraction(window.start_at, min(window.end_at, at)),
                price("s3_standard_gb_month").per_unit,
                price("s3_standard_ia_gb_month").per_unit,
            )
        )
    advice = [item for item in found if item is not None]
    for item in advice:
        item["estimated_saving_usd"] = costing.line_amount(item["estimated_saving_usd"])
    return advice


def cost_optimization_document(config: EnvironmentConfig, window: Window, at: datetime) -> dict[str, Any]:
    runs = tables.runs_between(config, window.start_at, window.end_at)
    worker = worker_limits(config)
    costs = _cost_statement(config, window, at, runs, worker)
    found = recommendations(config, window, at, costs, runs, worker)
    for item in found:
        item["worth_acting"] = Decimal(str(item["estimated_saving_usd"])) >= MIN_SAVING_USD
    requests = sum(r.ce_requests for r in runs)
    hits = sum(r.cache_hits for r in runs)
    return {
        **meta(config, at, "cost-optimization"),
        "period": window.as_dict(),
        "running_cost_usd": costs["total_usd"],
        "by_service_usd": costs["by_service_usd"],
        "per_client_usd": {c["client_id"]: c["total_usd"] for c in costs["clients"]},
        "cache_hit_rate": rounded(ratio(hits, hits + requests)),
        "worker": worker.as_dict() if worker else None,
        "shared_notes": costs["shared"]["notes"],
        "recommendations": found,
        "estimated_saving_usd": sum((Decimal(str(r["estimated_saving_usd"])) for r in found), Decimal(0)),
        "pricing": costs["pricing"],
    }


# A recommendation saving less than a cent over the analysed period is shown, not a finding.
