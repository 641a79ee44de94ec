"""The platform's own AWS bill, for the embedded Cost Explorer: what running the local
environment would cost, day by day, in the account it runs in.

`costs report` and `costs trends` read the platform's bill from Cost Explorer with the
platform's own credentials, filtered by the stack's cost allocation tags (`project`
= cost-reporting, `environment`). In AWS those costs are in the account's bill; here they are
generated into the emulator's dataset (`add_platform_bill`), for the account of the emulator's
plain test credentials (123456789012, which Cost Explorer lets see every account), tagged as
the stack tags its resources. The clients' own costs are other accounts: no client report sees
these records (the reports filter on the clients' accounts).

The figures follow the dataset's clients: each active client's runs on its schedule (a daily
client every day, weekly on Mondays, monthly on the 1st and month-close on the 5th) use Lambda,
DynamoDB, S3, SES and Cost Explorer at roughly the unit amounts `make bench` measured, priced
at AWS's list prices; the fixed monthly costs (the KMS key, secrets, alarms, the dashboard) are
spread over the days. Cost Explorer's API fees carry no tag: AWS does not allocate them by
resource, so they are an untagged line of the account (service "AWS Cost Explorer"), as in AWS.
Generated, deterministic (seeded), never read by the platform's reports to clients.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from emulator.dataset import MOTO_DEFAULT_ACCOUNT, AccountInfo, CostDataset, CostRecord
from infrastructure.config import for_environment

PLATFORM_ACCOUNT = MOTO_DEFAULT_ACCOUNT
COST_EXPLORER = "AWS Cost Explorer"
_TEN_DECIMALS = Decimal("1E-10")

# USD a run costs per service (a run: ~0.15 s at 1 GB, two Cost Explorer requests cold and none
# warm, one email per recipient, three objects archived, a dozen table reads and writes).
PER_RUN_USD = {
    "AWS Lambda": Decimal("0.0000027"),
    "Amazon DynamoDB": Decimal("0.0000045"),
    "Amazon Simple Storage Service": Decimal("0.0000160"),
    "Amazon Simple Email Service": Decimal("0.0001"),  # per recipient
    "Amazon Simple Queue Service": Decimal("0.0000008"),
}
CE_REQUESTS_PER_RUN = Decimal("0.6")  # 2 cold, 0 on a re-run, shared by payers: bench's average
CE_REQUEST_USD = Decimal("0.01")
# USD a month, whatever the number of clients.
MONTHLY_USD = {
    "AWS Key Management Service": Decimal("1.00"),  # the project's key
    "AmazonCloudWatch": Decimal("5.70"),  # the dashboard (3.00), 7 alarms (0.70), logs and metrics
    "AWS Secrets Manager": Decimal("0.40"),  # the link signer's key
    "Amazon Simple Notification Service": Decimal("0.01"),
}
SECRET_USD_MONTH = Decimal("0.40")  # each client on stored keys


def _runs_on(schedule: str, day: date) -> int:
    if schedule == "daily":
        return 1
    if schedule == "weekly":
        return int(day.weekday() == 0)
    return int(day.day in (1, 5))  # monthly, and its month-close run


def _month_days(day: date) -> int:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return (following - day.replace(day=1)).days


def _first_day(dataset: CostDataset, accounts: list[str], low: date, high: date) -> date:
    """The first day with costs in any of the accounts (generated costs run on without a gap
    from there: a binary search over the days, each a lookup in the dataset's day index)."""
    while low < high:
        middle = low + (high - low) // 2
        if next(iter(dataset.records_between(middle, middle + timedelta(days=1), accounts)), None) is None:
            low = middle + timedelta(days=1)
        else:
            high = middle
    return low


def _clients_on(clients: Iterable[dict[str, Any]], day: date, first_days: dict[str, date]) -> list[dict[str, Any]]:
    return [c for c in clients if first_days.get(c["client_id"], day) <= day]


def platform_records(
    dataset: CostDataset, environment: str = "local", *, seed: int = 7
) -> tuple[list[CostRecord], AccountInfo]:
    """Day by day, the platform's bill for the dataset's clients, from the dataset's first day
    (a client counts from the first day its accounts have costs) to its last."""
    if dataset.first_day is None or dataset.last_day is None:
        return [], AccountInfo(PLATFORM_ACCOUNT, "cost-reporting-platform", PLATFORM_ACCOUNT)
    rng = random.Random(f"{seed}:platform-bill:{environment}")  # noqa: S311 - demo data, not secrets
    tags = tuple(sorted(for_environment(environment).cost_allocation_tags.items()))  # as the stack tags them
    first, last = dataset.first_day, dataset.last_day
    first_days = {c["client_id"]: _first_day(dataset, c["account_ids"], first, last) for c in dataset.clients}
    records: list[CostRecord] = []
    day = dataset.first_day
    while day <= dataset.last_day:
        active = _clients_on(dataset.clients, day, first_days)
        runs = sum(_runs_on(c.get("schedule", "daily"), day) for c in active)
        recipients = sum(len(c.get("recipients", [])) * _runs_on(c.get("schedule", "daily"), day) for c in active)
        secrets = sum(1 for c in active if c.get("credentials", {}).get("type") == "stored_keys")
        noise = Decimal(rng.randint(900, 1100)) / 1000
        amounts = {service: per_run * runs * noise for service, per_run in PER_RUN_USD.items()}
        amounts["Amazon Simple Email Service"] = PER_RUN_USD["Amazon Simple Email Service"] * recipients * noise
        for service, monthly in MONTHLY_USD.items():
            extra = SECRET_USD_MONTH * secrets if service == "AWS Secrets Manager" else 0
            amounts[service] = (monthly + extra) / _month_days(day)
        for service, amount in sorted(amounts.items()):
            if amount > 0:
                value = amount.quantize(_TEN_DECIMALS)
                records.append(CostRecord(day, PLATFORM_ACCOUNT, service, "Usage", value, value, "us-east-1", tags))
        requests = (CE_REQUESTS_PER_RUN * runs * noise).quantize(Decimal(1))
        if requests:
            fee = (requests * CE_REQUEST_USD).quantize(_TEN_DECIMALS)
            records.append(CostRecord(day, PLATFORM_ACCOUNT, COST_EXPLORER, "Usage", fee, fee, "us-east-1"))
        day += timedelta(days=1)
    return records, AccountInfo(PLATFORM_ACCOUNT, "cost-reporting-platform", PLATFORM_ACCOUNT)


def add_platform_bill(dataset: CostDataset, environment: str = "local", *, seed: int = 7) -> int:
    """Add the platform's own bill to the dataset; how many records were added."""
    records, account = platform_records(dataset, environment, seed=seed)
    dataset.add_accounts([account])
    dataset.add_records(records)
    return len(records)
