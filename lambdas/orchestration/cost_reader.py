"""Step 3 of a run: the client's cost data, from the cache where it is fresh and from Cost
Explorer where it is not, most important first, within the run's budget (docs/cost-explorer.md).

load cells and the credentials' density (one BatchGetItem) -> plan (pure) -> say what the budget
leaves out, before the first request -> send the planned requests in order while the budget
lasts -> split each answer into cells (every account the request named) -> ask for the services
of any anomaly's day (to name what moved) -> save the cells and what the answers taught about
their size -> read the client's own accounts back out. What was not read stays missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from lambdas.logic.cost_data import CostData, corrections, cost_data_from_cells, split_answer
from lambdas.logic.credential_scope import credential_scope
from lambdas.logic.daily import anomaly_days
from lambdas.logic.needs import Cell, CellKey, Density, Need, attribution_need, cell_key, needs_for
from lambdas.logic.periods import ONE_DAY, ReportWindow
from lambdas.logic.planner import Plan, PlannedRequest, plan
from lambdas.logic.queries import cost_forecast, requests_cost_usd
from lambdas.models.client import Client
from lambdas.models.exceptions import CostDataError, DependencyError, PlatformError
from lambdas.models.report import Correction
from lambdas.observability import logger
from lambdas.orchestration.ports import CellCache, CostSource

if TYPE_CHECKING:  # types only: the Data Export's modules are not imported by a Cost Explorer run
    from lambdas.logic.exports_extras import CommitmentUse, TopResource


@dataclass
class CostRead:
    data: CostData
    cache_hits: int = 0
    forecast_remaining: Decimal | None = None
    notes: list[str] = field(default_factory=list)
    corrections: list[Correction] = field(default_factory=list)
    budget: int = 0
    planned_requests: int = 0  # estimated requests of everything the report needed, before any was left out
    # Where the data came from; what only a Data Export gives, and what reading it took (S3 requests,
    # bytes of Parquet fetched). Cost Explorer's read leaves these as they are.
    cost_source: str = "cost_explorer"
    export_format: str | None = None
    top_resources: list[TopResource] = field(default_factory=list)
    commitments: list[CommitmentUse] = field(default_factory=list)
    bytes_read: int = 0
    s3_requests: int = 0


@dataclass
class _Fetched:
    cells: dict[CellKey, Cell] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)
    unit: str | None = None
    error: PlatformError | None = None


class CostReader:
    def __init__(self, explorer: CostSource, cache: CellCache, *, now: datetime, cap: int) -> None:
        self.explorer = explorer
        self.cache = cache
        self.now = now
        self.cap = cap

    def read(self, client: Client, window: ReportWindow, *, shared_accounts: Sequence[str] = ()) -> CostRead:
        accounts = list(client.account_ids)
        everyone = sorted(set(accounts) | set(shared_accounts))
        scope = credential_scope(client)
        needs = needs_for(client, window)
        cached: dict[CellKey, Cell] = dict(self.cache.load(scope, client.metric, needs, everyone))
        density = self.cache.density
        density.learn_cells(cached)
        planned = self._plan(
            client,
            needs,
            cached,
            accounts,
            density,
            self.cap,
            shared_accounts=shared_accounts,
            budget=client.max_ce_requests,
        )
        self.explorer.max_requests = planned.budget
        read = CostRead(data=CostData(), cache_hits=planned.cache_hits, budget=planned.budget)
        read.planned_requests = planned.needed_pages
        read.notes.extend(_budget_notes(planned))
        fetched = _Fetched()
        self._fetch(planned.requests, client.metric, density, fetched)
        cells = {**cached, **fetched.cells}

        # The services of an anomaly's day, to name what moved: asked once the other answers show it.
        if fetched.error is None and self.explorer.remaining != 0:
            need = self._attribution(client, window, needs, cells, accounts, density, fetched)
            if need is not None:
                needs = [*needs, need]
                cells = {**cached, **self.cache.load(scope, client.metric, [need], accounts), **fetched.cells}

        self.cache.save(fetched.cells, fetched.names, self.now)
        if fetched.error is not None:
            raise fetched.error  # the whole periods read so far are cached: the retry goes on from there
        read.data = cost_data_from_cells(needs, cells, accounts, {**self.cache.account_names, **fetched.names})
        read.data.unit = fetched.unit
        read.corrections = corrections(cached, fetched.cells, accounts, before_day=window.current.start)
        logger.info(
            "cost data read",
            extra={
                "ce_requests": self.explorer.requests,
                "budget": planned.budget,
                "planned_pages": planned.needed_pages,
                "cache_hits": planned.cache_hits,
                "missing": read.data.missing,
                "shared_accounts": len(everyone) - len(accounts),
            },
        )
        self._forecast(client, window, accounts, read)
        return read

    def _plan(
        self,
        client: Client,
        needs: list[Need],
        cached: dict[CellKey, Cell],
        accounts: list[str],
        density: Density,
        cap: int,
        **options: Any,
    ) -> Plan:
        return plan(
            needs,
            cached,
            accounts=accounts,
            metric=client.metric,
            today=self.now.date(),
            density=density,
            cap=cap,
            **options,
        )

    def _fetch(self, requests: list[PlannedRequest], metric: str, density: Density, fetched: _Fetched) -> None:
        """Send the requests in order while the budget lasts; keep every whole period answered."""
        for request in requests:
            if self.explorer.remaining == 0 or fetched.error is not None:
                return
            answer = self.explorer.fetch(request.request())
            split = split_answer(answer, request, metric=metric, accounts=request.accounts, fetched_at=self.now)
            for groups in split.full_pages:
                density.learn_page(groups)
            density.learn_cells(split.cells)
            fetched.cells.update(split.cells)
            fetched.names.update(split.account_names)
            fetched.unit = fetched.unit or split.unit
            fetched.error = answer.error

    def _attribution(
        self,
        client: Client,
        window: ReportWindow,
        needs: list[Need],
        cells: dict[CellKey, Cell],
        accounts: list[str],
        density: Density,
        fetched: _Fetched,
    ) -> Need | None:
        days = anomaly_days(window, cost_data_from_cells(needs, cells, accounts, {}))
        if not days:
            return None
        need = attribution_need(days)
        cached = {**self.cache.load(credential_scope(client), client.metric, [need], accounts), **fetched.cells}
        # A hint, not a figure: a day whose services any run read (of any age) is not asked again.
        unread = tuple(day for day in need.starts if any(cell_key(need, a, day) not in cached for a in accounts))
        left = self.cap if self.explorer.remaining is None else self.explorer.remaining
        extra = self._plan(client, [replace(need, starts=unread)] if unread else [], cached, accounts, density, left)
        # Only what fits what is left of the budget: naming the service is worth no incomplete report.
        affordable = [r for r in extra.requests if r.estimated_pages <= left]
        self._fetch(affordable, client.metric, density, fetched)
        return need

    def _forecast(self, client: Client, window: ReportWindow, accounts: list[str], read: CostRead) -> None:
        if client.forecast_source != "cost_explorer" or not window.month_in_progress:
            return
        start = window.forecast_basis.end + ONE_DAY
        forecast = cost_forecast(start, window.month_end + ONE_DAY, metric=client.metric, accounts=accounts)
        try:
            read.forecast_remaining = self.explorer.get_cost_forecast(forecast)
        except (CostDataError, DependencyError) as error:
            # An extra the client opted into: without it the report still goes out, forecast
            # from the daily trend (its method says so) rather than the run failing or retrying.
            logger.warning("Cost Explorer forecast unavailable: daily trend used", extra={"error": str(error)})
            read.notes.append(f"Cost Explorer's forecast was unavailable ({error}); forecast from the daily trend.")


def _budget_notes(planned: Plan) -> list[str]:
    """What the budget leaves out, said before the first request (logged, and in the report)."""
    if not planned.left_out and planned.core_fits:
        return []
    cost = requests_cost_usd(planned.budget)
    head = (
        f"Cost Explorer budget: {planned.budget} requests (USD {cost}) per run; this report needed about "
        f"{planned.needed_pages}"
    )
    if not planned.core_fits:
        note = f"{head}, more than the budget allows for its core figures alone."
    else:
        note = f"{head}: the least important sections were left out."
    logger.warning(
        "plan does not fit the budget",
        extra={"budget": planned.budget, "needed": planned.needed_pages, "left_out": planned.left_out},
    )
    return [note]
