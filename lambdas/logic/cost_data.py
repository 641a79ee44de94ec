"""Cost Explorer answers turned into cells, and cells into what a report is built from. Pure.

A grouped answer has an empty `Total`; the amounts are in `Groups[].Metrics[metric]`. Any other
shape, an account the query did not name, a group repeated within a period, or groups that do not
add up to a `Total` the answer does give, fails the run with a clear CostDataError: never a wrong
report.

Answers are split into cache cells (one per dataset, account and day or month, see planner.py);
the report reads its client's own accounts back out of those cells and nothing else. A period
for which any of the client's accounts has no cell is *missing*: never counted as zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from lambdas.logic.needs import RECORD_TYPES, Cell, CellKey, Dataset, Need, cell_key
from lambdas.logic.periods import SETTLED_AFTER
from lambdas.logic.queries import CREDIT_RECORD_TYPES
from lambdas.models.exceptions import CostDataError
from lambdas.models.report import Correction

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class CostRow:
    day: date
    service: str
    account_id: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class DayTotals:
    """One day's (or month's) cost of the client's accounts: before credits, and its credits."""

    gross: Decimal
    credits: Decimal = ZERO


@dataclass
class CostData:
    """What the report is built from, for the client's own accounts only.

    `rows`: cost by service and account (credits excluded) over the compared periods (days, or
    months for monthly reports). `credit_rows`: credits and refunds (`service` = record type)
    over the same periods. `daily`: each day every account answered for, before credits and its
    credits; `monthly` the same by month (the trend). `service_by_day`: cost by service of each
    day read by service for every account (the compared days, and anomaly days for attribution).
    A day or month absent from them was not read. `missing`: sections with unread periods, and
    how many.
    """

    rows: list[CostRow] = field(default_factory=list)
    credit_rows: list[CostRow] = field(default_factory=list)
    daily: dict[date, DayTotals] = field(default_factory=dict)
    monthly: dict[date, DayTotals] = field(default_factory=dict)
    breakdown_rows: list[CostRow] = field(default_factory=list)
    service_by_day: dict[date, dict[str, Decimal]] = field(default_factory=dict)
    estimated_days: set[date] = field(default_factory=set)
    estimated_months: set[date] = field(default_factory=set)
    provisional_days: set[date] = field(default_factory=set)  # fetched before they were settled
    account_names: dict[str, str] = field(default_factory=dict)
    unit: str | None = None
    missing: dict[str, int] = field(default_factory=dict)  # section -> periods not read

    @property
    def days(self) -> set[date]:
        """Days read for every account."""
        return set(self.daily)

    @classmethod
    def from_rows(cls, rows: Iterable[CostRow], *, credit_rows: Iterable[CostRow] = (), **fields: Any) -> CostData:
        """Cost data of fully read days given as rows (tests and fixtures): the daily totals are
        the rows' sums."""
        data = cls(rows=list(rows), credit_rows=list(credit_rows), **fields)
        for row in data.rows:
            totals = data.daily.get(row.day, DayTotals(ZERO))
            data.daily[row.day] = DayTotals(totals.gross + row.amount, totals.credits)
            services = data.service_by_day.setdefault(row.day, {})
            services[row.service] = services.get(row.service, ZERO) + row.amount
        for row in data.credit_rows:
            totals = data.daily.get(row.day, DayTotals(ZERO))
            data.daily[row.day] = DayTotals(totals.gross, totals.credits + row.amount)
        return data


# -- answers into cells --------------------------------------------------------------------------


class Scoped(Protocol):
    """What an answer is split by: a planned request or a need (its dataset and periods)."""

    @property
    def dataset(self) -> Dataset: ...

    @property
    def granularity(self) -> str: ...

    def period_end(self, start: date) -> date: ...


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
    full_pages: list[int] = field(default_factory=list)  # groups on each page that had a next page
    groups: int = 0  # groups in the whole periods


def _group_value(raw: str, group_type: str) -> str:
    # Tags and cost categories answer "key$value" ("key$" = untagged / uncategorised).
    if group_type in ("TAG", "COST_CATEGORY"):
        return raw.split("$", 1)[1] if "$" in raw else raw
    return raw


@dataclass
class _Period:
    estimated: bool = False
    sums: dict[str, dict[str, Decimal]] = field(default_factory=dict)  # account -> value -> amount
    seen: set[tuple[str, str]] = field(default_factory=set)  # raw (value, account) keys
    totals: list[Decimal] = field(default_factory=list)  # Total amounts the answer gave
    groups: int = 0


