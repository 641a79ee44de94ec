"""Small builders of valid domain objects for unit tests."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from lambdas.logic.cost_data import CostData, CostRow, DayTotals
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


def cost_data(
    rows: list[tuple[str, str, str, str]],
    estimated: set[str] | None = None,
    *,
    read: tuple[date, date] | None = None,
    credit_rows: list[CostRow] | None = None,
) -> CostData:
    """rows of (day, service, account, amount); every day from read[0] to read[1] (default: the
    rows' own days) was read, a day with no row at zero cost."""
    data = CostData.from_rows(
        [CostRow(date.fromisoformat(day), service, account, Decimal(amount)) for day, service, account, amount in rows],
        credit_rows=credit_rows or [],
        unit="USD",
    )
    if read is not None:
        day = read[0]
        while day <= read[1]:
            data.daily.setdefault(day, DayTotals(Decimal(0)))
            data.service_by_day.setdefault(day, {})
            day += timedelta(days=1)
    data.estimated_days = {date.fromisoformat(d) for d in (estimated or set())}
    return data
