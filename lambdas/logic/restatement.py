"""Month close: what the final bill changed against the estimated report already sent. Pure.

The sent report is the `report.json` archived by an earlier run (any schema version that has
`run_id`, `period`, `total` and `by_service`); the final one is the report being built.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from lambdas.models.report import Period, Restatement, ServiceLine


def covers(sent: dict[str, Any], period: Period) -> bool:
    """True when an archived report.json reported exactly this period."""
    try:
        sent_period = sent["period"]
        return (
            date.fromisoformat(sent_period["start"]) == period.start
            and date.fromisoformat(sent_period["end"]) == period.end
        )
    except (KeyError, TypeError, ValueError):
        return False


def restatement(sent: dict[str, Any], final_total: Decimal, final_services: list[ServiceLine]) -> Restatement:
    """Services whose amount changed (amount = final, previous_amount = as sent), biggest change first."""
    try:
        sent_total = Decimal(str(sent["total"]))
        sent_services = {str(line["name"]): Decimal(str(line["amount"])) for line in sent.get("by_service", [])}
    except (KeyError, TypeError, InvalidOperation):
        raise ValueError("the archived report.json has no decimal total or by_service amounts") from None
    final = {line.name: line.amount for line in final_services}
    changed = [
        ServiceLine(name=name, amount=final.get(name, Decimal(0)), previous_amount=sent_services.get(name, Decimal(0)))
        for name in sorted(set(final) | set(sent_services))
        if final.get(name, Decimal(0)) != sent_services.get(name, Decimal(0))
    ]
    changed.sort(key=lambda line: (-abs(line.change), line.name))
    return Restatement(
        sent_run_id=str(sent.get("run_id", "")),
        sent_total=sent_total,
        final_total=final_total,
        change_amount=final_total - sent_total,
        services=changed,
    )
