"""The platform's own running cost, per client: usage from the records, priced with cli/reviews/pricing.py.

Pure: the callers read the records (cli/readers, cli/probes) and pass them in. Per client, from what the
platform recorded for it:

- Lambda compute: GB-seconds, each run's duration times the worker's memory (runs of kind
  `manual` ran in the CLI, not in Lambda, and are not counted);
- Lambda requests: one per run (a worker invocation carries up to 10: an upper bound);
- Cost Explorer: requests, every page (`ce_requests`, `ce_cost_usd` of the run records);
- SES: the recipients of each sent report (`recipients`);
- S3 storage: GB-months of the client's archived objects (listing of `reports/<client>/`), by
  storage class, from each object's creation; S3 requests: PUTs, the objects archived in the period;
- DynamoDB storage: GB-months of the client's items (run records, client record, suppressions),
  sized by DynamoDB's rules.

Shared costs (the dispatcher and feedback functions, DynamoDB request units, the cache and
idempotency tables) are read from CloudWatch and the tables, and allocated to clients in
proportion to their runs (largest remainder, so the shares add up exactly).

Amounts: each line exact, then rounded half-up to 0.0001 USD; a client's total is the sum of its
lines rounded to the cent; the grand total is the sum of the client totals (and any
unallocated shared cost): a statement's figures add up to the cent.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from typing import Any

from cli.reviews.cost_advice import StoredObject
from cli.reviews.periods import Window
from cli.reviews.pricing import GB, S3_STORAGE_PRICE, price
from lambdas.models.execution import ExecutionRecord

LINE = Decimal("0.0001")
CENT = Decimal("0.01")


def line_amount(value: Decimal) -> Decimal:
    return value.quantize(LINE, rounding=ROUND_HALF_UP)


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# -- allocation ----------------------------------------------------------------------------------


def allocate(total: Decimal, weights: Mapping[str, int], quantum: Decimal = LINE) -> dict[str, Decimal]:
    """Split `total` (a multiple of `quantum`) in proportion to `weights` so that the shares are
    multiples of `quantum` and add up to `total` exactly (largest remainder). Ties go to the
    larger weight, then to the key in sorted order."""
    positive = {key: weight for key, weight in weights.items() if weight > 0}
    if not positive:
        return dict.fromkeys(weights, Decimal(0) * quantum)
    units = int(total / quantum)
    whole = sum(positive.values())
    exact = {key: Decimal(units) * weight / whole for key, weight in positive.items()}
    shares = {key: int(value.to_integral_value(rounding=ROUND_DOWN)) for key, value in exact.items()}
    left = units - sum(shares.values())
    order = sorted(positive, key=lambda key: (-(exact[key] - shares[key]), -positive[key], key))
    for key in order[:left]:
        shares[key] += 1
    return {key: Decimal(shares.get(key, 0)) * quantum for key in weights}


# -- quantities ----------------------------------------------------------------------------------


def month_fraction(start: datetime, end: datetime) -> Decimal:
    """How many months [start, end) is, each piece divided by the length of its own month: the
    GB-month arithmetic of AWS's storage bills (byte-hours over the month's hours)."""
    if end <= start:
        return Decimal(0)
    fraction = Decimal(0)
    cursor = start
    while cursor < end:
        days = calendar.monthrange(cursor.year, cursor.month)[1]
        month_start = cursor.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        month_end = month_start + timedelta(days=days)
        piece_end = min(end, month_end)
        fraction += Decimal((piece_end - cursor).total_seconds()) / Decimal(days * 86400)
        cursor = piece_end
    return fraction


def item_size(item: Mapping[str, Any]) -> int:
    """Bytes of a DynamoDB item (typed attribute values) by DynamoDB's documented rules: names
    and strings in UTF-8, numbers one byte per two significant digits plus one, binary as is,
    containers 3 bytes plus one per element."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: Mapping[str, Any]) -> int:
    (kind, data), *_ = value.items()
    if kind == "S":
        return len(str(data).encode())
    if kind == "N":
        digits = str(data).lstrip("-").replace(".", "").strip("0") or "0"
        return (len(digits) + 1) // 2 + 1
    if kind == "B":
        return len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(str(v).encode()) for v in data)
    if kind == "NS":
        return sum(_value_size({"N": v}) for v in data)
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in data)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + _value_size(v) for k, v in data.items())
    return 0


