"""Step 3 of a run: the client's cost data, from the cache where it is fresh and from Cost
Explorer where it is not, within the client's request budget (docs/cost-explorer.md).

load cells (one BatchGetItem) -> plan (pure) -> send the planned requests in order while the
budget lasts -> split each answer into cells (every account the request named) -> save the
cells -> read the client's own accounts back out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from lambdas.dal.cost_cache import CostCache, credential_scope
from lambdas.dal.cost_explorer import CostExplorer
from lambdas.logic.cost_data import CostData, cost_data_from_cells, split_answer
from lambdas.logic.periods import ONE_DAY, ReportWindow
from lambdas.logic.planner import Cell, CellKey, cell_key, needs_for, plan
from lambdas.logic.queries import cost_forecast
from lambdas.models.client import Client
from lambdas.models.exceptions import CostDataError, DependencyError
from lambdas.observability import logger


@dataclass
class CostRead:
    data: CostData
    cache_hits: int = 0
    forecast_remaining: Decimal | None = None
    notes: list[str] = field(default_factory=list)


class CostReader:
    def __init__(self, explorer: CostExplorer, cache: CostCache, *, now: datetime) -> None:
        self.explorer = explorer
        self.cache = cache
        self.now = now

    def read(self, client: Client, window: ReportWindow, *, shared_accounts: Sequence[str] = ()) -> CostRead:
        needs = needs_for(client, window)
        accounts = list(client.account_ids)
        everyone = sorted(set(accounts) | set(shared_accounts))
        cells: dict[CellKey, Cell] = dict(self.cache.load(credential_scope(client), client.metric, needs, everyone))
        planned = plan(
            needs,
            cells,
            accounts=accounts,
            metric=client.metric,
            today=self.now.date(),
            shared_accounts=shared_accounts,
        )
        fresh: dict[CellKey, Cell] = {}
        names: dict[str, str] = {}
        unit: str | None = None
        for request in planned.requests:
            if self.explorer.remaining == 0:
                break
            answer = self.explorer.fetch(request.request())
            split = split_answer(
                answer.pages,
                request.need,
                metric=client.metric,
                accounts=request.accounts,
                fetched_at=self.now,
                complete=answer.complete,
            )
            fresh.update(split.cells)
            names.update(split.account_names)
            unit = unit or split.unit
        self.cache.save(fresh, names, self.now)
        cells.update(fresh)
        data = cost_data_from_cells(needs, cells, accounts, {**self.cache.account_names, **names})
        data.unit = unit
        data.missing = [
            need.section
            for need in needs
            if any(cell_key(need, account, start) not in cells for account in accounts for start in need.periods())
        ]
        logger.info(
            "cost data read",
            extra={
                "ce_requests": self.explorer.requests,
                "cache_hits": planned.cache_hits,
                "planned": len(planned.requests),
                "shared_accounts": len(everyone) - len(accounts),
            },
        )
        read = CostRead(data=data, cache_hits=planned.cache_hits)
        if client.forecast_source == "cost_explorer" and window.month_in_progress:
            start = window.forecast_basis.end + ONE_DAY
            forecast = cost_forecast(start, window.month_end + ONE_DAY, metric=client.metric, accounts=accounts)
            try:
                read.forecast_remaining = self.explorer.get_cost_forecast(forecast)
            except (CostDataError, DependencyError) as error:
                # An extra the client opted into: without it the report still goes out, forecast
                # from the daily trend (its method says so) rather than the run failing or retrying.
                logger.warning("Cost Explorer forecast unavailable: daily trend used", extra={"error": str(error)})
                read.notes.append(f"Cost Explorer's forecast was unavailable ({error}); forecast from the daily trend.")
        return read
