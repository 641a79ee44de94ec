"""Small builders of valid domain objects for unit tests."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from lambdas.logic.cost_data import CostData, CostRow
from lambdas.models.client import Client, parse_client


def client_record(**overrides: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "client_id": "acme",
        "name": "Acme Corp",
        "account_ids": ["111111111111", "222222222222"],
        "credentials": {
            "type": "role",
            "role_arn": "arn:aws:iam::111111111111:role/CostReportingReadOnly",
            "external_id": "acme-external-id",
        },
        "recipients": ["finance@acme.example"],
        "schedule": "daily",
        "currency": "USD",
        "metric": "UnblendedCost",
    }
    record.update(overrides)
    return record


def make_client(**overrides: Any) -> Client:
    return parse_client(client_record(**overrides))


def cost_data(rows: list[tuple[str, str, str, str]], estimated: set[str] | None = None) -> CostData:
    """rows of (day, service, account, amount)."""
    data = CostData(unit="USD")
    for day, service, account, amount in rows:
        data.rows.append(CostRow(date.fromisoformat(day), service, account, Decimal(amount)))
        data.days.add(date.fromisoformat(day))
    data.estimated_days = {date.fromisoformat(d) for d in (estimated or set())}
    return data