def split_answer(
    pages: Iterable[dict[str, Any]],
    scoped: Scoped,
    *,
    metric: str,
    accounts: Iterable[str],
    fetched_at: datetime,
    complete: bool | None = None,
) -> SplitAnswer:
    """Cells of a [dataset key, LINKED_ACCOUNT] answer, for every account the request named. The
    pages are read one at a time (an answer that iterates them as they arrive keeps none).

    An account outside `accounts` in the answer means the query was not scoped as sent; that
    fails the run rather than let one client's costs land under another. When the answer was cut
    short (`complete` False, or the pages' own `complete` after iterating them: the budget ran out,
    or a page failed), its last period is dropped: a page boundary may fall inside it.
    """
    allowed = set(accounts)
    split = SplitAnswer()
    periods: dict[date, _Period] = {}
    for number, page in enumerate(pages, start=1):
        results = page.get("ResultsByTime") if isinstance(page, dict) else None
        if not isinstance(results, list):
            raise CostDataError(f"page {number}: ResultsByTime missing")
        for attribute in page.get("DimensionValueAttributes") or []:
            value = attribute.get("Value")
            name = (attribute.get("Attributes") or {}).get("description")
            if value and name and value in allowed:
                split.account_names[str(value)] = str(name)
        on_page = 0
        for result in results:
            on_page += _read_result(result, f"page {number}", scoped, metric, allowed, periods, split)
        if page.get("NextPageToken"):
            split.full_pages.append(on_page)
    if complete is None:
        complete = getattr(pages, "complete", True)
    starts = list(periods)
    if not complete and starts:
        starts.pop()
    for start in starts:
        period = periods[start]
        _check_total(period, start)
        split.periods.append(start)
        split.groups += period.groups
        for account in sorted(allowed):
            split.cells[(scoped.granularity, scoped.dataset.name, account, start)] = Cell(
                groups=period.sums.get(account, {}), estimated=period.estimated, fetched_at=fetched_at
            )
    return split


def _read_result(
    result: Any,
    where: str,
    scoped: Scoped,
    metric: str,
    allowed: set[str],
    periods: dict[date, _Period],
    split: SplitAnswer,
) -> int:
    """One ResultsByTime entry into its period's sums; returns the groups it held."""
    if not isinstance(result, dict) or not isinstance(result.get("TimePeriod"), dict):
        raise CostDataError(f"{where}: a result has no TimePeriod")
    start = _date(result["TimePeriod"].get("Start"), where)
    end = _date(result["TimePeriod"].get("End"), where)
    if end != scoped.period_end(start):
        raise CostDataError(f"{where}: expected {scoped.granularity.lower()} periods, got {start}..{end}")
    groups = result.get("Groups")
    if not isinstance(groups, list):
        raise CostDataError(f"{where}: {start} has no Groups list (was the query grouped?)")
    period = periods.setdefault(start, _Period())
    period.estimated = period.estimated or result.get("Estimated") is True
    total = result.get("Total")
    if isinstance(total, dict) and total.get(metric):
        period.totals.append(_amount(total, metric, f"{where} {start} Total")[0])
    for group in groups:
        keys = group.get("Keys") if isinstance(group, dict) else None
        if not isinstance(keys, list) or len(keys) != 2:
            raise CostDataError(f"{where}: {start} has a group without two keys")
        raw, account = str(keys[0]), str(keys[1])
        if account not in allowed:
            raise CostDataError(f"{where}: answer holds account {account}, outside the accounts the query named")
        if (raw, account) in period.seen:
            raise CostDataError(f"{where}: {start} repeats the group {raw!r} of account {account}")
        period.seen.add((raw, account))
        amount, unit = _amount(group.get("Metrics"), metric, f"{where} {start}")
        if split.unit is None:
            split.unit = unit
        elif unit != split.unit:
            raise CostDataError(f"{where}: mixed units {split.unit} and {unit}")
        value = _group_value(raw, scoped.dataset.group_type)
        slot = period.sums.setdefault(account, {})
        slot[value] = slot.get(value, ZERO) + amount
        period.groups += 1
    return len(groups)


def _check_total(period: _Period, start: date) -> None:
    """Cost Explorer leaves `Total` empty in a grouped answer; where an answer does give one, its
    groups must add up to it."""
    if not period.totals:
        return
    if len(set(period.totals)) > 1:
        raise CostDataError(f"{start}: the answer gives different totals for one period")
    added = sum((amount for slot in period.sums.values() for amount in slot.values()), ZERO)
    if added != period.totals[0]:
        raise CostDataError(f"{start}: groups add up to {added}, the answer's total is {period.totals[0]}")


# -- cells into the report's data ------------------------------------------------------------------


def provisional(cell: Cell, start: date, granularity: str) -> bool:
    """A day fetched before Cost Explorer could have refreshed it after it ended."""
    if granularity != "DAILY" or not cell.estimated or cell.fetched_at is None:
        return False
    day_end = datetime(start.year, start.month, start.day, tzinfo=cell.fetched_at.tzinfo) + timedelta(days=1)
    return cell.fetched_at < day_end + SETTLED_AFTER


