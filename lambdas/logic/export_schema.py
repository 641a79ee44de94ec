"""The columns a Data Export's files hold (FOCUS 1.2, FOCUS 1.0, CUR 2.0), how a file's format is
told from its columns, and the checks a file passes before any SQL reads it. Pure: the SQL itself
is lambdas/logic/exports_sql.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from lambdas.models.exceptions import ExportDataError

RELATION = "export"
AMOUNT_TYPE = "DECIMAL(38,10)"


@dataclass(frozen=True)
class ExportSchema:
    """How one export format names what a report reads."""

    format: str
    account: str
    account_name: str
    start: str  # the charge's start (a timestamp)
    billed: str
    effective: str
    service: str
    record_type: str
    invoice: str
    currency: str
    resource: str
    commitment_status: str | None
    tags: str  # the map column of resource tags
    tag_prefix: str  # CUR 2.0 names user tags "user_<key>"
    columns: Mapping[str, tuple[str, ...]]  # column -> accepted type prefixes
    marks: tuple[str, ...]  # columns only this format (and version) has

    def tag(self, key: str, dialect: str = "duckdb") -> str:
        # DuckDB's map[key] is the value (NULL when absent); Athena (Trino) fails on an absent key
        # there, and its element_at is the NULL-safe form (DuckDB's element_at answers a list).
        name = literal(self.tag_prefix + key)
        if dialect == "athena":
            return f"COALESCE(element_at({self.tags}, {name}), '')"
        return f"COALESCE({self.tags}[{name}], '')"

    def amount(self, metric: str) -> str:
        column = self.billed if metric == "UnblendedCost" else self.effective
        return f"CAST({column} AS {AMOUNT_TYPE})"

    def day(self) -> str:
        return f"CAST({self.start} AS DATE)"


_COST = ("DOUBLE", "DECIMAL", "FLOAT")
_TEXT = ("VARCHAR",)
_TIME = ("TIMESTAMP",)
_MAP = ("MAP(VARCHAR, VARCHAR)",)

FOCUS_1_2 = ExportSchema(
    format="focus_1_2",
    account="SubAccountId",
    account_name="SubAccountName",
    start="ChargePeriodStart",
    billed="BilledCost",
    effective="EffectiveCost",
    service="ServiceName",
    record_type=(
        "CASE WHEN ChargeCategory = 'Credit' THEN 'Credit' "
        "WHEN ChargeCategory = 'Adjustment' OR ChargeClass = 'Correction' THEN 'Refund' "
        "WHEN ChargeCategory = 'Tax' THEN 'Tax' WHEN ChargeCategory = 'Purchase' THEN 'Purchase' "
        "ELSE 'Usage' END"
    ),
    invoice="InvoiceId",
    currency="BillingCurrency",
    resource="ResourceId",
    commitment_status="CommitmentDiscountStatus",
    tags="Tags",
    tag_prefix="",
    columns={
        "BilledCost": _COST,
        "EffectiveCost": _COST,
        "ListCost": _COST,
        "ChargePeriodStart": _TIME,
        "BillingPeriodStart": _TIME,
        "SubAccountId": _TEXT,
        "SubAccountName": _TEXT,
        "ServiceName": _TEXT,
        "ChargeCategory": _TEXT,
        "ChargeClass": _TEXT,
        "InvoiceId": _TEXT,
        "BillingCurrency": _TEXT,
        "ResourceId": _TEXT,
        "CommitmentDiscountStatus": _TEXT,
        "CommitmentDiscountType": _TEXT,
        "Tags": _MAP,
    },
    # Added by FOCUS 1.2 (with InvoiceId above): a 1.0 file lacks them.
    marks=("ServiceSubcategory", "CapacityReservationStatus", "BillingAccountType", "SubAccountType"),
)
CUR_2_0 = ExportSchema(
    format="cur_2_0",
    account="line_item_usage_account_id",
    account_name="line_item_usage_account_name",
    start="line_item_usage_start_date",
    billed="line_item_unblended_cost",
    # Amortised as Cost Explorer amortises (AWS's CUR query library): covered usage at its effective
    # cost, the commitment's fees only for what went unused, upfront fees spread over the usage.
    effective=(
        "CASE "
        "WHEN line_item_line_item_type = 'SavingsPlanCoveredUsage' THEN savings_plan_savings_plan_effective_cost "
        "WHEN line_item_line_item_type = 'SavingsPlanRecurringFee' "
        "THEN savings_plan_total_commitment_to_date - savings_plan_used_commitment "
        "WHEN line_item_line_item_type IN ('SavingsPlanNegation', 'SavingsPlanUpfrontFee') THEN 0 "
        "WHEN line_item_line_item_type = 'DiscountedUsage' THEN reservation_effective_cost "
        "WHEN line_item_line_item_type = 'RIFee' "
        "THEN reservation_unused_amortized_upfront_fee_for_billing_period + reservation_unused_recurring_fee "
        "WHEN line_item_line_item_type = 'Fee' AND COALESCE(reservation_reservation_a_r_n, '') <> '' THEN 0 "
        "ELSE line_item_unblended_cost END"
    ),
    service="COALESCE(product['product_name'], line_item_product_code)",
    record_type=(
        "CASE WHEN line_item_line_item_type IN ('Credit', 'Refund', 'Tax', 'Fee') "
        "THEN line_item_line_item_type ELSE 'Usage' END"
    ),
    invoice="bill_invoice_id",
    currency="line_item_currency_code",
    resource="line_item_resource_id",
    commitment_status=None,
    tags="resource_tags",
    tag_prefix="user_",
    columns={
        "line_item_unblended_cost": _COST,
        "savings_plan_savings_plan_effective_cost": _COST,
        "reservation_effective_cost": _COST,
        "reservation_unused_amortized_upfront_fee_for_billing_period": _COST,
        "reservation_unused_recurring_fee": _COST,
        "reservation_reservation_a_r_n": _TEXT,
        "savings_plan_total_commitment_to_date": _COST,
        "savings_plan_used_commitment": _COST,
        "line_item_usage_start_date": _TIME,
        "bill_billing_period_start_date": _TIME,
        "line_item_usage_account_id": _TEXT,
        "line_item_usage_account_name": _TEXT,
        "line_item_line_item_type": _TEXT,
        "line_item_product_code": _TEXT,
        "line_item_resource_id": _TEXT,
        "line_item_currency_code": _TEXT,
        "bill_invoice_id": _TEXT,
        "product": _MAP,
        "resource_tags": _MAP,
    },
    marks=("identity_line_item_id", "bill_payer_account_id"),
)
SCHEMAS = {"focus_1_2": FOCUS_1_2, "cur_2_0": CUR_2_0}
FORMAT_NAMES = {"focus_1_2": "FOCUS 1.2", "focus_1_0": "FOCUS 1.0", "cur_2_0": "CUR 2.0"}
# Manifest table names (AWS Data Exports' SQL table names) and the format each means.
TABLE_FORMATS = {"FOCUS_1_2_AWS": "focus_1_2", "FOCUS_1_0_AWS": "focus_1_0", "COST_AND_USAGE_REPORT": "cur_2_0"}


def literal(value: str) -> str:
    """A SQL string literal (quotes doubled): the values come from validated records, still quoted."""
    return "'" + value.replace("'", "''") + "'"


def sql_date(value: date) -> str:
    return f"DATE '{value.isoformat()}'"


def billing_period(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def identify_format(columns: Mapping[str, str]) -> str | None:
    """Which export a file's columns are of: focus_1_2, focus_1_0, cur_2_0, or None."""
    if "line_item_unblended_cost" in columns and "identity_line_item_id" in columns:
        return "cur_2_0"
    if "BilledCost" in columns and "ChargeCategory" in columns:
        added = ("InvoiceId", *FOCUS_1_2.marks)
        if all(name in columns for name in added):
            return "focus_1_2"
        return "focus_1_0"
    return None


def check_columns(export_format: str, columns: Mapping[str, str], where: str) -> None:
    """The file is of the client's export format and version, with every column the SQL reads of
    an accepted type; else ExportDataError naming the file and the column."""
    schema = SCHEMAS[export_format]
    found = identify_format(columns)
    if found != export_format:
        what = FORMAT_NAMES.get(found or "", "not a FOCUS or CUR 2.0 file")
        raise ExportDataError(f"{where}: a {what} file in a {FORMAT_NAMES[export_format]} export")
    for name, accepted in schema.columns.items():
        kind = columns.get(name)
        if kind is None:
            raise ExportDataError(f"{where}: column {name} missing")
        if not kind.upper().startswith(accepted):
            raise ExportDataError(f"{where}: column {name} is {kind}, expected {' or '.join(accepted)}")
