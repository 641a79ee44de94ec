"""Cost Explorer answers turned into plain rows, with their shape checked.

A grouped answer has an empty `Total`; the amounts are in `Groups[].Metrics[metric]`. Any
other shape fails the run with a clear CostDataError: never a wrong report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from lambdas.models.exceptions import CostDataError


@dataclass(frozen=True)
class CostRow:
    day: date
    service: str
    account_id: str
    amount: Decimal


@dataclass
class CostData:
    """Daily cost by service and account, with what Cost Explorer said about each day."""

    rows: list[CostRow] = field(default_factory=list)
    days: set[date] = field(default_factory=set)  # days Cost Explorer answered for
    estimated_days: set[date] = field(default_factory=set)
    account_names: dict[str, str] = field(default_factory=dict)
    unit: str | None = None


def _date(value: Any, where: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise CostDataError(f"{where}: not a date: {value!r}") from None


def _amount(metrics: Any, metric: str, where: str) -> tuple[Decimal, str]:
    if not isinstance(metrics, dict) or metric not in metrics:
        raise CostDataError(f"{where}: metric {metric} missing from the answer")
    entry = metrics[metric]
    try:
        amount = Decimal(str(entry["Amount"]))
        unit = str(entry["Unit"])
    except (KeyError, TypeError, InvalidOperation):
        raise CostDataError(f"{where}: {metric} has no decimal Amount and Unit") from None
    if not amount.is_finite():
        raise CostDataError(f"{where}: {metric} amount is not finite")
    return amount, unit


def parse_daily_by_service_and_account(
    pages: list[dict[str, Any]], metric: str, allowed_accounts: set[str]
) -> CostData:
    """Rows of a DAILY answer grouped by [SERVICE, LINKED_ACCOUNT], across all its pages.

    An account outside `allowed_accounts` in the answer means the query was not scoped as
    sent; that fails the run rather than show one client another's costs.
    """
    data = CostData()
    for number, page in enumerate(pages, start=1):
        results = page.get("ResultsByTime") if isinstance(page, dict) else None
        if not isinstance(results, list):
            raise CostDataError(f"page {number}: ResultsByTime missing")
        for attribute in page.get("DimensionValueAttributes") or []:
            value = attribute.get("Value")
            name = (attribute.get("Attributes") or {}).get("description")
            if value and name:
                data.account_names[str(value)] = str(name)
        for result in results:
            _parse_result(result, metric, allowed_accounts, data, f"page {number}")
    return data


def _parse_result(result: Any, metric: str, allowed_accounts: set[str], data: CostData, where: str) -> None:
    if not isinstance(result, dict) or not isinstance(result.get("TimePeriod"), dict):
        raise CostDataError(f"{where}: a result has no TimePeriod")
    start = _date(result["TimePeriod"].get("Start"), where)
    end = _date(result["TimePeriod"].get("End"), where)
    if end - start != timedelta(days=1):
        raise CostDataError(f"{where}: expected daily periods, got {start}..{end}")
    groups = result.get("Groups")
    if not isinstance(groups, list):
        raise CostDataError(f"{where}: {start} has no Groups list (was the query grouped?)")
    data.days.add(start)
    if result.get("Estimated") is True:
        data.estimated_days.add(start)
    for group in groups:
        keys = group.get("Keys") if isinstance(group, dict) else None
        if not isinstance(keys, list) or len(keys) != 2:
            raise CostDataError(f"{where}: {start} has a group without two keys")
        service, account = str(keys[0]), str(keys[1])
        if account not in allowed_accounts:
            raise CostDataError(f"{where}: answer holds account {account}, outside the client's accounts")
        amount, unit = _amount(group.get("Metrics"), metric, f"{where} {start}")
        if data.unit is None:
            data.unit = unit
        elif unit != data.unit:
            raise CostDataError(f"{where}: mixed units {data.unit} and {unit}")
        data.rows.append(CostRow(day=start, service=service, account_id=account, amount=amount))
