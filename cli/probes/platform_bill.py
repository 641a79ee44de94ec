"""The platform's own AWS bill as Cost Explorer has it: by cost allocation tag, month by month."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from cli.context import fail
from cli.reviews.platform_costs import CE_SERVICE, Month
from cli.reviews.pricing import price
from infrastructure.config import EnvironmentConfig
from lambdas.dal.aws import platform_client
from lambdas.logic.periods import add_months

METRIC = "UnblendedCost"


MAX_PAGES = 40


def tag_filter(config: EnvironmentConfig) -> dict[str, Any]:
    tags = [
        {"Tags": {"Key": key, "Values": [value], "MatchOptions": ["EQUALS"]}}
        for key, value in sorted(config.cost_allocation_tags.items())
    ]
    return {"And": tags}


class Bill:
    """GetCostAndUsage with every page followed (the Filter resent with each page), counted."""

    def __init__(self) -> None:
        self.client = platform_client("ce")
        self.requests = 0

    def months(self, start: date, end: date, query_filter: dict[str, Any], *, by_service: bool) -> list[Month]:
        request: dict[str, Any] = {
            "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
            "Granularity": "MONTHLY",
            "Metrics": [METRIC],
            "Filter": query_filter,
        }
        if by_service:
            request["GroupBy"] = [{"Type": "DIMENSION", "Key": "SERVICE"}]
        found: dict[date, Month] = {}
        token = None
        while True:
            if self.requests >= MAX_PAGES:
                fail("Cost Explorer: more than 40 pages for one bill; nothing was written", 1)
            answer = self.client.get_cost_and_usage(**request, **({"NextPageToken": token} if token else {}))
            self.requests += 1
            for period in answer.get("ResultsByTime", []):
                start_day = date.fromisoformat(period["TimePeriod"]["Start"])
                month = found.setdefault(start_day, Month(start_day))
                month.estimated = month.estimated or bool(period.get("Estimated"))
                for group in period.get("Groups", []):
                    name = group["Keys"][0]
                    month.by_service[name] = month.by_service.get(name, Decimal(0)) + _amount(group["Metrics"])
                if not by_service and period.get("Total"):
                    month.by_service[CE_SERVICE] = _amount(period["Total"])
            token = answer.get("NextPageToken")
            if not token:
                return [found.get(m, Month(m)) for m in _month_starts(start, end)]

    @property
    def cost_usd(self) -> Decimal:
        return price("ce_request").per_unit * self.requests


def _amount(metrics: dict[str, Any]) -> Decimal:
    return Decimal(str(metrics[METRIC]["Amount"]))


def _month_starts(start: date, end: date) -> list[date]:
    months, month = [], start
    while month < end:
        months.append(month)
        month = add_months(month, 1)
    return months


def account_ce_filter() -> dict[str, Any]:
    return {"Dimensions": {"Key": "SERVICE", "Values": [CE_SERVICE], "MatchOptions": ["EQUALS"]}}
