"""Capacity: growth per month and its projection, the worker's memory and duration against its limits
(the runbook's Scaling Thresholds: memory above 80%, duration above 80% of the timeout). Pure."""

from __future__ import annotations

import calendar
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from cli.reviews.periods import linear_fit, rounded
from infrastructure.config import WORKER_BATCH
from lambdas.logic.periods import add_months
from lambdas.models.execution import ExecutionRecord

MEMORY_THRESHOLD = Decimal("0.80")
DURATION_THRESHOLD = Decimal("0.80")  # of the function timeout
WORKER_BATCH_SIZE = WORKER_BATCH  # runs per worker invocation, in order (infrastructure/config.py)
LAMBDA_MEMORY_STEP_MB = 128


# -- capacity ------------------------------------------------------------------------------------


@dataclass
class Series:
    """A monthly series with its least-squares projection."""

    name: str
    months: list[date]
    values: list[Decimal]
    projected: list[tuple[date, Decimal]] = field(default_factory=list)

    def project(self, months_ahead: int) -> Series:
        if not self.months:
            return self
        # The line starts at the first month with data: months before the platform had any
        # client or run would pull it down.
        first = next((i for i, v in enumerate(self.values) if v > 0), len(self.values) - 1)
        slope, intercept = linear_fit([(i, v) for i, v in enumerate(self.values) if i >= first])
        start, last = len(self.values), self.months[-1]
        self.projected = [
            (add_months(last, step), max(Decimal(0), slope * (start + step - 1) + intercept))
            for step in range(1, months_ahead + 1)
        ]
        return self

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "history": [
                {"month": f"{m:%Y-%m}", "value": rounded(v, "0.01")}
                for m, v in zip(self.months, self.values, strict=True)
            ],
            "projection": [{"month": f"{m:%Y-%m}", "value": rounded(v, "0.01")} for m, v in self.projected],
        }


def clients_by_month(registrations: Iterable[datetime | None], months: Sequence[date]) -> list[Decimal]:
    """Clients registered by the end of each month (no registration time: counted from the start)."""
    stamps = list(registrations)
    return [Decimal(sum(1 for r in stamps if r is None or r.date() < add_months(month, 1))) for month in months]


def runs_by_month(records: Iterable[ExecutionRecord], months: Sequence[date], until: date) -> list[Decimal]:
    """Runs per month; a month recorded only in part (the current one, or the first month of
    the history) is scaled from its recorded days to the whole month, so that a partial month
    does not read as a drop."""
    runs = list(records)
    counts = Counter(r.started_at.astimezone(UTC).date().replace(day=1) for r in runs)
    first_day = min((r.started_at.astimezone(UTC).date() for r in runs), default=until)
    values = []
    for month in months:
        length = calendar.monthrange(month.year, month.month)[1]
        start = max(month, first_day)
        end = min(add_months(month, 1), until)
        recorded = (end - start).days
        if counts.get(month, 0) == 0 or recorded <= 0:
            values.append(Decimal(0))
        else:
            values.append(Decimal(counts[month]) * length / min(recorded, length))
    return values


def runs_following_clients(
    records: Iterable[ExecutionRecord], months: Sequence[date], until: date, clients: Series
) -> tuple[list[tuple[date, Decimal]], dict[str, Any]]:
    """Runs per month projected from the clients' projection: a client's schedule makes its runs,
    so the projected runs of a month are its projected clients times the runs per client and day
    recorded, times its days. Each recorded month weighs by its recorded days: a month seen for
    two days (this month, on the 2nd) no longer reads as a trend of its own."""
    runs = list(records)
    if not runs or not clients.projected:
        return [], {"available": False, "reason": "no runs recorded" if not runs else "no clients"}
    first_day = min(r.started_at.astimezone(UTC).date() for r in runs)
    counted = Counter(r.started_at.astimezone(UTC).date().replace(day=1) for r in runs)
    client_days = Decimal(0)
    for month, registered in zip(months, clients.values, strict=True):
        recorded = (min(add_months(month, 1), until) - max(month, first_day)).days
        client_days += registered * max(recorded, 0)
    total = sum(counted.get(month, 0) for month in months)
    if client_days == 0:
        return [], {"available": False, "reason": "no client registered while runs were recorded"}
    per_client_day = Decimal(total) / client_days
    projected = [
        (month, registered * per_client_day * calendar.monthrange(month.year, month.month)[1])
        for month, registered in clients.projected
    ]
    basis = {
        "available": True,
        "runs": total,
        "client_days": client_days,
        "runs_per_client_day": rounded(per_client_day),
        "method": "projected clients x runs per client and day recorded x days of the month",
    }
    return projected, basis


def next_memory_size(peak_mb: int, threshold: Decimal = MEMORY_THRESHOLD) -> int:
    """The smallest memory size (a multiple of 128 MB, at least 128) that keeps `peak_mb` under
    the threshold."""
    needed = Decimal(peak_mb) / threshold
    size = math.ceil(needed / LAMBDA_MEMORY_STEP_MB) * LAMBDA_MEMORY_STEP_MB
    return max(LAMBDA_MEMORY_STEP_MB, size)


def threshold_status(used: Decimal | None, limit: Decimal | None, threshold: Decimal) -> str:
    if used is None or limit is None or limit == 0:
        return "UNKNOWN"
    return "WARNING" if used / limit > threshold else "OK"
