"""The report: plain data computed from the cost source's answers (Cost Explorer, or a Data Export),
archived as report.json.

This model is the contract between the code that builds a report (planner, cache, report
logic) and the code that presents it (HTML, text, CSV, XLSX, Slack/Teams). Amounts are
`Decimal` and serialise as decimal strings. `Period.end` is inclusive (the last day covered),
unlike Cost Explorer's exclusive `TimePeriod.End`. The schema is documented in
docs/report-schema.md.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

SCHEMA_VERSION = 3

ReportKind = Literal["scheduled", "final", "manual"]
CostSource = Literal["cost_explorer", "data_exports"]
# Only a Data Export gives these: a Cost Explorer report.json leaves them out.
DATA_EXPORT_FIELDS = ("export_format", "top_resources", "commitments")


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


class BreakdownLine(BaseModel):
    """One value of the client's tag or cost category ("" = untagged / uncategorised)."""

    value: str
    amount: Decimal
    previous_amount: Decimal


class Breakdown(BaseModel):
    type: Literal["tag", "cost_category"]
    key: str
    lines: list[BreakdownLine]


class CreditLine(BaseModel):
    """Credits, refunds and similar record types, shown as their own lines (negative amounts)."""

    record_type: str
    amount: Decimal
    previous_amount: Decimal


class DailyPoint(BaseModel):
    date: date
    amount: Decimal
    estimated: bool
    provisional: bool = Field(
        default=False,
        description="Fetched less than 24 hours after the day ended: Cost Explorer may still be filling it.",
    )


class Correction(BaseModel):
    """A day an earlier report showed while Cost Explorer was still filling it, and its settled cost."""

    date: date
    reported: Decimal = Field(description="The day's cost (before credits) when it was provisional.")
    settled: Decimal = Field(description="The same figure now.")

    @property
    def change(self) -> Decimal:
        return self.settled - self.reported


class MonthPoint(BaseModel):
    month: date = Field(description="First day of the month.")
    amount: Decimal
    estimated: bool


class Anomaly(BaseModel):
    """A day whose cost left the expected range, and the rule that said so."""

    date: date
    amount: Decimal
    expected_low: Decimal
    expected_high: Decimal
    rule: str = Field(description="Which rule fired, in words a recipient understands.")
    service: str | None = Field(default=None, description="The service that moved most that day, if any.")


class Restatement(BaseModel):
    """Month-close: what the final bill changed against the estimated report already sent."""

    sent_run_id: str
    sent_total: Decimal
    final_total: Decimal
    change_amount: Decimal
    services: list[ServiceLine] = Field(description="Services whose amount changed: amount=final, previous=sent.")


class ResourceLine(BaseModel):
    """One of the resources (FOCUS ResourceId, CUR line_item_resource_id) that cost most in the period."""

    resource_id: str
    service: str
    account_id: str
    account_name: str | None = Field(default=None, description="None when the account's name is not known.")
    amount: Decimal = Field(description="Its cost in the period, before credits and refunds, in the report's metric.")
    share: Decimal | None = Field(
        description="amount / the period's cost before credits (the sum of by_service), 4 places; "
        "None when that is not positive."
    )
    mover: Literal["up", "down"] | None = Field(
        default=None, description="Its service is among the biggest movers (movers_up / movers_down)."
    )


class CommitmentLine(BaseModel):
    """Savings Plans or Reserved Instances over the period (FOCUS CommitmentDiscountType)."""

    type: str = Field(description='"Savings Plan" or "Reservation", as the export names it.')
    used: Decimal = Field(description="Effective cost of the commitment used (CommitmentDiscountStatus Used).")
    unused: Decimal = Field(description="Effective cost of the commitment left unused (Unused).")
    utilisation: Decimal | None = Field(description="used / (used + unused), 4 places; None when both are 0.")
    covered: Decimal | None = Field(
        default=None, description="On-demand equivalent (ListCost) of the usage the commitment paid for."
    )
    on_demand: Decimal | None = Field(
        default=None,
        description="On-demand equivalent of the usage no commitment paid for, in the services this type covered.",
    )
    coverage: Decimal | None = Field(
        default=None, description="covered / (covered + on_demand), 4 places; None when not known."
    )


class Coverage(BaseModel):
    accounts_expected: list[str]
    accounts_seen: list[str]
    days_expected: int
    days_with_data: int
    ce_requests: int
    ce_cost_usd: Decimal
    cache_hits: int = 0
    key_age_days: int | None = Field(default=None, description="Age of stored access keys; None for roles.")


class Report(BaseModel):
    schema_version: int = SCHEMA_VERSION
    client_id: str
    client_name: str
    run_id: str
    kind: ReportKind = "scheduled"
    schedule: str = "daily"
    as_of: date
    generated_at: datetime
    metric: str
    currency: str
    locale: str = "en_US"
    period: Period
    previous_period: Period
    total: Decimal
    previous_total: Decimal
    change_amount: Decimal
    change_percent: Decimal | None = Field(description="None when the previous total is zero.")
    month_to_date: Decimal | None = Field(default=None, description="Daily reports: the month so far.")
    forecast: Decimal | None = Field(description="Month-end forecast; None once the month is complete.")
    forecast_method: str | None
    budget: Decimal | None
    by_service: list[ServiceLine]
    movers_up: list[ServiceLine] = []
    movers_down: list[ServiceLine] = []
    by_account: list[AccountLine]
    breakdown: Breakdown | None = None
    credits: list[CreditLine] = []
    credits_included: bool = True
    daily: list[DailyPoint]
    monthly_trend: list[MonthPoint] = []
    anomalies: list[Anomaly] = []
    restatement: Restatement | None = None
    estimated: bool = Field(description="True while any day of the period is still an estimate or was not read.")
    complete: bool = Field(
        default=True,
        description="False when the core figures (the period's and the comparison's totals, by service and by account, "
        "and the credits when they count) could not all be read: such a report is sent only to a client that accepts "
        "partial reports, and says so in its subject and headline.",
    )
    missing: list[str] = Field(default=[], description="What the core figures lack, when `complete` is False.")
    provisional_days: list[date] = Field(
        default=[],
        description="Days shown while Cost Explorer was still filling them in (less than 24 h after they ended).",
    )
    corrections: list[Correction] = Field(
        default=[], description="Days an earlier report showed as provisional, with their settled cost."
    )
    ce_requests: int
    notes: list[str] = Field(default=[], description="What the recipient should know (e.g. request budget hit).")
    coverage: Coverage | None = None
    archive_url: str | None = Field(default=None, description="Presigned link to the archived report (short expiry).")
    cost_source: CostSource = "cost_explorer"
    export_format: str | None = Field(
        default=None, description="Data Export runs: the export's format (focus_1_2, focus_1_0, cur_2_0)."
    )
    top_resources: list[ResourceLine] = Field(
        default=[], description="Data Export runs: the resources that cost most, those of the biggest movers first."
    )
    commitments: list[CommitmentLine] = Field(default=[], description="Data Export runs (FOCUS): commitment use.")

    @model_serializer(mode="wrap")
    def _leave_out_what_the_source_cannot_give(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if self.cost_source == "cost_explorer" and isinstance(data, dict):
            for name in DATA_EXPORT_FIELDS:
                data.pop(name, None)
        return data
