"""What a report needs from Cost Explorer, in cells: the datasets a request groups by, the needs
of a report window (section, tier, periods; docs/cost-explorer.md), the cells an answer splits into
(one account, one period, one dataset) and what the credentials' answers taught about their size
(`Density`). Pure; the planner (planner.py) turns needs into requests."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from lambdas.logic.periods import ANOMALY_BASELINE_DAYS, ONE_DAY, ReportWindow, add_months
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