@dataclass
class ClientUsage:
    client_id: str
    name: str
    runs: Sequence[ExecutionRecord]
    objects: Sequence[StoredObject] = ()
    item_bytes: int = 0


@dataclass
class SharedUsage:
    """Costs not recorded per client. Each field None when its source had no data (then noted)."""

    lambda_gb_seconds: Decimal | None = None
    lambda_requests: int | None = None
    dynamodb_read_units: Decimal | None = None
    dynamodb_write_units: Decimal | None = None
    dynamodb_bytes: int | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Line:
    service: str
    description: str
    quantity: Decimal
    unit: str
    price_key: str
    amount: Decimal

    def as_dict(self) -> dict[str, Any]:
        unit = price(self.price_key)
        return {
            "service": self.service,
            "description": self.description,
            "quantity": self.quantity,
            "unit": self.unit,
            "unit_price_usd": unit.usd,
            "per": unit.per,
            "amount_usd": self.amount,
        }


def priced(service: str, description: str, quantity: Decimal, unit: str, key: str) -> Line:
    return Line(service, description, quantity, unit, key, line_amount(quantity * price(key).per_unit))


def lambda_runs(runs: Iterable[ExecutionRecord]) -> list[ExecutionRecord]:
    return [r for r in runs if r.kind != "manual" and r.duration_ms is not None]


def gb_seconds(runs: Iterable[ExecutionRecord], memory_mb: int) -> Decimal:
    milliseconds = sum((Decimal(r.duration_ms or 0) for r in runs), Decimal(0))
    return (milliseconds / 1000 * Decimal(memory_mb) / 1024).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def client_lines(usage: ClientUsage, window: Window, at: datetime, worker_memory_mb: int | None) -> list[Line]:
    lines = []
    in_lambda = lambda_runs(usage.runs)
    if worker_memory_mb is not None:
        lines.append(
            priced(
                "Lambda",
                f"worker compute, {len(in_lambda)} run(s) at {worker_memory_mb} MB",
                gb_seconds(in_lambda, worker_memory_mb),
                "GB-second",
                "lambda_gb_second",
            )
        )
    lines.append(priced("Lambda", "worker requests", Decimal(len(in_lambda)), "request", "lambda_request"))
    requests = sum(r.ce_requests for r in usage.runs)
    recorded = sum((r.ce_cost_usd for r in usage.runs), Decimal(0))
    lines.append(
        Line("Cost Explorer", "API requests", Decimal(requests), "request", "ce_request", line_amount(recorded))
    )
    emails = sum(r.recipients for r in usage.runs if r.delivery == "sent")
    lines.append(priced("SES", "report emails (one per recipient)", Decimal(emails), "email", "ses_email"))
    end = min(window.end_at, at)
    by_class: dict[str, Decimal] = {}
    puts = 0
    for stored in usage.objects:
        span = month_fraction(max(stored.last_modified, window.start_at), end)
        by_class[stored.storage_class] = by_class.get(stored.storage_class, Decimal(0)) + Decimal(stored.size) * span
        if window.start_at <= stored.last_modified < window.end_at:
            puts += 1
    for storage_class, byte_months in sorted(by_class.items()):
        key = S3_STORAGE_PRICE.get(storage_class, "s3_standard_gb_month")
        gb_months = (byte_months / GB).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
        lines.append(priced("S3", f"archived reports, {storage_class}", gb_months, "GB-month", key))
    lines.append(priced("S3", "archive PUT requests", Decimal(puts), "request", "s3_put_request"))
    months = month_fraction(window.start_at, end)
    item_gb_months = (Decimal(usage.item_bytes) / GB * months).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
    lines.append(
        priced("DynamoDB", "client record, run records, suppressions", item_gb_months, "GB-month", "dynamodb_gb_month")
    )
    return lines


