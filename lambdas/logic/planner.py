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
from datetime import date
from decimal import Decimal
from typing import Any

from lambdas.logic.calendar import REPORTS_PER_MONTH
from lambdas.logic.needs import CORE, Cell, CellKey, Dataset, Density, Need, cell_key, needs_for, period_end
from lambdas.logic.periods import ReportWindow
from lambdas.logic.queries import cost_and_usage, requests_cost_usd
from lambdas.models.client import Client

# A budget that follows the plan leaves room for an estimate that was short by half.
BUDGET_MARGIN = 0.5
MIN_BUDGET = 3


# -- what the credentials' answers look like ---------------------------------------------------------


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
