"""The Cost Explorer query planner. Pure: from what a report needs, what the cache holds and what
earlier answers taught about the credentials' data, the requests to send, most important first,
within the run's budget (docs/cost-explorer.md).

Every request groups by one "dataset" key (SERVICE, RECORD_TYPE, a tag or a cost category) and by
LINKED_ACCOUNT, so that every answer splits per account and day (or month) into cache cells,
whoever asked for it. A report's needs, in the order they matter:

| tier | section     | dataset                         | periods                                        |
| ---- | ----------- | ------------------------------- | ---------------------------------------------- |
| 1    | core        | services (SERVICE)              | the period and its comparison (days; months    |
|      |             | record types (credits count)    | for monthly reports)                           |
| 2    | chart       | record types, DAILY             | the chart and the month to date                |
| 3    | breakdown   | the client's tag / cost category| the period and its comparison                  |
| 4    | baseline    | record types, DAILY             | the 28 days before the chart (anomalies)       |
| 5    | trend       | record types, MONTHLY           | the 6 trend months (monthly reports)           |
| 6    | attribution | services, DAILY                 | an anomaly's day and the same weekday a week   |
|      |             |                                 | earlier: which service moved (asked after the  |
|      |             |                                 | other answers showed the anomaly)              |

Record types answer a day's cost before credits (every type but Credit and Refund) and its credits
with one or two groups per account and day, where services need twenty or more: so the chart,
the month to date, the forecast and the anomaly baseline come from record types, and services are
asked only for the days whose detail the report shows. For a client with a few accounts each
dataset's needs fit one page: two requests for a daily or weekly report, three for a monthly
one. For a payer with hundreds of accounts the core days come first, each range on its own, so a
budget that runs out leaves out the least important sections, never the period's total.

A cell is fresh when Cost Explorer said it was final (`Estimated: false`), or when it was fetched on
the run's own (UTC) day.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from lambdas.logic.periods import ANOMALY_BASELINE_DAYS, ONE_DAY, ReportWindow, add_months
from lambdas.logic.queries import cost_and_usage, requests_cost_usd
from lambdas.models.client import Client

CORE, CHART, BREAKDOWN, BASELINE, TREND, ATTRIBUTION = 1, 2, 3, 4, 5, 6
SECTION_NAMES = {
    "core": "the period's and the comparison's costs by service and account",
    "credits": "credits and refunds",
    "chart": "the daily chart and the month to date",
    "breakdown": "the tag / cost category breakdown",
    "baseline": "the anomaly baseline",
    "trend": "the monthly trend",
    "attribution": "the service behind each anomaly",
}

# Cost Explorer does not document its page size. Until an answer of these credentials has shown
# it (a page that came with a NextPageToken), plans assume this many groups a page.
ASSUMED_PAGE_GROUPS = 1000
# Groups per account and period (day or month) until the cache has seen the credentials' data.
ASSUMED_GROUPS_PER_CELL = {"SERVICE": 20.0, "RECORD_TYPE": 1.5}
DEFAULT_GROUPS_PER_CELL = 10.0
# A budget that follows the plan leaves room for an estimate that was short by half.
BUDGET_MARGIN = 0.5
MIN_BUDGET = 3


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


def period_end(granularity: str, start: date) -> date:
    """Exclusive end of the period starting on `start` (a day, or a whole month)."""
    return start + ONE_DAY if granularity == "DAILY" else add_months(start, 1)


@dataclass(frozen=True)
class Need:
    """One section's data: a dataset at a granularity over some periods (their first days)."""

    section: str  # core | credits | chart | breakdown | baseline | trend | attribution
    tier: int
    dataset: Dataset
    granularity: str  # DAILY | MONTHLY
    starts: tuple[date, ...]

    def periods(self) -> tuple[date, ...]:
        return self.starts

    def period_end(self, start: date) -> date:
        return period_end(self.granularity, start)


CellKey = tuple[str, str, str, date]  # (granularity, dataset name, account, period start)


@dataclass(slots=True)
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


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


