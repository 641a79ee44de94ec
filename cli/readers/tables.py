"""The platform's tables as the operations reviews read them, each through its adapter in
lambdas/dal: runs in a period, a client's recent runs, typed items for sizes, each table's description."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from cli.aws_errors import problem
from cli.context import tracked
from cli.reviews.periods import month_window
from infrastructure.config import TABLES, EnvironmentConfig
from lambdas.dal.clients_table import ClientsTable
from lambdas.dal.cost_cache import CostCache
from lambdas.dal.dynamo import PlatformTable
from lambdas.dal.executions_table import ExecutionsTable
from lambdas.dal.idempotency_table import IdempotencyTable
from lambdas.dal.suppressions import SuppressionsTable
from lambdas.models.execution import ExecutionRecord

# Each attribute of TABLES (infrastructure/config.py) -> the adapter of that table.
ADAPTERS: dict[str, type[PlatformTable]] = {
    "clients_table": ClientsTable,
    "executions_table": ExecutionsTable,
    "suppressions_table": SuppressionsTable,
    "cost_cache_table": CostCache,
    "idempotency_table": IdempotencyTable,
}


def table(config: EnvironmentConfig, attribute: str) -> PlatformTable:
    """The adapter of the environment's table `attribute` (an attribute of TABLES)."""
    return ADAPTERS[attribute](getattr(config, attribute))


def runs_between(config: EnvironmentConfig, start: datetime, end: datetime) -> list[ExecutionRecord]:
    """Every recorded run that started in [start, end): one filtered scan, every page."""
    pages = ExecutionsTable(config.executions_table).started_between(start, end)
    return [record for page in tracked(pages, "Reading execution history") for record in page]


def client_runs_since(config: EnvironmentConfig, client_id: str, since: date) -> list[ExecutionRecord]:
    """One client's runs for days from `since` on, newest first."""
    return ExecutionsTable(config.executions_table).since(client_id, since)


def executions_items(config: EnvironmentConfig) -> Iterator[dict[str, Any]]:
    """Every execution item as DynamoDB holds it (typed): item sizes for billing."""
    return ExecutionsTable(config.executions_table).items()


def table_sizes(config: EnvironmentConfig) -> list[dict[str, Any]]:
    """Each table of the configuration as DynamoDB describes it (sizes are updated by AWS about
    every six hours)."""
    tables = []
    for attribute in TABLES:
        name = getattr(config, attribute)
        try:
            description = table(config, attribute).describe()
        except Exception as error:
            tables.append({"table": name, "available": False, "reason": problem(error)})
            continue
        billing = (description.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED")
        sse = description.get("SSEDescription") or {}
        tables.append(
            {
                "table": name,
                "available": True,
                "items": int(description.get("ItemCount", 0)),
                "bytes": int(description.get("TableSizeBytes", 0)),
                "billing_mode": billing,
                "encryption": sse.get("SSEType") or ("AWS owned key" if not sse else sse.get("Status")),
            }
        )
    return tables


def recorded_runs(config: EnvironmentConfig, months: list[date]) -> list[ExecutionRecord]:
    """The runs that started in `months` (a month in progress: up to now)."""
    return runs_between(config, month_window(months[0]).start_at, month_window(months[-1]).end_at)


def key_counts(config: EnvironmentConfig, attribute: str, keys: list[str]) -> dict[str, Counter[str]]:
    """Items per value of each of `keys` in the table (a keys-only scan of the whole table)."""
    counts: dict[str, Counter[str]] = {key: Counter() for key in keys}
    for item in table(config, attribute).key_values(keys):
        for key in keys:
            if key in item:
                counts[key][next(iter(item[key].values()))] += 1
    return counts
