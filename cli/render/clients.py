"""The client commands' tables: the list, one client's record, its latest runs."""

from __future__ import annotations

import json
from typing import Any

from rich.text import Text

from cli.render.console import Table, styled
from lambdas.logic.planner import ExpectedCost
from lambdas.models.execution import ExecutionRecord
from lambdas.models.ses_events import Suppression


def summary_row(record: dict[str, Any], problem: str | None) -> list[str | Text]:
    credentials = record.get("credentials") or {}
    return [
        str(record.get("client_id", "?")),
        str(record.get("name", "")),
        str(record.get("schedule", "")),
        styled(f"invalid: {problem}", "red") if problem else str(record.get("status", "")),
        str(len(record.get("account_ids") or [])),
        str(credentials.get("type", "")) if isinstance(credentials, dict) else "",
        str(len(record.get("recipients") or [])),
    ]


def details_table(client_id: str, record: dict[str, Any], expected: ExpectedCost | None, problem: str | None) -> Table:
    details = Table("field", "value", title=f"client {client_id}", show_header=False)
    for key, value in record.items():
        details.add_row(key, value if isinstance(value, str) else json.dumps(value, default=str))
    if expected is not None:
        details.add_row("Cost Explorer requests", expected.describe())
    if problem:
        details.add_row(styled("invalid", "red"), problem)
    return details


def runs_table(runs: list[ExecutionRecord]) -> Table:
    history = Table("run", "status", "delivery", "finished", "total", "error", title="latest runs")
    for run in runs:
        total = f"{run.total} {run.currency}" if run.total is not None else "-"
        finished = run.finished_at.isoformat(timespec="seconds") if run.finished_at else "-"
        history.add_row(run.run_id, run.status, run.delivery or "-", finished, total, run.error or "")
    return history


def suppressions_table(client_id: str, found: list[Suppression]) -> Table:
    view = Table("email", "reason", "recorded (UTC)", "detail", "run", title=f"{client_id}: {len(found)} suppressed")
    for entry in found:
        view.add_row(
            entry.email, entry.reason, f"{entry.recorded_at:%Y-%m-%d %H:%M}", entry.detail, entry.run_id or "-"
        )
    return view