def shared_lines(shared: SharedUsage, window: Window, at: datetime) -> list[Line]:
    lines = []
    if shared.lambda_gb_seconds is not None:
        lines.append(
            priced(
                "Lambda",
                "dispatcher and feedback compute",
                shared.lambda_gb_seconds,
                "GB-second",
                "lambda_gb_second",
            )
        )
    if shared.lambda_requests is not None:
        lines.append(
            priced(
                "Lambda",
                "dispatcher and feedback requests",
                Decimal(shared.lambda_requests),
                "request",
                "lambda_request",
            )
        )
    if shared.dynamodb_read_units is not None:
        lines.append(
            priced("DynamoDB", "read request units", shared.dynamodb_read_units, "read unit", "dynamodb_read_unit")
        )
    if shared.dynamodb_write_units is not None:
        lines.append(
            priced("DynamoDB", "write request units", shared.dynamodb_write_units, "write unit", "dynamodb_write_unit")
        )
    if shared.dynamodb_bytes is not None:
        months = month_fraction(window.start_at, min(window.end_at, at))
        gb_months = (Decimal(shared.dynamodb_bytes) / GB * months).quantize(Decimal("0.000001"), rounding=ROUND_HALF_UP)
        lines.append(
            priced("DynamoDB", "cost cache and idempotency storage", gb_months, "GB-month", "dynamodb_gb_month")
        )
    return lines


def statement(
    usages: Sequence[ClientUsage],
    shared: SharedUsage,
    window: Window,
    at: datetime,
    worker_memory_mb: int | None,
) -> dict[str, Any]:
    """Per client: its own lines, its share of the shared lines, its total; and the totals."""
    shared_items = shared_lines(shared, window, at)
    weights = {usage.client_id: len(usage.runs) for usage in usages}
    shares = {line.description: allocate(line.amount, weights) for line in shared_items}
    clients: list[dict[str, Any]] = []
    for usage in sorted(usages, key=lambda u: u.client_id):
        own = client_lines(usage, window, at, worker_memory_mb)
        allocated: list[dict[str, Any]] = [
            {
                "service": line.service,
                "description": f"share of {line.description}",
                "amount_usd": shares[line.description][usage.client_id],
            }
            for line in shared_items
        ]
        direct = sum((line.amount for line in own), Decimal(0))
        share = sum((shares[line.description][usage.client_id] for line in shared_items), Decimal(0))
        clients.append(
            {
                "client_id": usage.client_id,
                "name": usage.name,
                "runs": len(usage.runs),
                "lines": [line.as_dict() for line in own],
                "shared": allocated,
                "direct_usd": direct,
                "shared_usd": share,
                "total_usd": cents(direct + share),
            }
        )
    runs = sum(weights.values())
    unallocated = Decimal(0) if runs else sum((line.amount for line in shared_items), Decimal(0))
    by_service: dict[str, Decimal] = {}
    for client in clients:
        for line in client["lines"]:
            by_service[line["service"]] = by_service.get(line["service"], Decimal(0)) + line["amount_usd"]
    for line in shared_items:
        by_service[line.service] = by_service.get(line.service, Decimal(0)) + line.amount
    return {
        "period": window.as_dict(),
        "worker_memory_mb": worker_memory_mb,
        "clients": clients,
        "shared": {
            "allocation": "in proportion to each client's runs in the period (largest remainder, 0.0001 USD)",
            "lines": [line.as_dict() for line in shared_items],
            "notes": shared.notes,
        },
        "unallocated_usd": cents(unallocated),
        "by_service_usd": {service: line_amount(amount) for service, amount in sorted(by_service.items())},
        "total_usd": sum((client["total_usd"] for client in clients), Decimal(0)) + cents(unallocated),
    }


def verify_statement(document: Mapping[str, Any]) -> list[str]:
    """Every client total is its lines' sum to the cent, the grand total the clients' sum: the
    problems found (empty when the statement adds up)."""
    problems = []
    grand = Decimal(0)
    for client in document["clients"]:
        lines = sum((Decimal(str(line["amount_usd"])) for line in client["lines"]), Decimal(0))
        shared = sum((Decimal(str(item["amount_usd"])) for item in client["shared"]), Decimal(0))
        total = Decimal(str(client["total_usd"]))
        if cents(lines + shared) != total:
            problems.append(
                f"clients[{client['client_id']}].total_usd: {total} is not its lines' sum {cents(lines + shared)}"
            )
        grand += total
    grand += Decimal(str(document["unallocated_usd"]))
    if grand != Decimal(str(document["total_usd"])):
        problems.append(f"total_usd: {document['total_usd']} is not the clients' sum {grand}")
    return problems
