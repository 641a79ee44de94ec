"""The Cost Explorer query planner. Pure: from what a report needs and what the cache holds, the
smallest set of GetCostAndUsage requests (docs/cost-explorer.md).

Every request groups by one "dataset" key (SERVICE, RECORD_TYPE, a tag or a cost category) and
by LINKED_ACCOUNT, so that every answer splits per account and day (or month) into cache cells,
whoever asked for it. A report needs at most:

1. `services`: DAILY [SERVICE, LINKED_ACCOUNT], credits and refunds excluded (`Not` RECORD_TYPE),
   over every day any section uses (current and comparison periods, chart, month to date, anomaly
   baseline): one request feeds by_service, by_account, daily, movers, anomalies, forecast and CSV.
2. `record_types`: [RECORD_TYPE, LINKED_ACCOUNT], unfiltered: credits and refunds as their own
   lines, and (MONTHLY, for monthly reports) the 6-month trend. DAILY for daily and weekly reports.
3. `breakdown` (only when the client configures a tag or cost category key): [key, LINKED_ACCOUNT].

A cell is fresh when Cost Explorer said it was final (`Estimated: false`), or when it was fetched
on the run's own (UTC) day. A dataset whose cells are all fresh costs no request; otherwise one
request covers the stale range (first stale day to last stale day) for the client's accounts and,
where it fits in one page, the accounts of other clients reached through the same credentials.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from lambdas.logic.periods import ONE_DAY, ReportWindow, add_months, month_last_day
from lambdas.logic.queries import cost_and_usage
from lambdas.models.client import Client

# Cost Explorer does not document its page size; the emulator pages at 5,000 groups, and the
# planner assumes the same when it decides how many other clients' accounts fit in one request.
ASSUMED_PAGE_GROUPS = 5000
# Typical groups per account and period, for that estimate only (never for correctness).
_GROUPS_PER_ACCOUNT = {"SERVICE": 20, "RECORD_TYPE": 3}
_DEFAULT_GROUPS_PER_ACCOUNT = 10


@dataclass(frozen=True)
class Dataset:
    """What the first GroupBy is (the second is always LINKED_ACCOUNT), and the record filter."""

    group_type: str  # DIMENSION | TAG | COST_CATEGORY
    group_key: str
    exclude_credits: bool = False

    @property
    def name(self) -> str:
        return f"{self.group_type}:{self.group_key}" + (":no-credits" if self.exclude_credits else "")


SERVICES = Dataset("DIMENSION", "SERVICE", exclude_credits=True)
RECORD_TYPES = Dataset("DIMENSION", "RECORD_TYPE")


@dataclass(frozen=True)
class Need:
    """One section's data: a dataset at a granularity over a range (End exclusive)."""

    section: str  # services | record_types | breakdown
    dataset: Dataset
    granularity: str  # DAILY | MONTHLY
    start: date
    end_exclusive: date

    def periods(self) -> list[date]:
        """Start days of the periods Cost Explorer answers with (days, or first days of months)."""
        starts: list[date] = []
        day = self.start
        while day < self.end_exclusive:
            starts.append(day)
            day = day + ONE_DAY if self.granularity == "DAILY" else add_months(day, 1)
        return starts

    def period_end(self, start: date) -> date:
        """Exclusive end of the period starting on `start`."""
        return start + ONE_DAY if self.granularity == "DAILY" else min(add_months(start, 1), self.end_exclusive)


CellKey = tuple[str, str, str, date]  # (granularity, dataset name, account, period start)


@dataclass
class Cell:
    """What Cost Explorer said about one account in one period of one dataset."""

    groups: dict[str, Decimal] = field(default_factory=dict)  # group key -> amount
    estimated: bool = True
    fetched_at: datetime | None = None

    def fresh(self, today: date) -> bool:
        """Final data never changes; an estimate is reused only on the day it was fetched."""
        if not self.estimated:
            return True
        return self.fetched_at is not None and self.fetched_at.date() == today


def cell_key(need: Need, account: str, start: date) -> CellKey:
    return (need.granularity, need.dataset.name, account, start)


def needs_for(client: Client, window: ReportWindow) -> list[Need]:
    """What a report of this window needs, in the order requests are sent (most important first)."""
    start, end = window.query_start, window.query_end_exclusive
    needs = [Need("services", SERVICES, "DAILY", start, end)]
    if window.trend_months:
        first, last = window.trend_months[0], window.trend_months[-1]
        needs.append(Need("record_types", RECORD_TYPES, "MONTHLY", first, month_last_day(last) + ONE_DAY))
    else:
        needs.append(Need("record_types", RECORD_TYPES, "DAILY", start, end))
    if client.breakdown is not None:
        group_type = "TAG" if client.breakdown.type == "tag" else "COST_CATEGORY"
        dataset = Dataset(group_type, client.breakdown.key, exclude_credits=not client.include_credits)
        needs.append(Need("breakdown", dataset, "DAILY", window.comparison_start, window.current.end + ONE_DAY))
    return needs


@dataclass(frozen=True)
class PlannedRequest:
    need: Need
    start: date
    end_exclusive: date
    accounts: tuple[str, ...]  # the request's LINKED_ACCOUNT filter: the client's, then shared ones
    metric: str

    def request(self) -> dict[str, Any]:
        return cost_and_usage(
            self.start,
            self.end_exclusive,
            granularity=self.need.granularity,
            metric=self.metric,
            group_by=[(self.need.dataset.group_type, self.need.dataset.group_key), ("DIMENSION", "LINKED_ACCOUNT")],
            accounts=list(self.accounts),
            exclude_credits=self.need.dataset.exclude_credits,
        )


@dataclass
class Plan:
    requests: list[PlannedRequest]
    cache_hits: int  # needs answered entirely from the cache: requests not sent


def _estimated_groups(need: Need, periods: int, accounts: int) -> int:
    per_account = _GROUPS_PER_ACCOUNT.get(need.dataset.group_key, _DEFAULT_GROUPS_PER_ACCOUNT)
    return periods * accounts * per_account


def plan(
    needs: list[Need],
    cells: Mapping[CellKey, Cell],
    *,
    accounts: list[str],
    metric: str,
    today: date,
    shared_accounts: Sequence[str] = (),
) -> Plan:
    """The requests that bring every need's cells up to date, one per stale need at most."""
    requests: list[PlannedRequest] = []
    hits = 0
    own = sorted(set(accounts))
    peers = sorted(set(shared_accounts) - set(own))
    for need in needs:
        stale = [
            start
            for start in need.periods()
            if any(not _fresh(cells.get(cell_key(need, account, start)), today) for account in own)
        ]
        if not stale:
            hits += 1
            continue
        start, end = stale[0], need.period_end(stale[-1])
        periods = len([p for p in need.periods() if start <= p < end])
        scope = list(own)
        # Share the request with other clients of the same credentials while it fits a page, but only
        # with those it would bring news of: a peer already fresh over the range costs groups for nothing.
        for peer in peers:
            if all(_fresh(cells.get(cell_key(need, peer, p)), today) for p in need.periods() if start <= p < end):
                continue
            if _estimated_groups(need, periods, len(scope) + 1) > ASSUMED_PAGE_GROUPS:
                break
            scope.append(peer)
        requests.append(PlannedRequest(need, start, end, tuple(scope), metric))
    return Plan(requests=requests, cache_hits=hits)


def _fresh(cell: Cell | None, today: date) -> bool:
    return cell is not None and cell.fresh(today)
