"""`optimize dynamodb-queries`: how each table is read and written, and the change to make.

Per table: its keys, indexes and size (DescribeTable); the code's access patterns
(cli/query_patterns.py: every call, where it is, what it asks); the operations measured in the
period and their share (CloudWatch AWS/DynamoDB `SuccessfulRequestLatency`, sample count per
`Operation`; items returned by queries and scans); the busiest hour; throttle events; how the
items spread over the partition keys of the table and of each index (a keys-only scan: the
read units it costs are stated), the hot keys first. A table's partitions serve 3,000 reads and
1,000 writes a second each, so a key is only hot for DynamoDB when the traffic is.

Changes: a scan with a filter reads the whole table to return part of it, at every call: an
index keyed on what it filters serves it (named with the code that would query it); throttle
events name the table's busiest keys. Whole-table scans without a filter are the listing
commands (exports, backups, reviews): reported, not a change.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import typer

from cli.context import (
    EnvironmentOption,
    FormatOption,
    OutputFormat,
    OutputOption,
    Table,
    as_of_day,
    emit,
    environment_config,
    fail,
    finish,
    now,
    styled,
    writable,
)
from cli.probes import sources
from cli.probes.resources import metric_points, problem
from cli.reviews import query_patterns
from cli.reviews.pricing import price
from infrastructure.config import TABLES, EnvironmentConfig, for_environment
from lambdas.dal.aws import platform_client

PARTITION_READS, PARTITION_WRITES = 3000, 1000  # per second, per partition (DynamoDB's documented limits)
READ_UNIT_BYTES = 4096
TOP_KEYS = 5


def table_names(config: EnvironmentConfig) -> dict[str, str]:
    """`--table-name` values: the environment's table names and the production names the users'
    runbook writes (cost-reporting-clients), each to its attribute of TABLES."""
    prod = for_environment("prod")
    return {name: a for a in TABLES for name in (getattr(prod, a), getattr(config, a))}


def describe(config: EnvironmentConfig, attribute: str) -> dict[str, Any]:
    name = getattr(config, attribute)
    table = platform_client("dynamodb").describe_table(TableName=name)["Table"]
    keys = {k["KeyType"]: k["AttributeName"] for k in table.get("KeySchema", [])}
    indexes = [
        {
            "name": index["IndexName"],
            "partition_key": next(k["AttributeName"] for k in index["KeySchema"] if k["KeyType"] == "HASH"),
            "projection": index.get("Projection", {}).get("ProjectionType"),
        }
        for index in table.get("GlobalSecondaryIndexes", [])
    ]
    return {
        "table": name,
        "partition_key": keys.get("HASH"),
        "sort_key": keys.get("RANGE"),
        "indexes": indexes,
        "items": int(table.get("ItemCount", 0)),
        "bytes": int(table.get("TableSizeBytes", 0)),
        "billing_mode": (table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED"),
    }


def measured(name: str, start: datetime, end: datetime) -> dict[str, Any]:
    """Requests per operation (sample counts of SuccessfulRequestLatency), items returned,
    the busiest hour and throttle events, as CloudWatch has them; unavailable, never zero."""
    operations: dict[str, int] = {}
    returned: dict[str, int] = {}
    hourly: Counter[datetime] = Counter()
    for operation in query_patterns.OPERATIONS.values():
        dims = {"TableName": name, "Operation": operation}
        try:
            points = metric_points("AWS/DynamoDB", "SuccessfulRequestLatency", dims, start, end, "SampleCount", 3600)
        except Exception as error:
            return {"available": False, "reason": problem(error)}
        if points:
            operations[operation] = int(sum(value for _, value in points))
            hourly.update({at: int(value) for at, value in points})
        if operation in ("Query", "Scan") and points:
            total = sources.metric_total("AWS/DynamoDB", "ReturnedItemCount", dims, start, end)
            returned[operation] = int(total.value) if total.available else 0
    if not operations:
        return {"available": False, "reason": "no AWS/DynamoDB SuccessfulRequestLatency data points in the period"}
    reads = sum(count for op, count in operations.items() if op in query_patterns.READS)
    busiest = max(hourly.items(), key=lambda item: item[1]) if hourly else None
    throttles = {
        metric: sources.metric_total("AWS/DynamoDB", metric, {"TableName": name}, start, end).as_dict()
        for metric in ("ReadThrottleEvents", "WriteThrottleEvents")
    }
    return {
        "available": True,
        "requests": operations,
        "read_share": {op: _share(count, reads) for op, count in operations.items() if op in query_patterns.READS},
        "returned_items": returned,
        "busiest_hour": {"at": busiest[0], "requests": busiest[1], "per_second": _share(busiest[1], 3600, "0.01")}
        if busiest
        else None,
        "throttles": throttles,
    }


def _share(part: int, whole: int, places: str = "0.0001") -> Decimal | None:
    return (Decimal(part) / whole).quantize(Decimal(places)) if whole else None


def key_spread(name: str, description: dict[str, Any]) -> dict[str, Any]:
    """Items per partition key of the table and of each index, the most loaded first."""
    keys = [description["partition_key"], *(index["partition_key"] for index in description["indexes"])]
    projection = ", ".join(f"#k{i}" for i in range(len(keys)))
    names = {f"#k{i}": key for i, key in enumerate(keys)}
    counts: dict[str, Counter[str]] = {key: Counter() for key in keys}
    pages = (
        platform_client("dynamodb")
        .get_paginator("scan")
        .paginate(TableName=name, ProjectionExpression=projection, ExpressionAttributeNames=names)
    )
    for page in pages:
        for item in page.get("Items", []):
            for key in keys:
                if key in item:
                    counts[key][next(iter(item[key].values()))] += 1
    units = math.ceil(description["bytes"] / READ_UNIT_BYTES / 2) if description["bytes"] else 0
    spread = {}
    for key, counter in counts.items():
        total = sum(counter.values())
        spread[key] = {
            "keys": len(counter),
            "items": total,
            "top": [{"key": k, "items": n, "share": _share(n, total)} for k, n in counter.most_common(TOP_KEYS)],
        }
    return {"by_partition_key": spread, "read_units_of_this_scan": units}


def changes(
    config: EnvironmentConfig, attribute: str, patterns: list[query_patterns.Pattern], facts: dict[str, Any]
) -> tuple[list[dict[str, str]], list[str]]:
    """What to change, each with the code that would change, and what is fine as it is."""
    name, found, noted = getattr(config, attribute), [], []
    units = math.ceil(facts["description"]["bytes"] / READ_UNIT_BYTES / 2) or 1
    for pattern in patterns:
        if pattern.filtered_scan:
            attribute_name = (pattern.filter_attributes() or ["the filtered attribute"])[0]
            cost = price("dynamodb_read_unit").per_unit * units * 1000
            found.append(
                {
                    "what": f"{pattern.function}: an index on {attribute_name}",
                    "detail": f"{pattern.function} ({pattern.where}) scans {name} with a filter on {attribute_name}: "
                    f"every call reads the whole table ({facts['description']['items']} items, about {units} read "
                    f"unit(s), USD {cost:.4f} per 1,000 calls) to return part of it. Add a global secondary index "
                    f"with a day bucket of {attribute_name} as partition key and {attribute_name} as sort key "
                    "(TABLES in infrastructure/config.py) and query it there, bucket by bucket.",
                }
            )
        elif pattern.operation == "Scan":
            noted.append(f"{pattern.function} ({pattern.where}): {pattern.describe()}: a listing, by design")
    throttled = [k for k, v in facts["measured"].get("throttles", {}).items() if v.get("available") and v["value"]]
    if throttled:
        top = facts["keys"]["by_partition_key"]
        hottest = ", ".join(entry["key"] for spread in top.values() for entry in spread["top"][:1])
        found.append(
            {
                "what": f"{name} throttled",
                "detail": f"{name} was throttled ({', '.join(throttled)}); the keys holding the most items: {hottest}",
            }
        )
    return found, noted


def review(config: EnvironmentConfig, attribute: str, start: datetime, end: datetime) -> dict[str, Any]:
    name = getattr(config, attribute)
    patterns = [p for p in query_patterns.access_patterns() if p.table == attribute]
    try:
        description = describe(config, attribute)
    except Exception as error:
        fail(f"--table-name: {name} cannot be read in {config.environment} ({problem(error)})", 1)
    # CloudWatch stamps a minute with its start: the minute in progress is read too.
    facts = {"description": description, "measured": measured(name, start, end + timedelta(minutes=1))}
    facts["keys"] = key_spread(name, description)
    found, noted = changes(config, attribute, patterns, facts)
    return {
        **facts,
        "access_patterns": [p.as_dict() for p in patterns],
        "changes": found,
        "fine_as_is": noted,
    }


def _table(document: dict[str, Any]) -> Table:
    description, facts = document["description"], document["measured"]
    view = Table("what", "detail", title=f"how {description['table']} is used", title_justify="left")
    keys = description["partition_key"] + (f" / {description['sort_key']}" if description["sort_key"] else "")
    indexes = ", ".join(f"{i['name']} ({i['partition_key']}, {i['projection']})" for i in description["indexes"])
    view.add_row("keys", f"{keys}; indexes: {indexes or 'none'}")
    view.add_row(
        "size",
        f"{description['items']} items, {description['bytes']} bytes (DynamoDB's figures, updated about every 6 "
        f"hours), {description['billing_mode']}",
    )
    for pattern in document["access_patterns"]:
        view.add_row(
            f"code: {pattern['operation']}", f"{pattern['function']} ({pattern['where']}): {pattern['description']}"
        )
    if facts["available"]:
        shares = facts["read_share"]
        listed = ", ".join(
            f"{op} {count}" + (f" ({shares[op] * 100:.1f}% of reads)" if shares.get(op) is not None else "")
            for op, count in sorted(facts["requests"].items(), key=lambda item: -item[1])
        )
        view.add_row("measured requests", listed)
        if facts["busiest_hour"]:
            hour = facts["busiest_hour"]
            view.add_row(
                "busiest hour",
                f"{hour['at']:%Y-%m-%d %H:00} UTC: {hour['requests']} requests ({hour['per_second']}/s; a partition "
                f"serves {PARTITION_READS} reads and {PARTITION_WRITES} writes a second)",
            )
        throttles = [f"{k} {v['value'] if v['available'] else 'none published'}" for k, v in facts["throttles"].items()]
        view.add_row("throttle events", ", ".join(throttles))
    else:
        view.add_row("measured requests", f"not available: {facts['reason']}")
    for key, spread in document["keys"]["by_partition_key"].items():
        top = ", ".join(f"{e['key']} {e['items']} ({e['share'] * 100:.0f}%)" for e in spread["top"] if e["share"])
        view.add_row(f"items per {key}", f"{spread['keys']} key(s); the most: {top or '-'}")
    for change in document["changes"]:
        view.add_row(styled("change", "yellow"), change["detail"])
    for line in document["fine_as_is"]:
        view.add_row("fine as is", line)
    return view


def dynamodb_queries(
    table_name: str | None = typer.Option(
        None, "--table-name", help="One table (cost-reporting-clients: the client table); default all."
    ),
    analyze_period: int = typer.Option(30, "--analyze-period", min=1, max=400, help="Days of CloudWatch metrics."),
    as_of: str = typer.Option("", "--as-of", help="The period ends before this day (YYYY-MM-DD); default now."),
    fmt: OutputFormat = FormatOption,
    output: Path | None = OutputOption,
    environment: str = EnvironmentOption,
) -> None:
    """How each table is read and written: the code's access patterns, the operations measured and
    their share, the busiest hour, throttles, items per key, and the change to make (exit 1 when
    there is one)."""
    writable(output)
    config = environment_config(environment)
    names = table_names(config)
    if table_name is not None and table_name not in names:
        fail(f"--table-name: {table_name!r} is not a table of the platform ({', '.join(sorted(names))})")
    at = now()
    end = datetime.combine(as_of_day(as_of), datetime.min.time(), tzinfo=at.tzinfo) if as_of else at
    start = end - timedelta(days=analyze_period)
    attributes = [names[table_name]] if table_name else list(TABLES)
    reviews = [review(config, attribute, start, end) for attribute in attributes]
    document = {
        "environment": config.environment,
        "generated_at": at,
        "period": {"start": start, "end": end, "days": analyze_period},
        "tables": reviews,
    }
    if fmt is OutputFormat.table:
        for entry in reviews[:-1]:
            emit(document, _table(entry), fmt, None)
    emit(document, _table(reviews[-1]), fmt, output)
    found = [change["what"] for entry in reviews for change in entry["changes"]]
    finish(f"{len(found)} change(s) to make: {'; '.join(found)}" if found else "")
