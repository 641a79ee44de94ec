"""Cost Explorer request shapes. Pure: builds the request dicts, sends nothing."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

# What AWS charges for each Cost Explorer API request (GetCostAndUsage, GetCostForecast, ...).
PRICE_PER_REQUEST_USD = "0.01"


def requests_cost_usd(requests: int) -> Decimal:
    """What AWS charges for this many Cost Explorer requests (pages included)."""
    return Decimal(PRICE_PER_REQUEST_USD) * requests


# Record types shown as their own "credits" lines and excluded from the totals on request.
CREDIT_RECORD_TYPES: tuple[str, ...] = ("Credit", "Refund")
# GetCostForecast names its metrics differently from GetCostAndUsage.
FORECAST_METRICS = {
    "UnblendedCost": "UNBLENDED_COST",
    "AmortizedCost": "AMORTIZED_COST",
    "NetAmortizedCost": "NET_AMORTIZED_COST",
}


def dimension(key: str, values: list[str]) -> dict[str, Any]:
    return {"Dimensions": {"Key": key, "Values": list(values)}}


def all_of(*expressions: dict[str, Any] | None) -> dict[str, Any] | None:
    """An `And` only when there are two or more operands: Cost Explorer rejects a one-operand And."""
    present = [e for e in expressions if e]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    return {"And": present}


def without_credits() -> dict[str, Any]:
    return {"Not": dimension("RECORD_TYPE", list(CREDIT_RECORD_TYPES))}


def cost_and_usage(
    start: date,
    end_exclusive: date,
    *,
    granularity: str,
    metric: str,
    group_by: list[tuple[str, str]],
    accounts: list[str],
    exclude_credits: bool = False,
) -> dict[str, Any]:
    """One GetCostAndUsage request, always scoped to the listed accounts."""
    if len(group_by) > 2:
        raise ValueError("Cost Explorer accepts at most two GroupBy entries")
    request: dict[str, Any] = {
        "TimePeriod": {"Start": start.isoformat(), "End": end_exclusive.isoformat()},
        "Granularity": granularity,
        "Metrics": [metric],
        "GroupBy": [{"Type": kind, "Key": key} for kind, key in group_by],
    }
    expression = all_of(
        dimension("LINKED_ACCOUNT", sorted(accounts)) if accounts else None,
        without_credits() if exclude_credits else None,
    )
    if expression:
        request["Filter"] = expression
    return request


def cost_forecast(start: date, end_exclusive: date, *, metric: str, accounts: list[str]) -> dict[str, Any]:
    """GetCostForecast of the rest of the month (only for clients that opt in)."""
    request: dict[str, Any] = {
        "TimePeriod": {"Start": start.isoformat(), "End": end_exclusive.isoformat()},
        "Metric": FORECAST_METRICS[metric],
        "Granularity": "MONTHLY",
    }
    expression = all_of(dimension("LINKED_ACCOUNT", sorted(accounts)))
    if expression:
        request["Filter"] = expression
    return request
