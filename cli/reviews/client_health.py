"""Each client's health: failures in a row, days without a report, suppressed recipients, key age;
those needing attention first. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from cli.reviews.kpis import outcome
from cli.reviews.periods import Window
from lambdas.logic.calendar import run_days
from lambdas.models.execution import ExecutionRecord
from lambdas.models.ses_events import Suppression

# -- client health -------------------------------------------------------------------------------


def failures_in_a_row(runs_newest_first: Sequence[ExecutionRecord], at: datetime) -> int:
    count = 0
    for r in runs_newest_first:
        state = outcome(r, at)
        if state in ("skipped", "running"):
            continue
        if state != "failed":
            break
        count += 1
    return count


SEVERITY_ORDER = {"CRITICAL": 2, "WARNING": 1, "OK": 0}
FAILURES_CRITICAL = 3


def _run_reasons(client_id: str, last_run: ExecutionRecord | None, in_a_row: int) -> list[tuple[str, str]]:
    """What the client's latest runs say: failures in a row, refused credentials, a report not sent."""
    reasons: list[tuple[str, str]] = []
    if in_a_row >= FAILURES_CRITICAL:
        reasons.append(("CRITICAL", f"{in_a_row} failed runs in a row"))
    elif in_a_row:
        reasons.append(("WARNING", f"{in_a_row} failed run(s) in a row"))
    if last_run is not None and last_run.error_kind == "unauthorized":
        reasons.append(("CRITICAL", "credentials refused on the last run"))
    if last_run is not None and last_run.status == "incomplete":
        missing = "; ".join(last_run.missing) or "core figures"
        reasons.append(
            (
                "WARNING",
                f"last report not sent, incomplete ({missing}): `report run --client-id {client_id} "
                f"--as-of {last_run.as_of.isoformat()}` sends it",
            )
        )
    return reasons


def client_health(
    *,
    client_id: str,
    name: str,
    schedule: str,
    status: str,
    registered: datetime | None,
    runs_newest_first: Sequence[ExecutionRecord],
    suppressed: Sequence[Suppression],
    recipients: int,
    credential: dict[str, Any],
    stale: bool,
    window: Window,
    at: datetime,
    last_success: ExecutionRecord | None = None,
) -> dict[str, Any]:
    """One client's health; `credential` is {"type", "age_days", "status"} (status OK, WARNING,
    CRITICAL, or None for roles); `last_success` the newest success when it is older than the runs."""
    last_success = next((r for r in runs_newest_first if r.status == "succeeded"), last_success)
    last_run = runs_newest_first[0] if runs_newest_first else None
    in_a_row = failures_in_a_row(runs_newest_first, at)
    reasons = _run_reasons(client_id, last_run, in_a_row)
    suppressed = [s for s in suppressed if s.active]  # a cleared address receives reports again
    if suppressed:
        level = "CRITICAL" if len(suppressed) >= recipients > 0 else "WARNING"
        reasons.append((level, f"{len(suppressed)} of {recipients} recipient(s) suppressed"))
    if credential.get("status") in ("WARNING", "CRITICAL"):
        reasons.append((credential["status"], f"stored key {credential.get('detail', '')}".strip()))
    gaps: list[date] = []
    if status == "active":
        first = max(window.start, registered.date() if registered else window.start)
        succeeded_days = {r.as_of for r in runs_newest_first if r.status == "succeeded"}
        gaps = [d for d in run_days(schedule, first, window.end) if d not in succeeded_days]
        if stale:
            reasons.append(("WARNING", "no successful report within its schedule"))
        if gaps:
            reasons.append(("WARNING", f"{len(gaps)} scheduled day(s) without a successful report"))
    severity = max((level for level, _ in reasons), key=SEVERITY_ORDER.__getitem__, default="OK")
    return {
        "client_id": client_id,
        "name": name,
        "schedule": schedule,
        "status": status,
        "health": severity,
        "reasons": [text for _, text in sorted(reasons, key=lambda item: -SEVERITY_ORDER[item[0]])],
        "last_success": (last_success.finished_at or last_success.started_at) if last_success else None,
        "last_run": {"run_id": last_run.run_id, "status": outcome(last_run, at), "error_kind": last_run.error_kind}
        if last_run
        else None,
        "failures_in_a_row": in_a_row,
        "suppressed_recipients": [{"reason": s.reason, "recorded_at": s.recorded_at} for s in suppressed],
        "recipients": recipients,
        "credential": credential,
        "coverage_gaps": gaps,
    }


def attention_order(entry: dict[str, Any]) -> tuple[int, int, int, str]:
    return (
        -SEVERITY_ORDER[entry["health"]],
        -entry["failures_in_a_row"],
        -len(entry["coverage_gaps"]),
        entry["client_id"],
    )
