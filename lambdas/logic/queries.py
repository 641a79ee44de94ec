"""Cost Explorer request shapes. Pure: builds the request dicts, sends nothing."""

from __future__ import annotations

from datetime import date
from typing import Any


def dimension(key: str, values: list[str]) -> dict[str, Any]:
    return {"Dimensions": {"Key": key, "Values": list(values)}}


def all_of(*expressions: dict[str, Any]) -> dict[str, Any] | None:
    """An `And` only when there are two or more operands: Cost Explorer rejects a one-operand And."""
    present = [e for e in expressions if e]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return {"And": present}


def daily_by_service_and_account(start: date, end_exclusive: date, accounts: list[str], metric: str) -> dict[str, Any]:
    """One request for the whole report: daily cost by service and linked account, over both
    the current and the comparison period, restricted to the client's own accounts."""
    request: dict[str, Any] = {
        "TimePeriod": {"Start": start.isoformat(), "End": end_exclusive.isoformat()},
        "Granularity": "DAILY",
        "Metrics": [metric],
        "GroupBy": [
            {"Type": "DIMENSION", "Key": "SERVICE"},
            {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"},
        ],
    }
    expression = all_of(dimension("LINKED_ACCOUNT", sorted(accounts)))
    if expression:
        request["Filter"] = expression
    return request
