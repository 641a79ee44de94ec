"""AWS Data Exports written from the emulator's own cost dataset: FOCUS 1.2 and CUR 2.0 Parquet.

The same records the Cost Explorer emulator answers with become the rows of an export, so a client
read from its export and from Cost Explorer agrees to the cent. The objects land in S3 (the embedded
one, or moto) in the layout AWS Data Exports uses:

    <prefix>/<export-name>/data/BILLING_PERIOD=YYYY-MM/<export-name>-00001.snappy.parquet
    <prefix>/<export-name>/metadata/BILLING_PERIOD=YYYY-MM/<export-name>-Manifest.json

one partition per billing period, the manifest written after the data files and listing them.

How records become rows (FOCUS 1.2 with AWS columns / CUR 2.0):

| record                       | FOCUS                                    | CUR 2.0 line_item_line_item_type |
| ---------------------------- | ---------------------------------------- | -------------------------------- |
| Usage, amortized = unblended | ChargeCategory Usage                     | Usage                            |
| Usage, amortized < unblended | Usage, CommitmentDiscountStatus Used     | SavingsPlanCoveredUsage (EC2),   |
|                              | (a Savings Plan on EC2, an RI on RDS)    | DiscountedUsage (RDS)            |
| Credit                       | ChargeCategory Credit                    | Credit                           |
| Refund                       | Adjustment, ChargeClass Correction       | Refund                           |
| Tax                          | Tax                                      | Tax                              |
| Support                      | Purchase, ChargeFrequency Recurring      | Fee                              |

BilledCost / line_item_unblended_cost is the record's unblended cost, EffectiveCost (and CUR's
savings_plan_savings_plan_effective_cost / reservation_effective_cost on covered rows) its
amortized cost. Simplification: a covered row carries its own billed cost (no Savings Plan negation
and recurring fee rows), so every row adds up as Cost Explorer's metrics do. Amounts are DOUBLE and
dates TIMESTAMP, as AWS writes them. EC2 and RDS rows carry a ResourceId derived from the account
and region (the dataset has no resources).

The bad cases a reader must handle are options of `write_export`: a period without its manifest
(still being written), a period left out (missing partition), a file of FOCUS 1.0 in a 1.2 export,
a column of the wrong type, an account that is not the client's, unused commitment rows (which
Cost Explorer's emulator does not know: leave them out where the two sources are compared).
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from emulator.dataset import EC2, RDS, CostDataset, CostRecord
from lambdas import clock

ONE_DAY = timedelta(days=1)
UNUSED_COMMITMENT_ID = "arn:aws:savingsplans::{account}:savingsplan/sp-emulator-unused"

# (name, DuckDB type) of the columns written, in order. FOCUS 1.2 with AWS columns (the subset a cost
# report touches plus the identifying ones; names and types as AWS's table dictionary gives them).
FOCUS_1_2_COLUMNS: tuple[tuple[str, str], ...] = (
    ("AvailabilityZone", "VARCHAR"),
    ("BilledCost", "DOUBLE"),
    ("BillingAccountId", "VARCHAR"),
    ("BillingAccountName", "VARCHAR"),
    ("BillingAccountType", "VARCHAR"),
    ("BillingCurrency", "VARCHAR"),
    ("BillingPeriodEnd", "TIMESTAMP"),
    ("BillingPeriodStart", "TIMESTAMP"),
    ("CapacityReservationId", "VARCHAR"),
    ("CapacityReservationStatus", "VARCHAR"),
    ("ChargeCategory", "VARCHAR"),
    ("ChargeClass", "VARCHAR"),
    ("ChargeDescription", "VARCHAR"),
    ("ChargeFrequency", "VARCHAR"),
    ("ChargePeriodEnd", "TIMESTAMP"),
    ("ChargePeriodStart", "TIMESTAMP"),
    ("CommitmentDiscountCategory", "VARCHAR"),
    ("CommitmentDiscountId", "VARCHAR"),
    ("CommitmentDiscountName", "VARCHAR"),
    ("CommitmentDiscountQuantity", "DOUBLE"),
    ("CommitmentDiscountStatus", "VARCHAR"),
    ("CommitmentDiscountType", "VARCHAR"),
    ("CommitmentDiscountUnit", "VARCHAR"),
    ("ConsumedQuantity", "DOUBLE"),
    ("ConsumedUnit", "VARCHAR"),
    ("ContractedCost", "DOUBLE"),
    ("EffectiveCost", "DOUBLE"),
    ("InvoiceId", "VARCHAR"),
    ("InvoiceIssuerName", "VARCHAR"),
    ("ListCost", "DOUBLE"),
    ("PricingCurrency", "VARCHAR"),
    ("ProviderName", "VARCHAR"),
    ("PublisherName", "VARCHAR"),
    ("RegionId", "VARCHAR"),
    ("RegionName", "VARCHAR"),
    ("ResourceId", "VARCHAR"),
    ("ResourceType", "VARCHAR"),
    ("ServiceCategory", "VARCHAR"),
    ("ServiceName", "VARCHAR"),
    ("ServiceSubcategory", "VARCHAR"),
    ("SkuMeter", "VARCHAR"),
    ("SubAccountId", "VARCHAR"),
    ("SubAccountName", "VARCHAR"),
    ("SubAccountType", "VARCHAR"),
    ("Tags", "MAP(VARCHAR, VARCHAR)"),
    ("x_Operation", "VARCHAR"),
    ("x_ServiceCode", "VARCHAR"),
)
# FOCUS 1.0 with AWS columns: what 1.2 added is absent, x_UsageType (1.2's SkuMeter) present.
FOCUS_1_2_ADDED = frozenset(
    {
        "BillingAccountType",
        "CapacityReservationId",
        "CapacityReservationStatus",
        "CommitmentDiscountQuantity",
        "CommitmentDiscountUnit",
        "InvoiceId",
        "PricingCurrency",
        "ServiceSubcategory",
        "SkuMeter",
        "SubAccountType",
    }
)
FOCUS_1_0_COLUMNS: tuple[tuple[str, str], ...] = (
    *(column for column in FOCUS_1_2_COLUMNS if column[0] not in FOCUS_1_2_ADDED),
    ("x_UsageType", "VARCHAR"),
)
CUR_2_0_COLUMNS: tuple[tuple[str, str], ...] = (
    ("bill_bill_type", "VARCHAR"),
    ("bill_billing_entity", "VARCHAR"),
    ("bill_billing_period_end_date", "TIMESTAMP"),
    ("bill_billing_period_start_date", "TIMESTAMP"),
    ("bill_invoice_id", "VARCHAR"),
    ("bill_payer_account_id", "VARCHAR"),
    ("bill_payer_account_name", "VARCHAR"),
    ("identity_line_item_id", "VARCHAR"),
    ("identity_time_interval", "VARCHAR"),
    ("line_item_availability_zone", "VARCHAR"),
    ("line_item_blended_cost", "DOUBLE"),
    ("line_item_currency_code", "VARCHAR"),
    ("line_item_line_item_description", "VARCHAR"),
    ("line_item_line_item_type", "VARCHAR"),
    ("line_item_net_unblended_cost", "DOUBLE"),
    ("line_item_operation", "VARCHAR"),
    ("line_item_product_code", "VARCHAR"),
    ("line_item_resource_id", "VARCHAR"),
    ("line_item_unblended_cost", "DOUBLE"),
    ("line_item_usage_account_id", "VARCHAR"),
    ("line_item_usage_account_name", "VARCHAR"),
    ("line_item_usage_amount", "DOUBLE"),
    ("line_item_usage_end_date", "TIMESTAMP"),
    ("line_item_usage_start_date", "TIMESTAMP"),
    ("line_item_usage_type", "VARCHAR"),
    ("product", "MAP(VARCHAR, VARCHAR)"),
    ("product_region_code", "VARCHAR"),
    ("product_servicecode", "VARCHAR"),
    ("reservation_effective_cost", "DOUBLE"),
    ("reservation_reservation_a_r_n", "VARCHAR"),
    ("reservation_unused_amortized_upfront_fee_for_billing_period", "DOUBLE"),
    ("reservation_unused_recurring_fee", "DOUBLE"),
    ("resource_tags", "MAP(VARCHAR, VARCHAR)"),
    ("savings_plan_savings_plan_a_r_n", "VARCHAR"),
    ("savings_plan_savings_plan_effective_cost", "DOUBLE"),
    ("savings_plan_total_commitment_to_date", "DOUBLE"),
    ("savings_plan_used_commitment", "DOUBLE"),
)
TABLES = {"focus_1_2": "FOCUS_1_2_AWS", "focus_1_0": "FOCUS_1_0_AWS", "cur_2_0": "COST_AND_USAGE_REPORT"}

_SERVICE_CODES = {
    EC2: "AmazonEC2",
    "EC2 - Other": "AmazonEC2",
    RDS: "AmazonRDS",
    "Amazon Simple Storage Service": "AmazonS3",
    "Amazon CloudFront": "AmazonCloudFront",
    "Amazon DynamoDB": "AmazonDynamoDB",
    "Amazon Elastic Load Balancing": "AWSELB",
    "Amazon Virtual Private Cloud": "AmazonVPC",
    "AWS Lambda": "AWSLambda",
    "AmazonCloudWatch": "AmazonCloudWatch",
    "Amazon Simple Queue Service": "AWSQueueService",
    "AWS Key Management Service": "awskms",
    "AWS CloudTrail": "AWSCloudTrail",
    "AWS Support (Business)": "AWSSupportBusiness",
    "Tax": "Tax",
}
_CATEGORIES = {EC2: "Compute", "EC2 - Other": "Compute", RDS: "Databases", "AWS Lambda": "Compute"}


@dataclass(frozen=True)
class ExportOptions:
    """What to write, and the bad cases to write on purpose (see the module docstring)."""

    format: str = "focus_1_2"  # focus_1_2 | cur_2_0
    no_manifest: frozenset[str] = frozenset()  # billing periods (YYYY-MM) still being written
    skip_periods: frozenset[str] = frozenset()  # billing periods left out (no partition at all)
    old_version_periods: frozenset[str] = frozenset()  # periods whose file is FOCUS 1.0
    wrong_types: Mapping[str, str] = field(default_factory=dict)  # column -> DuckDB type written instead
    foreign_account: str | None = None  # an account that is not the client's, on every day
    unused_commitment: Decimal | None = None  # a daily Unused Savings Plan row (EffectiveCost), FOCUS
    files_per_period: int = 1


@dataclass
class WrittenExport:
    bucket: str
    prefix: str
    export_name: str
    periods: list[str] = field(default_factory=list)
    objects: dict[str, int] = field(default_factory=dict)  # key -> bytes
    rows: int = 0

    @property
    def bytes(self) -> int:
        return sum(self.objects.values())


class FolderS3:
    """The bucket as files under a folder, keyed as in S3: where the writing step puts the export
    and what the reading step lists and gets (moto's S3 in process would hold every object in
    memory, and copy it again for each GET: its memory is not a Lambda's)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.gets = 0
        self.lists = 0
        self.order: list[str] = []  # keys in the order they were written

    def put_object(self, *, Bucket: str, Key: str, Body: Any, **_: Any) -> dict[str, Any]:
        path = self.folder / Key
        path.parent.mkdir(parents=True, exist_ok=True)
        self.order.append(Key)
        if isinstance(Body, bytes):
            path.write_bytes(Body)
        else:
            with path.open("wb") as handle:
                shutil.copyfileobj(Body, handle)
        return {}

    def get_object(self, *, Bucket: str, Key: str, **_: Any) -> dict[str, Any]:
        path = self.folder / Key
        if not path.is_file():
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "NoSuchKey", "Message": Key}}, "GetObject")
        self.gets += 1
        return {"Body": path.open("rb"), "ContentLength": path.stat().st_size}

    def list_objects_v2(self, *, Bucket: str, Prefix: str, Delimiter: str | None = None, **_: Any) -> dict[str, Any]:
        self.lists += 1
        keys = sorted(str(p.relative_to(self.folder)) for p in self.folder.rglob("*") if p.is_file())
        keys = [key for key in keys if key.startswith(Prefix)]
        if Delimiter:
            prefixes = sorted(
                {
                    Prefix + key[len(Prefix) :].split(Delimiter, 1)[0] + Delimiter
                    for key in keys
                    if Delimiter in key[len(Prefix) :]
                }
            )
            return {"CommonPrefixes": [{"Prefix": prefix} for prefix in prefixes]}
        return {"Contents": [{"Key": key, "Size": (self.folder / key).stat().st_size} for key in keys]}


