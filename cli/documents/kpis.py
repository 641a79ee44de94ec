"""`ops report`'s document: the period's KPIs against the runbook's targets."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cli.readers import tables
from cli.reviews.kpis import ops_summary
from cli.reviews.periods import Window
from infrastructure.config import EnvironmentConfig
from lambdas.dal.suppressions import SuppressionsTable


def meta(config: EnvironmentConfig, at: datetime, kind: str) -> dict[str, Any]:
    return {"report": kind, "environment": config.environment, "generated_at": at}


def ops_report_document(config: EnvironmentConfig, window: Window, at: datetime) -> dict[str, Any]:
    runs = tables.runs_between(config, window.start_at, window.end_at)
    summary = ops_summary(runs, SuppressionsTable(config.suppressions_table).every_client(cleared=True), window, at)
    return {**meta(config, at, "operations"), **summary}
