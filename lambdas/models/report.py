"""The report: plain data computed from Cost Explorer answers, archived as report.json.

Amounts are `Decimal` and serialise as decimal strings. `Period.end` is inclusive (the last
day covered), unlike Cost Explorer's exclusive `TimePeriod.End`. The schema is documented in
docs/report-schema.md.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1


class Period(BaseModel):
    model_config = ConfigDict(frozen=True)

    start: date
    end: date = Field(description="Last day covered (inclusive).")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def end_exclusive(self) -> date:
        return self.end + timedelta(days=1)

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


class ServiceLine(BaseModel):
    name: str
    amount: Decimal
    previous_amount: Decimal

    @property
    def change(self) -> Decimal:
        return self.amount - self.previous_amount


class AccountLine(BaseModel):
    account_id: str
    name: str
    amount: Decimal
    previous_amount: Decimal


class DailyPoint(BaseModel):
    date: date
    amount: Decimal
    estimated: bool


class Forecast(BaseModel):
    amount: Decimal
    method: str
    remaining_days: int
    daily_rate: Decimal


class Report(BaseModel):
    schema_version: int = SCHEMA_VERSION
    client_id: str
    client_name: str
    run_id: str
    as_of: date
    generated_at: datetime
    metric: str
    currency: str
    period: Period
    previous_period: Period
    total: Decimal
    previous_total: Decimal
    change_amount: Decimal
    change_percent: Decimal | None = Field(description="None when the previous total is zero.")
    forecast: Decimal | None = Field(description="Month-end forecast; None once the month is complete.")
    forecast_method: str | None
    budget: Decimal | None
    by_service: list[ServiceLine]
    by_account: list[AccountLine]
    daily: list[DailyPoint]
    estimated: bool = Field(description="True while any day of the period is still an estimate.")
    ce_requests: int