def needs_for(client: Client, window: ReportWindow) -> list[Need]:
    """What a report of this window needs, most important first (see the table above)."""
    current, previous = window.current, window.previous
    monthly = bool(window.trend_months)
    core_granularity = "MONTHLY" if monthly else "DAILY"
    core: tuple[date, ...]
    if monthly:
        core = (previous.start, current.start)
    else:
        core = tuple(sorted(set(_days(current.start, current.end)) | set(_days(previous.start, previous.end))))
    chart_days = set(_days(window.chart_period.start, window.chart_period.end))
    if window.month_in_progress or window.month_to_date is not None:
        basis = window.forecast_basis
        chart_days |= set(_days(basis.start, basis.end))
    first = window.chart_period.start  # anomalies are judged on the chart's days
    baseline = tuple(_days(first - timedelta(days=ANOMALY_BASELINE_DAYS), first - ONE_DAY))
    needs = [
        Need("core", CORE, SERVICES, core_granularity, core),
        Need("credits", CORE if client.include_credits else CHART, RECORD_TYPES, core_granularity, core),
        Need("chart", CHART, RECORD_TYPES, "DAILY", tuple(sorted(chart_days))),
    ]
    if client.breakdown is not None:
        group_type = "TAG" if client.breakdown.type == "tag" else "COST_CATEGORY"
        dataset = Dataset(group_type, client.breakdown.key, exclude_credits=not client.include_credits)
        compared = tuple(sorted(set(_days(current.start, current.end)) | set(_days(previous.start, previous.end))))
        needs.append(Need("breakdown", BREAKDOWN, dataset, "DAILY", compared))
    needs.append(Need("baseline", BASELINE, RECORD_TYPES, "DAILY", baseline))
    if monthly:
        needs.append(Need("trend", TREND, RECORD_TYPES, "MONTHLY", tuple(window.trend_months)))
    return needs


def attribution_need(anomaly_days: Iterable[date]) -> Need:
    """Services of each anomaly's day and of the same weekday a week earlier: enough to name the
    service that moved (more earlier days where the cache has them)."""
    days = {day for anomaly in anomaly_days for day in (anomaly, anomaly - timedelta(days=7))}
    return Need("attribution", ATTRIBUTION, SERVICES, "DAILY", tuple(sorted(days)))


# -- what the credentials' answers look like ---------------------------------------------------------


@dataclass
class Density:
    """How big answers of these credentials are: groups per page (learned from a page that came
    with a NextPageToken) and groups per cell (account and period) for each dataset. Kept with
    the cache, so a client's budget follows its size from its second run on."""

    page_groups: int | None = None  # observed page size; None until a paged answer showed it
    groups_per_cell: dict[str, float] = field(default_factory=dict)  # "GRANULARITY|dataset" -> mean

    @property
    def learned(self) -> bool:
        return self.page_groups is not None or bool(self.groups_per_cell)

    def page_size(self) -> int:
        return self.page_groups or ASSUMED_PAGE_GROUPS

    def per_cell(self, granularity: str, dataset: Dataset) -> float:
        known = self.groups_per_cell.get(f"{granularity}|{dataset.name}")
        if known is not None:
            return max(known, 1.0)
        return ASSUMED_GROUPS_PER_CELL.get(dataset.group_key, DEFAULT_GROUPS_PER_CELL)

    def pages(self, granularity: str, dataset: Dataset, periods: int, accounts: int) -> int:
        groups = periods * accounts * self.per_cell(granularity, dataset)
        return max(1, math.ceil(groups / self.page_size()))

    def learn_cells(self, cells: Mapping[CellKey, Cell]) -> None:
        """Groups per cell as the cached cells show them (cells of any age: the shape, not the amounts)."""
        counts: dict[str, list[int]] = {}
        for (granularity, dataset, _, _), cell in cells.items():
            counts.setdefault(f"{granularity}|{dataset}", []).append(len(cell.groups))
        for key, sizes in counts.items():
            self.groups_per_cell[key] = sum(sizes) / len(sizes)

    def learn_page(self, groups_on_page: int) -> None:
        """A page that came with a NextPageToken was full: that is the page size."""
        if groups_on_page > 0:
            self.page_groups = max(self.page_groups or 0, groups_on_page)

    def to_json(self) -> dict[str, Any]:
        return {"page_groups": self.page_groups, "groups_per_cell": dict(sorted(self.groups_per_cell.items()))}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Density:
        if not data:
            return cls()
        page = data.get("page_groups")
        per_cell = data.get("groups_per_cell") or {}
        return cls(
            page_groups=int(page) if page else None,
            groups_per_cell={str(k): float(v) for k, v in per_cell.items()},
        )


