"""`optimize dynamodb-queries`: how each table is read and written, and the change to make.

Per table: its keys, indexes and size (DescribeTable); the code's access patterns
(cli/reviews/query_patterns.py: every call, where it is, what it asks); the operations measured in the
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
from decimal import Decimal
from typing import Any

from cli.reviews import query_patterns
from cli.reviews.pricing import price
from infrastructure.config import TABLES, EnvironmentConfig, for_environment

PARTITION_READS, PARTITION_WRITES = 3000, 1000  # per second, per partition (DynamoDB's documented limits)
READ_UNIT_BYTES = 4096
TOP_KEYS = 5


def table_names(config: EnvironmentConfig) -> dict[str, str]:
    """`--table-name` values: the environment's table names and the production names the users'
    runbook writes (cost-reporting-clients), each to its attribute of TABLES."""
    prod = for_environment("prod")
    return {name: a for a in TABLES for name in (getattr(prod, a), getattr(config, a))}


def layout(name: str, table: dict[str, Any]) -> dict[str, Any]:
    """The table's keys, indexes and sizes, from its description (DescribeTable's `Table`)."""
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


def share(part: int, whole: int, places: str = "0.0001") -> Decimal | None:
    return (Decimal(part) / whole).quantize(Decimal(places)) if whole else None


def spread_keys(description: dict[str, Any]) -> list[str]:
    """The partition keys of the table and of each index: what `key_spread` counts items by."""
    return [description["partition_key"], *(index["partition_key"] for index in description["indexes"])]


def key_spread(counts: dict[str, Counter[str]], description: dict[str, Any]) -> dict[str, Any]:
    """Items per partition key of the table and of each index, the most loaded first."""
    units = math.ceil(description["bytes"] / READ_UNIT_BYTES / 2) if description["bytes"] else 0
    spread = {}
    for key, counter in counts.items():
        total = sum(counter.values())
        spread[key] = {
            "keys": len(counter),
            "items": total,
            "top": [{"key": k, "items": n, "share": share(n, total)} for k, n in counter.most_common(TOP_KEYS)],
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
