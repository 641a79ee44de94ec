"""The emulator's exports hold to the FOCUS 1.2 specification's columns, types and allowed values
(focus-validator reaches FOCUS 1.0 at most, so the checks are the project's own), and CUR 2.0's
line item types; the layout and the manifest are AWS Data Exports'."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from emulator.dataset import demo_clients, generate_demo_dataset
from emulator.exports import CUR_2_0_COLUMNS, FOCUS_1_2_COLUMNS, ExportOptions, FolderS3, write_export

AS_OF = date(2026, 11, 27)
NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)
# FOCUS 1.2's allowed values for the columns the emulator fills.
CHARGE_CATEGORIES = {"Usage", "Purchase", "Tax", "Credit", "Adjustment"}
CHARGE_FREQUENCIES = {"One-Time", "Recurring", "Usage-Based"}
COMMITMENT_STATUSES = {"Used", "Unused"}
COMMITMENT_CATEGORIES = {"Spend", "Usage"}
SERVICE_CATEGORIES = {
    "AI and Machine Learning", "Analytics", "Business Applications", "Compute", "Databases", "Developer Tools",
    "Multicloud", "Identity", "Integration", "Internet of Things", "Management and Governance", "Media", "Migration",
    "Mobile", "Networking", "Security", "Storage", "Web", "Other",
}  # fmt: skip
CUR_LINE_ITEM_TYPES = {
    "Usage", "DiscountedUsage", "SavingsPlanCoveredUsage", "SavingsPlanNegation", "SavingsPlanRecurringFee",
    "SavingsPlanUpfrontFee", "RIFee", "Fee", "Credit", "Refund", "Tax", "BundledDiscount", "EdpDiscount",
    "PrivateRateDiscount",
}  # fmt: skip


@pytest.fixture(scope="module")
def dataset():
    return generate_demo_dataset(AS_OF)


def _export(dataset, folder: Path, client_id: str, **options: Any):
    record = next(c for c in demo_clients(dataset) if c["client_id"] == client_id)
    s3 = FolderS3(folder)
    written = write_export(
        s3,
        dataset,
        bucket="exports",
        prefix="billing",
        export_name="focus",
        accounts=record["account_ids"],
        payer=record["credentials"]["role_arn"].split(":")[4],
        start=date(2026, 10, 1),
        end_exclusive=AS_OF,
        options=ExportOptions(**options),
        now=NOW,
    )
    return s3, written


def _files(folder: Path) -> str:
    """The files as one relation (by name: the partition folder is not a column of the files)."""
    listed = ", ".join(f"'{p}'" for p in sorted(folder.rglob("*.parquet")))
    return f"[{listed}], hive_partitioning = false"


@pytest.mark.parametrize("client_id", ["acme-retail", "globex-health", "initech-labs"])
def test_focus_files_hold_to_the_specification(dataset, tmp_path, client_id):
    _export(dataset, tmp_path, client_id, unused_commitment=Decimal("3.5"))
    con = duckdb.connect()
    files = _files(tmp_path)
    rows = con.execute(f"DESCRIBE SELECT * FROM read_parquet({files})").fetchall()  # noqa: S608
    described = {name: kind for name, kind, *_ in rows}
    assert described == dict(FOCUS_1_2_COLUMNS)

    def values(column: str) -> set[Any]:
        sql = f"SELECT DISTINCT {column} FROM read_parquet({files})"  # noqa: S608
        return {row[0] for row in con.execute(sql).fetchall()}

    assert values("ChargeCategory") <= CHARGE_CATEGORIES
    assert values("ChargeClass") <= {None, "Correction"}
    assert values("ChargeFrequency") <= CHARGE_FREQUENCIES
    assert values("CommitmentDiscountStatus") <= COMMITMENT_STATUSES | {None}
    assert values("CommitmentDiscountCategory") <= COMMITMENT_CATEGORIES | {None}
    assert values("ServiceCategory") <= SERVICE_CATEGORIES
    assert values("BillingCurrency") == {"USD"}
    assert values("ProviderName") == {"AWS"}
    broken = con.execute(
        f"""SELECT count(*) FROM read_parquet({files}) WHERE
            BilledCost IS NULL OR EffectiveCost IS NULL OR SubAccountId IS NULL OR ServiceName IS NULL
            OR ChargePeriodStart >= ChargePeriodEnd
            OR ChargePeriodStart < BillingPeriodStart OR ChargePeriodStart >= BillingPeriodEnd
            OR (CommitmentDiscountStatus IS NOT NULL AND CommitmentDiscountId IS NULL)
            OR (ChargeCategory = 'Tax' AND ServiceName <> 'Tax')
            OR (ChargeClass = 'Correction' AND ChargeCategory <> 'Adjustment')"""  # noqa: S608
    ).fetchone()
    assert broken == (0,)
    # Invoiced (final) exactly where the dataset finalised the month: October, not November.
    invoiced = con.execute(
        f"SELECT strftime(BillingPeriodStart, '%Y-%m'), count(InvoiceId) = count(*), count(InvoiceId) = 0 "  # noqa: S608
        f"FROM read_parquet({files}) GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert invoiced == [("2026-10", True, False), ("2026-11", False, True)]


def test_the_export_adds_up_to_the_dataset_for_both_metrics(dataset, tmp_path):
    record = next(c for c in demo_clients(dataset) if c["client_id"] == "acme-retail")
    _export(dataset, tmp_path, "acme-retail")
    records = list(dataset.records_between(date(2026, 10, 1), AS_OF, record["account_ids"]))
    billed, effective = (
        duckdb.connect()
        .execute(
            f"SELECT sum(CAST(BilledCost AS DECIMAL(38,10))), sum(CAST(EffectiveCost AS DECIMAL(38,10))) "  # noqa: S608
            f"FROM read_parquet({_files(tmp_path)})"
        )
        .fetchone()
    )
    assert billed == sum((r.unblended for r in records), Decimal(0))
    assert effective == sum((r.amortized for r in records), Decimal(0))
    assert effective < billed  # EC2's Savings Plan and RDS's reserved instances


def test_cur_files_have_cur_2_0_columns_and_line_item_types(dataset, tmp_path):
    _export(dataset, tmp_path, "globex-health", format="cur_2_0")
    con = duckdb.connect()
    files = _files(tmp_path)
    rows = con.execute(f"DESCRIBE SELECT * FROM read_parquet({files})").fetchall()  # noqa: S608
    described = {name: kind for name, kind, *_ in rows}
    assert described == dict(CUR_2_0_COLUMNS)
    sql = f"SELECT DISTINCT line_item_line_item_type FROM read_parquet({files})"  # noqa: S608
    types = {row[0] for row in con.execute(sql).fetchall()}
    assert (
        {"Usage", "SavingsPlanCoveredUsage", "DiscountedUsage", "Refund", "Tax", "Fee"} <= types <= CUR_LINE_ITEM_TYPES
    )


def test_the_layout_and_the_manifest_written_after_the_data_files(dataset, tmp_path):
    s3, written = _export(dataset, tmp_path, "acme-retail", files_per_period=2)

    assert written.periods == ["2026-10", "2026-11"]
    for period in written.periods:
        data = [k for k in s3.order if k.startswith(f"billing/focus/data/BILLING_PERIOD={period}/")]
        manifest_key = f"billing/focus/metadata/BILLING_PERIOD={period}/focus-Manifest.json"
        assert len(data) == 2 and all(k.endswith(".snappy.parquet") for k in data)
        assert s3.order.index(manifest_key) > max(s3.order.index(k) for k in data)
        manifest = json.loads((tmp_path / manifest_key).read_text())
        assert manifest["dataFiles"] == [f"s3://exports/{k}" for k in data]
        assert manifest["tableName"] == "FOCUS_1_2_AWS" and manifest["billingPeriod"] == period


def test_the_bad_cases_are_written_as_asked(dataset, tmp_path):
    s3, written = _export(
        dataset, tmp_path, "acme-retail", no_manifest=frozenset({"2026-11"}), skip_periods=frozenset({"2026-10"})
    )
    assert written.periods == ["2026-11"]
    assert [k for k in s3.order if "metadata" in k] == []
    assert all("BILLING_PERIOD=2026-11" in k for k in s3.order)