def billing_period(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _month_start(period: str) -> date:
    year, month = period.split("-")
    return date(int(year), int(month), 1)


def _next_month(first: date) -> date:
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def _stamp(day: date) -> str:
    return f"{day.isoformat()} 00:00:00"


def _amount(value: Decimal) -> str:
    return format(value, "f")


def _resource_id(record: CostRecord) -> str:
    digest = hashlib.sha256(f"{record.account_id}:{record.region}:{record.service}".encode()).hexdigest()
    if record.service == EC2:
        return f"arn:aws:ec2:{record.region}:{record.account_id}:instance/i-{digest[:17]}"
    if record.service == RDS:
        return f"arn:aws:rds:{record.region}:{record.account_id}:db:db-{digest[:12]}"
    return ""


def _tags(pairs: Iterable[tuple[str, str]], prefix: str = "") -> tuple[str, str]:
    items = list(pairs)
    return "|".join(prefix + key for key, _ in items), "|".join(value for _, value in items)


def _focus_row(record: CostRecord, dataset: CostDataset, payer: str, final: bool, version: str) -> dict[str, Any]:
    period = billing_period(record.day)
    first = _month_start(period)
    covered = record.record_type == "Usage" and record.amortized < record.unblended
    category = {"Usage": "Usage", "Credit": "Credit", "Refund": "Adjustment", "Tax": "Tax", "Support": "Purchase"}[
        record.record_type
    ]
    keys, values = _tags(record.tags)
    commitment_type = ("Savings Plan" if record.service == EC2 else "Reservation") if covered else ""
    commitment_id = ""
    if covered:
        kind = "savingsplan/sp" if record.service == EC2 else "ri/ri"
        commitment_id = f"arn:aws:{'savingsplans' if record.service == EC2 else 'rds'}::{payer}:{kind}-emulator"
    row = {
        "AvailabilityZone": "",
        "BilledCost": _amount(record.unblended),
        "BillingAccountId": payer,
        "BillingAccountName": dataset.account_name(payer),
        "BillingAccountType": "Billing Account",
        "BillingCurrency": "USD",
        "BillingPeriodEnd": _stamp(_next_month(first)),
        "BillingPeriodStart": _stamp(first),
        "CapacityReservationId": "",
        "CapacityReservationStatus": "",
        "ChargeCategory": category,
        "ChargeClass": "Correction" if record.record_type == "Refund" else "",
        "ChargeDescription": f"{record.service} {record.record_type}",
        "ChargeFrequency": "Recurring" if record.record_type == "Support" else "Usage-Based",
        "ChargePeriodEnd": _stamp(record.day + ONE_DAY),
        "ChargePeriodStart": _stamp(record.day),
        "CommitmentDiscountCategory": "Spend" if covered and record.service == EC2 else ("Usage" if covered else ""),
        "CommitmentDiscountId": commitment_id,
        "CommitmentDiscountName": "",
        "CommitmentDiscountQuantity": "",
        "CommitmentDiscountStatus": "Used" if covered else "",
        "CommitmentDiscountType": commitment_type,
        "CommitmentDiscountUnit": "",
        "ConsumedQuantity": "1" if record.record_type == "Usage" else "",
        "ConsumedUnit": "Hrs" if record.record_type == "Usage" else "",
        "ContractedCost": _amount(record.unblended),
        "EffectiveCost": _amount(record.amortized),
        "InvoiceId": f"EUINUS{period.replace('-', '')}{payer[-4:]}" if final else "",
        "InvoiceIssuerName": "Amazon Web Services, Inc.",
        "ListCost": _amount(record.unblended),
        "PricingCurrency": "USD",
        "ProviderName": "AWS",
        "PublisherName": "Amazon Web Services, Inc.",
        "RegionId": "" if record.region == "NoRegion" else record.region,
        "RegionName": "" if record.region == "NoRegion" else record.region,
        "ResourceId": _resource_id(record),
        "ResourceType": "",
        "ServiceCategory": _CATEGORIES.get(record.service, "Other"),
        "ServiceName": record.service,
        "ServiceSubcategory": "",
        "SkuMeter": "",
        "SubAccountId": record.account_id,
        "SubAccountName": dataset.account_name(record.account_id),
        "SubAccountType": "Linked Account",
        "Tags.keys": keys,
        "Tags.values": values,
        "x_Operation": "",
        "x_ServiceCode": _SERVICE_CODES.get(record.service, "Other"),
        "x_UsageType": "",
    }
    if version == "focus_1_0":
        row["x_UsageType"] = ""
    return row


def _cur_row(record: CostRecord, dataset: CostDataset, payer: str, final: bool, number: int) -> dict[str, Any]:
    period = billing_period(record.day)
    first = _month_start(period)
    covered = record.record_type == "Usage" and record.amortized < record.unblended
    kinds = {"Usage": "Usage", "Credit": "Credit", "Refund": "Refund", "Tax": "Tax", "Support": "Fee"}
    kind = kinds[record.record_type]
    if covered:
        kind = "SavingsPlanCoveredUsage" if record.service == EC2 else "DiscountedUsage"
    keys, values = _tags(record.tags, prefix="user_")
    code = _SERVICE_CODES.get(record.service, "Other")
    return {
        "bill_bill_type": "Anniversary",
        "bill_billing_entity": "AWS",
        "bill_billing_period_end_date": _stamp(_next_month(first)),
        "bill_billing_period_start_date": _stamp(first),
        "bill_invoice_id": f"EUINUS{period.replace('-', '')}{payer[-4:]}" if final else "",
        "bill_payer_account_id": payer,
        "bill_payer_account_name": dataset.account_name(payer),
        "identity_line_item_id": hashlib.sha256(f"{number}:{record}".encode()).hexdigest()[:52],
        "identity_time_interval": f"{record.day.isoformat()}T00:00:00Z/{(record.day + ONE_DAY).isoformat()}T00:00:00Z",
        "line_item_availability_zone": "",
        "line_item_blended_cost": _amount(record.unblended),
        "line_item_currency_code": "USD",
        "line_item_line_item_description": f"{record.service} {record.record_type}",
        "line_item_line_item_type": kind,
        "line_item_net_unblended_cost": _amount(record.unblended),
        "line_item_operation": "",
        "line_item_product_code": code,
        "line_item_resource_id": _resource_id(record),
        "line_item_unblended_cost": _amount(record.unblended),
        "line_item_usage_account_id": record.account_id,
        "line_item_usage_account_name": dataset.account_name(record.account_id),
        "line_item_usage_amount": "1",
        "line_item_usage_end_date": _stamp(record.day + ONE_DAY),
        "line_item_usage_start_date": _stamp(record.day),
        "line_item_usage_type": "",
        "product.keys": "product_name|servicecode",
        "product.values": f"{record.service}|{code}",
        "product_region_code": "" if record.region == "NoRegion" else record.region,
        "product_servicecode": code,
        "reservation_effective_cost": _amount(record.amortized) if kind == "DiscountedUsage" else "",
        "reservation_reservation_a_r_n": f"arn:aws:rds::{payer}:ri:ri-emulator" if kind == "DiscountedUsage" else "",
        "resource_tags.keys": keys,
        "resource_tags.values": values,
        "savings_plan_savings_plan_a_r_n": (
            f"arn:aws:savingsplans::{payer}:savingsplan/sp-emulator" if kind == "SavingsPlanCoveredUsage" else ""
        ),
        "savings_plan_savings_plan_effective_cost": (
            _amount(record.amortized) if kind == "SavingsPlanCoveredUsage" else ""
        ),
        # The emulator writes no Savings Plan or RI fee rows: these are blank, as on AWS's usage rows.
        "reservation_unused_amortized_upfront_fee_for_billing_period": "",
        "reservation_unused_recurring_fee": "",
        "savings_plan_total_commitment_to_date": "",
        "savings_plan_used_commitment": "",
    }


def _unused_row(day: date, account: str, payer: str, amount: Decimal, dataset: CostDataset, final: bool) -> dict:
    record = CostRecord(day, account, EC2, "Usage", Decimal(0), Decimal(0), "us-east-1")
    row = _focus_row(record, dataset, payer, final, "focus_1_2")
    row.update(
        {
            "ChargeDescription": "Unused Savings Plan commitment",
            "CommitmentDiscountCategory": "Spend",
            "CommitmentDiscountId": UNUSED_COMMITMENT_ID.format(account=payer),
            "CommitmentDiscountStatus": "Unused",
            "CommitmentDiscountType": "Savings Plan",
            "EffectiveCost": _amount(amount),
            "ResourceId": "",
        }
    )
    return row


def _select(columns: Sequence[tuple[str, str]], wrong_types: Mapping[str, str]) -> str:
    """The SELECT that turns the CSV's text into the export's typed columns."""
    parts = []
    for name, kind in columns:
        kind = wrong_types.get(name, kind)
        if kind.startswith("MAP"):
            keys, values = f'"{name}.keys"', f'"{name}.values"'
            parts.append(
                f"CASE WHEN {keys} IS NULL OR {keys} = '' THEN MAP([]::VARCHAR[], []::VARCHAR[]) "
                f"ELSE MAP(string_split({keys}, '|'), string_split({values}, '|')) END AS \"{name}\""
            )
        elif kind == "VARCHAR":
            parts.append(f'NULLIF("{name}", \'\') AS "{name}"')
        else:
            parts.append(f'CAST(NULLIF("{name}", \'\') AS {kind}) AS "{name}"')
    return ", ".join(parts)


def _csv_columns(columns: Sequence[tuple[str, str]]) -> list[str]:
    names: list[str] = []
    for name, kind in columns:
        names.extend([f"{name}.keys", f"{name}.values"] if kind.startswith("MAP") else [name])
    return names


def write_parquet(rows: Iterable[Mapping[str, Any]], columns: Sequence[tuple[str, str]], path: Path, **kw: Any) -> int:
    """Rows (text values, "" for null) into one Parquet file with the columns' types (DuckDB)."""
    return write_parquet_parts(rows, columns, [path], **kw)


def write_parquet_parts(
    rows: Iterable[Mapping[str, Any]], columns: Sequence[tuple[str, str]], paths: Sequence[Path], **kw: Any
) -> int:
    """Rows dealt in turn to `paths` (one Parquet file each), streamed through CSV: a large export
    never sits in memory. Returns the rows written."""
    import duckdb

    wrong_types: Mapping[str, str] = kw.get("wrong_types", {})
    names = _csv_columns(columns)
    count = 0
    with tempfile.TemporaryDirectory(prefix="export-") as scratch:
        sources = [Path(scratch) / f"rows-{number}.csv" for number in range(len(paths))]
        handles = [source.open("w", newline="") for source in sources]
        try:
            writers = [csv.writer(handle) for handle in handles]
            for writer in writers:
                writer.writerow(names)
            for count, row in enumerate(rows, start=1):
                writers[(count - 1) % len(writers)].writerow([row.get(name, "") for name in names])
        finally:
            for handle in handles:
                handle.close()
        spec = ", ".join(f"'{name}': 'VARCHAR'" for name in names)
        con = duckdb.connect()
        try:
            for source, path in zip(sources, paths, strict=True):
                reader = f"read_csv('{source}', header = true, columns = {{{spec}}}, quote = '\"', escape = '\"')"
                target = f"'{path}' (FORMAT parquet, COMPRESSION snappy)"
                con.execute(f"COPY (SELECT {_select(columns, wrong_types)} FROM {reader}) TO {target}")  # noqa: S608 - paths of our own scratch files, quoted
        finally:
            con.close()
    return count


def write_export(
    s3: Any,
    dataset: CostDataset,
    *,
    bucket: str,
    prefix: str,
    export_name: str,
    accounts: Sequence[str],
    payer: str,
    start: date,
    end_exclusive: date,
    options: ExportOptions | None = None,
    now: datetime | None = None,
) -> WrittenExport:
    """Write the export of `accounts` for the billing periods from `start` to `end_exclusive` (days
    of the dataset before it) into `bucket`. A billing period is final (its invoice id filled in)
    when the dataset finalised its last day."""
    options = options or ExportOptions()
    written = WrittenExport(bucket, prefix, export_name)
    root = f"{prefix}/{export_name}"
    first = start.replace(day=1)
    moment = now or clock.now()
    while first < end_exclusive:
        following = _next_month(first)
        period = billing_period(first)
        if period not in options.skip_periods:
            records = dataset.records_between(max(first, start), min(following, end_exclusive), accounts)
            final = following - ONE_DAY <= dataset.finalised_through
            _write_period(s3, dataset, written, root, period, records, payer, final, options, moment)
            written.periods.append(period)
        first = following
    return written


def _write_period(
    s3: Any,
    dataset: CostDataset,
    written: WrittenExport,
    root: str,
    period: str,
    records: Iterable[CostRecord],
    payer: str,
    final: bool,
    options: ExportOptions,
    now: datetime,
) -> None:
    version = "focus_1_0" if period in options.old_version_periods else options.format
    days: set[date] = set()

    def row_of(record: CostRecord, number: int) -> dict[str, Any]:
        if version == "cur_2_0":
            return _cur_row(record, dataset, payer, final, number)
        return _focus_row(record, dataset, payer, final, version)

    def rows() -> Iterator[dict[str, Any]]:
        number = 0
        for number, record in enumerate(records):
            days.add(record.day)
            yield row_of(record, number)
        if options.foreign_account:
            cost = Decimal("1.25")
            for day in sorted(days):
                number += 1
                yield row_of(CostRecord(day, options.foreign_account, EC2, "Usage", cost, cost, "us-east-1"), number)
        if options.unused_commitment is not None and version != "cur_2_0":
            for day in sorted(days):
                yield _unused_row(day, payer, payer, options.unused_commitment, dataset, final)

    columns = {"focus_1_2": FOCUS_1_2_COLUMNS, "focus_1_0": FOCUS_1_0_COLUMNS, "cur_2_0": CUR_2_0_COLUMNS}[version]
    name = root.rsplit("/", 1)[-1]
    keys: list[str] = []
    parts = max(1, options.files_per_period)
    with tempfile.TemporaryDirectory(prefix="export-") as scratch:
        paths = [Path(scratch) / f"{name}-{part + 1:05d}.snappy.parquet" for part in range(parts)]
        written.rows += write_parquet_parts(rows(), columns, paths, wrong_types=options.wrong_types)
        for path in paths:
            key = f"{root}/data/BILLING_PERIOD={period}/{path.name}"
            with path.open("rb") as body:
                s3.put_object(Bucket=written.bucket, Key=key, Body=body)
            written.objects[key] = path.stat().st_size
            keys.append(key)
    if period in options.no_manifest:
        return
    manifest = {
        "exportName": name,
        "exportArn": f"arn:aws:bcm-data-exports:us-east-1:{payer}:export/{name}",
        "tableName": TABLES[version],
        "billingPeriod": period,
        "executionId": hashlib.sha256(f"{name}:{period}:{now.isoformat()}".encode()).hexdigest()[:32],
        "deliveredAt": now.isoformat(),
        "dataFiles": [f"s3://{written.bucket}/{key}" for key in keys],
        "columns": [{"name": column, "type": kind} for column, kind in columns],
    }
    manifest_key = f"{root}/metadata/BILLING_PERIOD={period}/{name}-Manifest.json"
    document = json.dumps(manifest, indent=2).encode()
    s3.put_object(Bucket=written.bucket, Key=manifest_key, Body=document, ContentType="application/json")
    written.objects[manifest_key] = len(document)


def write_client_export(
    s3: Any,
    dataset: CostDataset,
    client: Mapping[str, Any],
    *,
    bucket: str,
    start: date,
    end_exclusive: date,
    options: ExportOptions | None = None,
    now: datetime | None = None,
) -> WrittenExport:
    """The export a client record's `data_export` names, of its accounts (its payer: the account of
    its role)."""
    export = client["data_export"]
    payer = str(client["credentials"].get("role_arn", "::::" + client["account_ids"][0]).split(":")[4])
    chosen = options or ExportOptions(format=export.get("format", "focus_1_2"))
    return write_export(
        s3,
        dataset,
        bucket=bucket,
        prefix=export["prefix"],
        export_name=export["export_name"],
        accounts=list(client["account_ids"]),
        payer=payer,
        start=start,
        end_exclusive=end_exclusive,
        options=chosen,
        now=now,
    )


def deliver_client_exports(
    dataset: CostDataset,
    records: Iterable[Mapping[str, Any]],
    *,
    end_exclusive: date,
    start: date | None = None,
    options: ExportOptions | None = None,
    now: datetime | None = None,
    endpoint_url: str | None = None,
) -> list[WrittenExport]:
    """What the payers of the clients read from a Data Export (`cost_source: data_exports`) have
    done: their export delivered into their own bucket, in their payer account. Written through each
    client's role (acting for the payer, as the demo does to create a stored-keys client's user), from
    `start` (default: the dataset's first day) to `end_exclusive`, in the AWS the standard variables
    point to (or at `endpoint_url`). A replicated export lands in the bucket its record names, with the
    platform's credentials."""
    written: list[WrittenExport] = []
    for record in records:
        export = record.get("data_export")
        if record.get("cost_source") != "data_exports" or not export:
            continue
        s3 = _payer_s3(record, endpoint_url)
        try:
            s3.create_bucket(Bucket=export["bucket"])
        except Exception as error:
            if getattr(error, "response", {}).get("Error", {}).get("Code") not in _BUCKET_THERE:
                raise
        first = start or dataset.first_day or end_exclusive
        chosen = options or ExportOptions(format=export.get("format", "focus_1_2"))
        written.append(
            write_client_export(
                s3,
                dataset,
                record,
                bucket=export["bucket"],
                start=first.replace(day=1),
                end_exclusive=end_exclusive,
                options=chosen,
                now=now,
            )
        )
    return written


_BUCKET_THERE = ("BucketAlreadyOwnedByYou", "BucketAlreadyExists")


def _payer_s3(record: Mapping[str, Any], endpoint_url: str | None) -> Any:
    """An S3 client of the payer (through the client's role), or the platform's for a replicated export."""
    import boto3

    from lambdas.dal.aws import region

    def client(service: str, **credentials: str) -> Any:
        return boto3.client(service, endpoint_url=endpoint_url, region_name=region(), **credentials)

    credentials = record["credentials"]
    access = record["data_export"].get("access", "client_role")
    if access != "client_role" or credentials.get("type") != "role":
        return client("s3")
    assumed = client("sts").assume_role(
        RoleArn=credentials["role_arn"], RoleSessionName="export-delivery", ExternalId=credentials["external_id"]
    )["Credentials"]
    return client(
        "s3",
        aws_access_key_id=assumed["AccessKeyId"],
        aws_secret_access_key=assumed["SecretAccessKey"],
        aws_session_token=assumed["SessionToken"],
    )


# The demo's exports (hooli's): their last three billing periods up to the day, and a Savings Plan
# not fully used, which the report's commitment section shows.
DEMO_EXPORT_MONTHS = 3
DEMO_UNUSED_SAVINGS_PLAN_PER_DAY = Decimal("24.00")


def deliver_demo_exports(
    dataset: CostDataset,
    records: Iterable[Mapping[str, Any]],
    as_of: date,
    *,
    now: datetime | None = None,
    endpoint_url: str | None = None,
) -> list[WrittenExport]:
    """The demo clients' exports as their payers have them on `as_of` (`make demo`, `local up`)."""
    last = as_of - ONE_DAY
    index = last.year * 12 + last.month - DEMO_EXPORT_MONTHS
    start = date(index // 12, index % 12 + 1, 1)
    options = ExportOptions(unused_commitment=DEMO_UNUSED_SAVINGS_PLAN_PER_DAY)
    return deliver_client_exports(
        dataset, records, start=start, end_exclusive=as_of, options=options, now=now, endpoint_url=endpoint_url
    )