# -- the plan -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedRequest:
    dataset: Dataset
    granularity: str
    start: date
    end_exclusive: date
    accounts: tuple[str, ...]  # the request's LINKED_ACCOUNT filter: the client's, then shared ones
    metric: str
    tier: int
    sections: tuple[str, ...]  # the needs it serves
    estimated_pages: int

    def period_end(self, start: date) -> date:
        return period_end(self.granularity, start)

    def periods(self) -> list[date]:
        starts, day = [], self.start
        while day < self.end_exclusive:
            starts.append(day)
            day = period_end(self.granularity, day)
        return starts

    def request(self) -> dict[str, Any]:
        return cost_and_usage(
            self.start,
            self.end_exclusive,
            granularity=self.granularity,
            metric=self.metric,
            group_by=[(self.dataset.group_type, self.dataset.group_key), ("DIMENSION", "LINKED_ACCOUNT")],
            accounts=list(self.accounts),
            exclude_credits=self.dataset.exclude_credits,
        )


@dataclass
class Plan:
    requests: list[PlannedRequest]
    cache_hits: int  # needs answered entirely from the cache
    budget: int  # requests (pages) this run may send
    needed_pages: int  # estimated pages of everything stale, before anything was left out
    left_out: list[str] = field(default_factory=list)  # sections dropped before the first request
    core_fits: bool = True  # False: even the core is estimated above the budget

    @property
    def estimated_pages(self) -> int:
        return sum(request.estimated_pages for request in self.requests)


def _fresh(cell: Cell | None, today: date) -> bool:
    return cell is not None and cell.fresh(today)


@dataclass
class _Stale:
    """The stale periods of one dataset and granularity, each with the best tier that needs it."""

    tiers: dict[date, int] = field(default_factory=dict)
    sections: dict[date, set[str]] = field(default_factory=dict)

    def add(self, start: date, need: Need) -> None:
        self.tiers[start] = min(self.tiers.get(start, need.tier), need.tier)
        self.sections.setdefault(start, set()).add(need.section)


def _runs(starts: Sequence[date], tiers: Mapping[date, int], granularity: str) -> list[list[date]]:
    """Contiguous runs of periods of one tier."""
    runs: list[list[date]] = []
    for start in sorted(starts):
        last = runs[-1][-1] if runs else None
        if last is not None and period_end(granularity, last) == start and tiers[last] == tiers[start]:
            runs[-1].append(start)
        else:
            runs.append([start])
    return runs


def _span(starts: Iterable[date], granularity: str) -> list[date]:
    """Every period from the first to the last of `starts` (a request's TimePeriod is one range)."""
    ordered = sorted(starts)
    periods, day = [], ordered[0]
    while day <= ordered[-1]:
        periods.append(day)
        day = period_end(granularity, day)
    return periods


def _group_requests(
    granularity: str, dataset: Dataset, stale: _Stale, *, accounts: int, density: Density, tight: bool
) -> list[tuple[list[date], int]]:
    """(periods, tier) of each request for one dataset: everything in one request where that fits
    one page (a small client), else one request per contiguous run of one tier, so that what
    matters most is never queued behind what matters least in one paged answer (Cost Explorer
    answers oldest first). `tight`: a budget the client set, on pages of a size no answer has
    shown yet: the one-page estimate is a guess, so each run of a tier gets its own request."""
    span = _span(stale.tiers, granularity)
    if not tight and density.pages(granularity, dataset, len(span), accounts) <= 1:
        return [(span, min(stale.tiers.values()))]
    return [(run, stale.tiers[run[0]]) for run in _runs(list(stale.tiers), stale.tiers, granularity)]