def _gross_and_credits(cell: Cell) -> DayTotals:
    credits = sum((amount for key, amount in cell.groups.items() if key in CREDIT_RECORD_TYPES), ZERO)
    gross = sum((amount for key, amount in cell.groups.items() if key not in CREDIT_RECORD_TYPES), ZERO)
    return DayTotals(gross, credits)


def cost_data_from_cells(
    needs: list[Need], cells: Mapping[CellKey, Cell], accounts: list[str], account_names: Mapping[str, str]
) -> CostData:
    """The client's data, read from cells of its own accounts only (never another client's)."""
    data = CostData(account_names={a: n for a, n in account_names.items() if a in accounts})
    done: set[tuple[str, str, date]] = set()
    for need in needs:
        unread = 0
        for start in need.periods():
            found = [cells.get(cell_key(need, account, start)) for account in accounts]
            whole = [cell for cell in found if cell is not None]
            if len(whole) < len(found):
                unread += 1
                continue
            key = (need.granularity, need.dataset.name, start)
            if key in done:
                continue
            done.add(key)
            _collect(data, need, start, dict(zip(accounts, whole, strict=True)))
        if unread:
            data.missing[need.section] = unread
    return data


def _collect(data: CostData, need: Need, start: date, cells: Mapping[str, Cell]) -> None:
    estimated = any(cell.estimated for cell in cells.values())
    if need.granularity == "DAILY":
        if estimated:
            data.estimated_days.add(start)
        # Cells of one answer share their fetch time: judge each distinct time once.
        if any(provisional(Cell(estimated=True, fetched_at=at), start, "DAILY") for at in _fetch_times(cells)):
            data.provisional_days.add(start)
    elif estimated:
        data.estimated_months.add(start)
    group_key = need.dataset.group_key
    if group_key == "SERVICE":
        if need.section == "core":
            data.rows.extend(_rows(start, cells))
        if need.granularity == "DAILY":
            by_service: dict[str, Decimal] = {}
            for cell in cells.values():
                for service, amount in cell.groups.items():
                    by_service[service] = by_service.get(service, ZERO) + amount
            data.service_by_day[start] = dict(sorted(by_service.items()))
    elif group_key == "RECORD_TYPE":
        gross = credits = ZERO
        for cell in cells.values():
            for record_type, amount in cell.groups.items():
                if record_type in CREDIT_RECORD_TYPES:
                    credits += amount
                else:
                    gross += amount
        (data.daily if need.granularity == "DAILY" else data.monthly)[start] = DayTotals(gross, credits)
        if need.section == "credits":
            data.credit_rows.extend(row for row in _rows(start, cells) if row.service in CREDIT_RECORD_TYPES)
    else:
        data.breakdown_rows.extend(_rows(start, cells))


def _fetch_times(cells: Mapping[str, Cell]) -> set[datetime]:
    return {cell.fetched_at for cell in cells.values() if cell.estimated and cell.fetched_at is not None}


def _rows(start: date, cells: Mapping[str, Cell]) -> list[CostRow]:
    return [
        CostRow(start, key, account, amount)
        for account, cell in sorted(cells.items())
        for key, amount in sorted(cell.groups.items())
    ]


def corrections(
    before: Mapping[CellKey, Cell], after: Mapping[CellKey, Cell], accounts: list[str], *, before_day: date
) -> list[Correction]:
    """Days an earlier report showed while they were still filling in (their cached cells were
    provisional), now read settled, whose cost before credits changed: the report says so."""
    found: list[Correction] = []
    days = sorted(
        {
            start
            for (granularity, dataset, _, start) in after
            if granularity == "DAILY" and dataset == RECORD_TYPES.name and start < before_day
        }
    )
    for day in days:
        keys = [("DAILY", RECORD_TYPES.name, account, day) for account in accounts]
        old = [before.get(key) for key in keys]
        new = [after.get(key) for key in keys]
        if any(cell is None for cell in (*old, *new)):
            continue
        old_cells = [cell for cell in old if cell is not None]
        new_cells = [cell for cell in new if cell is not None]
        if not any(provisional(cell, day, "DAILY") for cell in old_cells):
            continue
        if any(provisional(cell, day, "DAILY") for cell in new_cells):
            continue
        reported = sum((_gross_and_credits(cell).gross for cell in old_cells), ZERO)
        settled = sum((_gross_and_credits(cell).gross for cell in new_cells), ZERO)
        if reported != settled:
            found.append(Correction(date=day, reported=reported, settled=settled))
    return found
