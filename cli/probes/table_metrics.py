"""A table's requests, items returned, busiest hour and throttles as CloudWatch has them (AWS/DynamoDB)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from cli.aws_errors import problem
from cli.probes import sources
from cli.probes.resources import metric_points
from cli.reviews import query_patterns
from cli.reviews.dynamodb_queries import share


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
        "read_share": {op: share(count, reads) for op, count in operations.items() if op in query_patterns.READS},
        "returned_items": returned,
        "busiest_hour": {"at": busiest[0], "requests": busiest[1], "per_second": share(busiest[1], 3600, "0.01")}
        if busiest
        else None,
        "throttles": throttles,
    }
