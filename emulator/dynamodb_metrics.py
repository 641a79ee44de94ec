"""The AWS/DynamoDB metrics DynamoDB publishes, for the requests the embedded AWS serves.

moto serves DynamoDB but publishes no metric, so `optimize dynamodb-queries` (and the runbook's
`aws cloudwatch get-metric-statistics --namespace AWS/DynamoDB ...`) would find nothing locally.
Here each DynamoDB request moto answers successfully is counted per account, region, table,
operation and minute, as DynamoDB reports it:

- `SuccessfulRequestLatency` (dimensions TableName, Operation): one sample per request, its
  latency in milliseconds (the `SampleCount` statistic is the number of requests);
- `ReturnedItemCount` (TableName, Operation) for `Query` and `Scan`: the items returned.

A batch or transaction counts once for each table it names. The counts are published into
moto's CloudWatch when a CloudWatch request arrives (nothing is read before that), stamped with
the minute they were served in (the emulator's clock).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from lambdas import clock

TARGET_PREFIX = "DynamoDB_20120810."
RETURNING = frozenset({"Query", "Scan"})

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]
Key = tuple[str, str, str, str, datetime]  # account, region, table, operation, minute


class DynamoDBMetrics:
    """Counts per table, operation and minute until CloudWatch is read; thread-safe."""

    def __init__(self) -> None:
        self._pending: dict[Key, list[float]] = {}  # samples, latency sum, min, max, returned
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._pending.clear()

    def watch(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        moto: WSGIApp,
        body: bytes,
        account: str,
    ) -> Iterable[bytes]:
        """Pass a DynamoDB request to moto and count it if moto answered 200."""
        operation = environ.get("HTTP_X_AMZ_TARGET", "")[len(TARGET_PREFIX) :]
        status: list[str] = []

        def watching(code: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            status.append(code)
            return start_response(code, headers, *rest)

        started = time.monotonic()
        answer = list(moto(environ, watching))
        latency = (time.monotonic() - started) * 1000
        if status and status[0].startswith("200"):
            returned = _returned(answer) if operation in RETURNING else 0
            for table in _tables(body):
                self._count(account, _region(environ), table, operation, latency, returned)
        return answer

    def _count(self, account: str, region: str, table: str, operation: str, latency: float, returned: int) -> None:
        # moto's CloudWatch keeps naive UTC times
        minute = clock.now().astimezone(UTC).replace(second=0, microsecond=0, tzinfo=None)
        with self._lock:
            entry = self._pending.setdefault((account, region, table, operation, minute), [0, 0.0, latency, latency, 0])
            entry[0] += 1
            entry[1] += latency
            entry[2], entry[3] = min(entry[2], latency), max(entry[3], latency)
            entry[4] += returned

    def publish(self) -> None:
        """Hand the counts to moto's CloudWatch (before a CloudWatch request is served)."""
        from moto.cloudwatch.models import cloudwatch_backends  # imported late: loads moto's models

        with self._lock:
            pending, self._pending = self._pending, {}
        for (account, region, table, operation, minute), entry in pending.items():
            samples, total, low, high, returned = entry
            dimensions = [{"Name": "TableName", "Value": table}, {"Name": "Operation", "Value": operation}]
            data: list[dict[str, Any]] = [
                {
                    "MetricName": "SuccessfulRequestLatency",
                    "Dimensions": dimensions,
                    "Timestamp": minute,
                    "StatisticValues": {"SampleCount": samples, "Sum": total, "Minimum": low, "Maximum": high},
                    "Unit": "Milliseconds",
                }
            ]
            if operation in RETURNING:
                data.append(
                    {
                        "MetricName": "ReturnedItemCount",
                        "Dimensions": dimensions,
                        "Timestamp": minute,
                        "Value": returned,
                        "Unit": "Count",
                    }
                )
            cloudwatch_backends[account][region].put_metric_data("AWS/DynamoDB", data)


def _tables(body: bytes) -> list[str]:
    try:
        request = json.loads(body or b"{}")
    except ValueError:
        return []
    if not isinstance(request, dict):
        return []
    if request.get("TableName"):
        return [str(request["TableName"])]
    if isinstance(request.get("RequestItems"), dict):
        return sorted(request["RequestItems"])
    names = set()
    for item in request.get("TransactItems") or []:
        for action in item.values() if isinstance(item, dict) else ():
            if isinstance(action, dict) and action.get("TableName"):
                names.add(str(action["TableName"]))
    return sorted(names)


def _returned(answer: list[bytes]) -> int:
    try:
        return int(json.loads(b"".join(answer)).get("Count", 0))
    except (ValueError, AttributeError, TypeError):
        return 0


def _region(environ: dict[str, Any]) -> str:
    """The region of the SigV4 credential scope (.../20261127/us-east-1/dynamodb/aws4_request)."""
    authorization = environ.get("HTTP_AUTHORIZATION", "")
    marker = "/dynamodb/aws4_request"
    if marker in authorization:
        return authorization.split(marker, 1)[0].rsplit("/", 1)[-1]
    return "us-east-1"
