"""Cost Explorer answers turned into plain rows, with their shape checked.

A grouped answer has an empty `Total`; the amounts are in `Groups[].Metrics[metric]`. Any
other shape fails the run with a clear CostDataError: never a wrong report.

Answers are split into cache cells (one per dataset, account and day or month, see planner.py);
the report reads rows of the client's own accounts back out of those cells and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from lambdas.logic.planner import Cell, CellKey, Need, cell_key
from lambdas.logic.queries import CREDIT_RECORD_TYPES
from lambdas.models.exceptions import CostDataError


@dataclass(frozen=True)
class CostRow:
    day: date
    service: str
    account_id: str
    amount: Decimal


@dataclass
class CostData:
    """Cost rows of the client's accounts, with what Cost Explorer said about each day.

    `rows` are daily costs by service and account, credits and refunds excluded (when read
    through the planner). `credit_rows` hold credits and refunds (`service` = record type), by
    day or, for monthly reports, by month (`day` = first day). `monthly_rows` hold every record
    type by month for the trend; `breakdown_rows` the client's tag or cost category values.
    """

    rows: list[CostRow] = field(default_factory=list)
    days: set[date] = field(default_factory=set)  # days Cost Explorer answered for
    estimated_days: set[date] = field(default_factory=set)
    account_names: dict[str, str] = field(default_factory=dict)
    unit: str | None = None
    credit_rows: list[CostRow] = field(default_factory=list)
    monthly_rows: list[CostRow] = field(default_factory=list)
    estimated_months: set[date] = field(default_factory=set)
    breakdown_rows: list[CostRow] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # sections the run could not fetch (budget)


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


@dataclass
class SplitAnswer:
    """An answer split per account and period. Periods a truncated answer may hold only part of
    are left out, so every cell here is whole."""

    cells: dict[CellKey, Cell] = field(default_factory=dict)
    account_names: dict[str, str] = field(default_factory=dict)
    unit: str | None = None
    periods: list[date] = field(default_factory=list)  # whole periods answered, in order


def _group_value(raw: str, group_type: str) -> str:
    # Tags and cost categories answer "key$value" ("key$" = untagged / uncategorised).
    if group_type in ("TAG", "COST_CATEGORY"):
        return raw.split("$", 1)[1] if "$" in raw else raw
    return raw


def split_answer(
    pages: list[dict[str, Any]],
    need: Need,
    *,
    metric: str,
    accounts: Iterable[str],
    fetched_at: datetime,
    complete: bool = True,
) -> SplitAnswer:
    """Cells of a [dataset key, LINKED_ACCOUNT] answer, for every account the request named.

    An account outside `accounts` in the answer means the query was not scoped as sent; that
    fails the run rather than let one client's costs land under another. When the answer was cut
    short (`complete=False`, the request budget ran out), its last period is dropped: a page
    boundary may fall inside it.
    """
    allowed = set(accounts)
    split = SplitAnswer()
    sums: dict[tuple[date, str], dict[str, Decimal]] = {}
    estimated: dict[date, bool] = {}
    for number, page in enumerate(pages, start=1):
        results = page.get("ResultsByTime") if isinstance(page, dict) else None
        if not isinstance(results, list):
            raise CostDataError(f"page {number}: ResultsByTime missing")
        for attribute in page.get("DimensionValueAttributes") or []:
            value = attribute.get("Value")
            name = (attribute.get("Attributes") or {}).get("description")
            if value and name and value in allowed:
                split.account_names[str(value)] = str(name)
        for result in results:
            where = f"page {number}"
            if not isinstance(result, dict) or not isinstance(result.get("TimePeriod"), dict):
                raise CostDataError(f"{where}: a result has no TimePeriod")
            start = _date(result["TimePeriod"].get("Start"), where)
            end = _date(result["TimePeriod"].get("End"), where)
            if end != need.period_end(start):
                raise CostDataError(f"{where}: expected {need.granularity.lower()} periods, got {start}..{end}")
            groups = result.get("Groups")
            if not isinstance(groups, list):
                raise CostDataError(f"{where}: {start} has no Groups list (was the query grouped?)")
            if start not in estimated:
                split.periods.append(start)
            estimated[start] = estimated.get(start, False) or result.get("Estimated") is True
            for group in groups:
                keys = group.get("Keys") if isinstance(group, dict) else None
                if not isinstance(keys, list) or len(keys) != 2:
                    raise CostDataError(f"{where}: {start} has a group without two keys")
                value, account = _group_value(str(keys[0]), need.dataset.group_type), str(keys[1])
                if account not in allowed:
                    raise CostDataError(
                        f"{where}: answer holds account {account}, outside the accounts the query named"
                    )
                amount, unit = _amount(group.get("Metrics"), metric, f"{where} {start}")
                if split.unit is None:
                    split.unit = unit
                elif unit != split.unit:
                    raise CostDataError(f"{where}: mixed units {split.unit} and {unit}")
                slot = sums.setdefault((start, account), {})
                slot[value] = slot.get(value, Decimal(0)) + amount
    if not complete and split.periods:
        split.periods.pop()
    for start in split.periods:
        for account in allowed:
            split.cells[cell_key(need, account, start)] = Cell(
                groups=sums.get((start, account), {}), estimated=estimated[start], fetched_at=fetched_at
            )
    return split


def cost_data_from_cells(
    needs: list[Need], cells: Mapping[CellKey, Cell], accounts: list[str], account_names: Mapping[str, str]
) -> CostData:
    """The client's rows, read from cells of its own accounts only (never another client's)."""
    data = CostData(account_names={a: n for a, n in account_names.items() if a in accounts})
    for need in needs:
        for start in need.periods():
            answered = True
            for account in accounts:
                cell = cells.get(cell_key(need, account, start))
                if cell is None:
                    answered = False
                    continue
                _collect(data, need, start, account, cell)
            if need.section == "services" and answered:
                data.days.add(start)
    return data


def _collect(data: CostData, need: Need, start: date, account: str, cell: Cell) -> None:
    rows = [CostRow(start, key, account, amount) for key, amount in sorted(cell.groups.items())]
    if need.section == "services":
        data.rows.extend(rows)
        if cell.estimated:
            data.estimated_days.add(start)
    elif need.section == "breakdown":
        data.breakdown_rows.extend(rows)
    elif need.granularity == "MONTHLY":
        data.monthly_rows.extend(rows)
        data.credit_rows.extend(row for row in rows if row.service in CREDIT_RECORD_TYPES)
        if cell.estimated:
            data.estimated_months.add(start)
    else:
        data.credit_rows.extend(row for row in rows if row.service in CREDIT_RECORD_TYPES)
