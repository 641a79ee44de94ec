"""`costs report` and `costs trends`: the platform's own AWS bill by month, by service and by client,
and its trend."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from cli.documents.platform_cost import cost_statement
from cli.probes.platform_bill import METRIC, Bill, account_ce_filter, tag_filter
from cli.readers.tables import recorded_runs
from cli.reviews import costing
from cli.reviews.periods import linear_fit, mean, month_window, rounded
from cli.reviews.platform_costs import (
    allocation,
    drivers,
    month_label,
    per_run,
    runs_by_month,
)
from infrastructure.config import EnvironmentConfig
from lambdas.logic.periods import add_months


def report_document(config: EnvironmentConfig, month: date, at: datetime) -> dict[str, Any]:

    previous = add_months(month, -1)
    end = add_months(month, 1)
    bill = Bill()
    before, current = bill.months(previous, end, tag_filter(config), by_service=True)
    account_ce = bill.months(month, end, account_ce_filter(), by_service=False)[0]
    window = month_window(month)
    runs, fees = runs_by_month(recorded_runs(config, [previous, month]))
    clients, unallocated = allocation(current, cost_statement(config, window, at))
    rows = [
        {
            "service": name,
            "amount_usd": costing.line_amount(amount),
            "previous_usd": costing.line_amount(before.by_service[name]) if name in before.by_service else None,
        }
        for name, amount in sorted(current.by_service.items(), key=lambda item: -item[1])
    ]
    return {
        "format": "cost-reporting-platform-bill",
        "environment": config.environment,
        "generated_at": at,
        "period": window.as_dict(),
        "source": f"Cost Explorer GetCostAndUsage, {METRIC}, tags {config.cost_allocation_tags}",
        "estimated": current.estimated,
        "by_service": rows,
        "total_usd": costing.cents(current.total) if current.total is not None else None,
        "previous_total_usd": costing.cents(before.total) if before.total is not None else None,
        "untaggable": {
            "cost_explorer_account_usd": costing.cents(account_ce.total) if account_ce.total is not None else None,
            "cost_explorer_platform_recorded_usd": costing.cents(fees.get(month, Decimal(0))),
            "note": "Cost Explorer's request fees carry no tag: the account's line (every caller) and what the "
            "platform's runs recorded",
        },
        "runs": runs.get(month, 0),
        "usd_per_run": per_run(current.total, runs.get(month, 0)),
        "previous_usd_per_run": per_run(before.total, runs.get(previous, 0)),
        "by_client": clients,
        "unallocated_usd": unallocated,
        "allocation": "each service in proportion to the clients' measured use of it (billing track), else their runs",
        "ce_requests": bill.requests,
        "ce_cost_usd": bill.cost_usd,
    }


def trends_document(config: EnvironmentConfig, last: date, months: int, at: datetime) -> dict[str, Any]:
    first = add_months(last, 1 - months)
    end = add_months(last, 1)
    bill = Bill()
    tagged = bill.months(first, end, tag_filter(config), by_service=True)
    account_ce = bill.months(first, end, account_ce_filter(), by_service=False)
    runs, fees = runs_by_month(recorded_runs(config, [m.start for m in tagged]))
    rows = []
    for index, month in enumerate(tagged):
        before = tagged[index - 1] if index else None
        change = month.total - before.total if before and month.total is not None and before.total is not None else None
        rows.append(
            {
                "month": month_label(month.start),
                "estimated": month.estimated,
                "total_usd": costing.cents(month.total) if month.total is not None else None,
                "change_usd": costing.cents(change) if change is not None else None,
                "drivers": drivers(before, month) if before and change is not None else [],
                "by_service": {name: costing.line_amount(v) for name, v in sorted(month.by_service.items())},
                "runs": runs.get(month.start, 0),
                "usd_per_run": per_run(month.total, runs.get(month.start, 0)),
                "cost_explorer_account_usd": _cents_or_none(account_ce[index].total),
                "cost_explorer_platform_recorded_usd": costing.cents(fees.get(month.start, Decimal(0))),
            }
        )
    seen = [(i, m) for i, m in enumerate(tagged) if m.total is not None]
    slope, _ = linear_fit([(i, m.total) for i, m in seen if m.total is not None]) if seen else (None, None)
    average = mean([m.total for _, m in seen if m.total is not None])
    whole = drivers(seen[0][1], seen[-1][1], top=5) if len(seen) > 1 else []
    return {
        "format": "cost-reporting-platform-bill-trends",
        "environment": config.environment,
        "generated_at": at,
        "months": rows,
        "missing_months": [row["month"] for row in rows if row["total_usd"] is None],
        "trend": {
            "usd_per_month": costing.cents(slope) if slope is not None else None,
            "share_of_mean_per_month": rounded(slope / average) if slope is not None and average else None,
            "method": "least squares over the months with tagged costs",
        },
        "drivers_over_the_period": whole,
        "source": f"Cost Explorer GetCostAndUsage, {METRIC}, tags {config.cost_allocation_tags}",
        "ce_requests": bill.requests,
        "ce_cost_usd": bill.cost_usd,
    }


def _cents_or_none(amount: Decimal | None) -> Decimal | None:
    return None if amount is None else costing.cents(amount)