def plan(
    needs: list[Need],
    cells: Mapping[CellKey, Cell],
    *,
    accounts: list[str],
    metric: str,
    today: date,
    shared_accounts: Sequence[str] = (),
    density: Density | None = None,
    cap: int,
    budget: int | None = None,
) -> Plan:
    """The requests that bring the needs' cells up to date, most important first, within the budget
    (`budget` when the client sets one, else one that follows the plan's size, never above `cap`)."""
    density = density or Density()
    own = sorted(set(accounts))
    peers = sorted(set(shared_accounts) - set(own))
    stale: dict[tuple[str, Dataset], _Stale] = {}
    hits = 0
    for need in needs:
        late = [s for s in need.starts if any(not _fresh(cells.get(cell_key(need, a, s)), today) for a in own)]
        if not late:
            hits += 1
        for start in late:
            stale.setdefault((need.granularity, need.dataset), _Stale()).add(start, need)

    requests: list[PlannedRequest] = []
    tight = budget is not None and density.page_groups is None
    for (granularity, dataset), found in stale.items():
        grouped = _group_requests(granularity, dataset, found, accounts=len(own), density=density, tight=tight)
        for periods, tier in grouped:
            pages = density.pages(granularity, dataset, len(periods), len(own))
            scope = _with_peers(own, peers, periods, granularity, dataset, cells, today, density, pages)
            sections = sorted({s for p in periods for s in found.sections.get(p, ())})
            requests.append(
                PlannedRequest(
                    dataset=dataset,
                    granularity=granularity,
                    start=periods[0],
                    end_exclusive=period_end(granularity, periods[-1]),
                    accounts=tuple(scope),
                    metric=metric,
                    tier=tier,
                    sections=tuple(sections),
                    estimated_pages=pages,
                )
            )
    # Most important first; within a tier the newest periods first (the period before its
    # comparison), then in the order of the needs (services before record types).
    rank = {need.section: index for index, need in enumerate(needs)}
    requests.sort(key=lambda r: (r.tier, -r.start.toordinal(), min(rank[s] for s in r.sections)))
    needed = sum(r.estimated_pages for r in requests)
    if budget is None:
        budget = cap if not density.learned else min(cap, max(MIN_BUDGET, math.ceil(needed * (1 + BUDGET_MARGIN))))
    budget = min(budget, cap)
    return _fit(requests, hits, budget, needed)


def _fit(requests: list[PlannedRequest], hits: int, budget: int, needed: int) -> Plan:
    """Leave out whole sections, least important first, until the estimate fits the budget."""
    kept = list(requests)
    left_out: list[str] = []
    while kept and sum(r.estimated_pages for r in kept) > budget and kept[-1].tier > CORE:
        worst = kept[-1].tier
        for request in [r for r in kept if r.tier == worst]:
            kept.remove(request)
            left_out.extend(s for s in request.sections if s not in left_out)
    core_pages = sum(r.estimated_pages for r in kept if r.tier == CORE)
    return Plan(
        requests=kept,
        cache_hits=hits,
        budget=budget,
        needed_pages=needed,
        left_out=left_out,
        core_fits=core_pages <= budget,
    )


def _with_peers(
    own: list[str],
    peers: list[str],
    periods: list[date],
    granularity: str,
    dataset: Dataset,
    cells: Mapping[CellKey, Cell],
    today: date,
    density: Density,
    pages: int,
) -> list[str]:
    """Share the request with other clients of the same credentials while it costs no page more,
    and only with those it brings news of: a peer already fresh over the range costs groups for nothing."""
    scope = list(own)
    for peer in peers:
        if all(_fresh(cells.get((granularity, dataset.name, peer, p)), today) for p in periods):
            continue
        if density.pages(granularity, dataset, len(periods), len(scope) + 1) > pages:
            break
        scope.append(peer)
    return scope


def expected_pages(client: Client, window: ReportWindow, density: Density | None = None) -> int:
    """Requests a report of this window costs with a cold cache (an upper bound of a warm one)."""
    needs = needs_for(client, window)
    cold = plan(
        needs, {}, accounts=list(client.account_ids), metric=client.metric, today=date.min, density=density, cap=10**6
    )
    return cold.needed_pages


# Reports a month per schedule (monthly clients also get the month-close report).
REPORTS_PER_MONTH = {"daily": Decimal(30), "weekly": Decimal(52) / 12, "monthly": Decimal(2)}


@dataclass(frozen=True)
class ExpectedCost:
    """What a client's reports are expected to cost in Cost Explorer requests (a cold cache: the
    upper bound; warm runs ask only for estimated days), from what its answers showed so far."""

    per_report: int
    usd_per_month: Decimal
    learned: bool  # False: page size and density are the planner's assumptions

    def describe(self) -> str:
        basis = "from its answers so far" if self.learned else "assumed: no answer read yet"
        return f"{self.per_report} per report, at most USD {self.usd_per_month:.2f} a month ({basis})"


def expected_cost(client: Client, window: ReportWindow, density: Density | None = None) -> ExpectedCost:
    pages = expected_pages(client, window, density)
    usd = (pages * REPORTS_PER_MONTH[client.schedule] * requests_cost_usd(1)).quantize(Decimal("0.01"))
    return ExpectedCost(pages, usd, bool(density and density.learned))
