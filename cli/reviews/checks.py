"""Checks and their verdicts: OK / WARNING / CRITICAL, the exit code following the worst.

The thresholds the runbook relies on are here, in one place, as pure functions:

- a client is stale when its last successful report is older than its schedule allows:
  daily 26 hours (a day plus two hours of slack for the schedule and the queue), weekly 8 days,
  monthly 32 days (the longest month plus one day);
- stored access keys: WARNING from `warn_days` (60), CRITICAL from `critical_days` (80) of age,
  so that the 90-day rotation of the runbook happens before the limit, not after;
- SES: AWS reviews an account from a 5% bounce or 0.1% complaint rate and may pause sending
  from 10% or 0.5%; those are the WARNING and CRITICAL lines. Quota use: WARNING from 80%.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import IntEnum
from typing import Any

from lambdas.logic.calendar import STALE_AFTER

BOUNCE_WARNING, BOUNCE_CRITICAL = Decimal("0.05"), Decimal("0.10")
COMPLAINT_WARNING, COMPLAINT_CRITICAL = Decimal("0.001"), Decimal("0.005")
QUOTA_WARNING = Decimal("0.80")


class Status(IntEnum):
    OK = 0
    WARNING = 1
    CRITICAL = 2

    @property
    def style(self) -> str:
        return {Status.OK: "green", Status.WARNING: "yellow", Status.CRITICAL: "bold red"}[self]


@dataclass
class Check:
    name: str
    status: Status
    detail: str
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status.name, "detail": self.detail, **self.data}


def worst(checks: list[Check]) -> Status:
    return max((check.status for check in checks), default=Status.OK)


def threshold_status(value: Decimal | int, warning: Decimal | int, critical: Decimal | int) -> Status:
    """CRITICAL from the `critical` line, WARNING from the `warning` line (each line included), else OK."""
    if value >= critical:
        return Status.CRITICAL
    if value >= warning:
        return Status.WARNING
    return Status.OK


key_age_status = threshold_status  # a key's age in days against warn_days and critical_days
rate_status = threshold_status  # an SES rate (bounce, complaint) against its warning and critical lines


def age_in_days(created: datetime, now: datetime) -> int:
    """Whole days elapsed (a key created 59 days and 23 hours ago is 59 days old)."""
    return (now - created).days


def is_stale(schedule: str, last_success: datetime | None, registered: datetime | None, now: datetime) -> bool:
    """True when the client should have had a successful report by now and has not.

    A client that never reported is stale once it has been registered longer than its
    schedule allows; one with no registration time and no report is stale at once.
    """
    allowed = STALE_AFTER[schedule]
    reference = last_success or registered
    return reference is None or now - reference > allowed


def shortfall(checks: list[Check]) -> str:
    """The checks that are not OK, worst first: the line an exit 1 ends with."""
    flagged = sorted((c for c in checks if c.status is not Status.OK), key=lambda c: -c.status)
    if not flagged:
        return ""
    return f"{len(flagged)} check(s) not OK: " + ", ".join(f"{c.name} ({c.status.name})" for c in flagged)


SHOWN = 10  # ids named in a detail or summary line; the table and the JSON have them all


def listed(ids: list[str]) -> str:
    """The first ids, and how many more: `a, b, c and 12 more`."""
    return ", ".join(ids[:SHOWN]) + (f" and {len(ids) - SHOWN} more" if len(ids) > SHOWN else "")
