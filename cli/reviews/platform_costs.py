"""The platform's own AWS bill, as AWS bills it (the commands: cli/commands/costs.py).

Read from Cost Explorer with the platform's own credentials (the operator's, in the platform's
account; locally the embedded Cost Explorer, whose dataset holds a generated bill for the
platform: emulator/platform_bill.py), filtered by the cost allocation tags the stack puts on
every resource (`project`, `environment`: infrastructure/config.py), grouped by service:

- `report --period monthly`: a month by service, against the month before (one request covers
  both), and by client: each service's amount split in proportion to the clients' use of it as
  `billing track` measures it (runs, archived objects, emails, items; by runs for the services
  it does not measure);
- `trends --period N`: the last N complete months by service (one request), the total's trend
  (least squares), the months' biggest movers, and the bill against the runs it paid for.

Cost Explorer's own request fees carry no tag (AWS does not allocate them to resources): they
are shown apart, as the account's `AWS Cost Explorer` line (every caller in the account) and
as the platform's runs recorded them (`ce_cost_usd`, exact). Every Cost Explorer request these
commands make costs USD 0.01 and is counted in the output. A month with no tagged cost at all
is not zero: it is reported as missing (the tags may not have been active yet).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from cli.reviews import costing
from lambdas.models.execution import ExecutionRecord

CE_SERVICE = "AWS Cost Explorer"
# Cost Explorer's service names -> the services `billing track` measures per client.
MEASURED_PER_CLIENT = {
    "AWS Lambda": "Lambda",
    "Amazon DynamoDB": "DynamoDB",
    "Amazon Simple Storage Service": "S3",
    "Amazon Simple Email Service": "SES",
}
COST_PER_RUN_RISE = Decimal("0.10")  # the bill grew faster than the runs it paid for: a finding


@dataclass
class Month:
    start: date
    estimated: bool = False
    by_service: dict[str, Decimal] = field(default_factory=dict)

    @property
    def total(self) -> Decimal | None:
        """None when Cost Explorer had no tagged cost at all: missing, not zero."""
        return sum(self.by_service.values(), Decimal(0)) if self.by_service else None


def runs_by_month(runs: list[ExecutionRecord]) -> tuple[Counter[date], dict[date, Decimal]]:
    """Runs that started in each month, and the Cost Explorer fees they recorded."""
    counts: Counter[date] = Counter()
    fees: dict[date, Decimal] = {}
    for run in runs:
        month = run.started_at.date().replace(day=1)
        counts[month] += 1
        fees[month] = fees.get(month, Decimal(0)) + run.ce_cost_usd
    return counts, fees


def per_run(total: Decimal | None, runs: int) -> Decimal | None:
    return (total / runs).quantize(Decimal("0.000001")) if total is not None and runs else None


def allocation(month: Month, statement: dict[str, Any]) -> tuple[list[dict[str, Any]], Decimal]:
    """Each tagged service's amount split over the clients by their measured use of it (or their
    runs); what no client used stays unallocated."""
    clients = statement["clients"]
    runs = {c["client_id"]: int(c["runs"]) for c in clients}
    shares: dict[str, dict[str, Decimal]] = {c["client_id"]: {} for c in clients}
    unallocated = Decimal(0)
    for service, amount in sorted(month.by_service.items()):
        measured = MEASURED_PER_CLIENT.get(service)
        weights = runs
        if measured:
            used = {c["client_id"]: _measured_units(c, measured) for c in clients}
            weights = used if any(used.values()) else runs
        total = costing.line_amount(amount)
        if not any(weights.values()):
            unallocated += total
            continue
        for client_id, share in costing.allocate(total, weights).items():
            shares[client_id][service] = share
    rows = [
        {
            "client_id": c["client_id"],
            "name": c["name"],
            "runs": runs[c["client_id"]],
            "by_service": shares[c["client_id"]],
            "tagged_usd": costing.cents(sum(shares[c["client_id"]].values(), Decimal(0))),
            "cost_explorer_recorded_usd": next(
                (Decimal(str(x["amount_usd"])) for x in c["lines"] if x["service"] == "Cost Explorer"), Decimal(0)
            ),
        }
        for c in clients
    ]
    return rows, costing.cents(unallocated)


def _measured_units(client: dict[str, Any], service: str) -> int:
    """A client's measured cost of a service in 0.0001 USD units (an allocation weight)."""
    amount = sum((Decimal(str(x["amount_usd"])) for x in client["lines"] if x["service"] == service), Decimal(0))
    return int(amount * 10_000)


def drivers(before: Month, after: Month, top: int = 3) -> list[dict[str, Any]]:
    """The services whose change moved the total most, largest first."""
    names = set(before.by_service) | set(after.by_service)
    changes = [
        (name, after.by_service.get(name, Decimal(0)) - before.by_service.get(name, Decimal(0))) for name in names
    ]
    rounded = [(name, costing.line_amount(delta)) for name, delta in changes]
    moved = sorted(((name, delta) for name, delta in rounded if delta), key=lambda item: (-abs(item[1]), item[0]))
    return [{"service": name, "change_usd": delta} for name, delta in moved[:top]]


def month_label(start: date) -> str:
    return f"{start:%Y-%m}"
