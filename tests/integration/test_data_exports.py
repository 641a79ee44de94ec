"""The Data Exports source end to end: the emulator writes a client's FOCUS 1.2 / CUR 2.0 export into
the embedded S3 from the same dataset Cost Explorer's emulator answers with; the reader builds the
report's data from it. The same client's data from both sources agrees to the cent, and every bad
export has a clear outcome (never a wrong report)."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest

from emulator.admin import reset
from emulator.dataset import MOTO_DEFAULT_ACCOUNT
from emulator.exports import ExportOptions, write_client_export
from lambdas.dal.cost_cache import CostCache
from lambdas.dal.cost_explorer import CostExplorer
from lambdas.logic.cost_data import CostData
from lambdas.logic.needs import needs_for
from lambdas.logic.periods import ONE_DAY, window_for
from lambdas.models.client import parse_client
from lambdas.models.exceptions import ExportAccessError, ExportDataError, ExportTooLargeError
from lambdas.orchestration.cost_reader import CostReader
from lambdas.orchestration.export_costs import export_is_final, read_export_costs
from tests.integration.conftest import AS_OF

BUCKET = "payer-billing-exports"
NOW = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 9, tzinfo=UTC)


class _StandIn:
    """A Cost Explorer client that calls the emulator directly (as moto's default account)."""

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator

    def get_cost_and_usage(self, **request: Any) -> dict[str, Any]:
        return self.emulator.get_cost_and_usage(request, MOTO_DEFAULT_ACCOUNT)

    def get_cost_forecast(self, **request: Any) -> dict[str, Any]:
        return self.emulator.get_cost_forecast(request, MOTO_DEFAULT_ACCOUNT)


@pytest.fixture
def s3(embedded_aws):
    reset(embedded_aws.endpoint_url)
    client = boto3.client(
        "s3",
        endpoint_url=embedded_aws.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    client.create_bucket(Bucket=BUCKET)
    return client


def _record(demo_records, client_id: str, export_format: str = "focus_1_2") -> dict[str, Any]:
    record = dict(next(r for r in demo_records if r["client_id"] == client_id))
    record["cost_source"] = "data_exports"
    record["data_export"] = {
        "bucket": BUCKET,
        "prefix": "exports",
        "export_name": f"{client_id}-{export_format.replace('_', '-')}",
        "format": export_format,
    }
    return record


def _write(s3, embedded_aws, record, options: ExportOptions | None = None, start: date | None = None):
    client = parse_client(record)
    window = window_for(client.schedule, AS_OF)
    first = start or min(p for need in needs_for(client, window) for p in need.periods())
    chosen = options or ExportOptions(format=record["data_export"]["format"])
    written = write_client_export(
        s3,
        embedded_aws.dataset,
        record,
        bucket=BUCKET,
        start=first.replace(day=1),
        end_exclusive=AS_OF,
        options=chosen,
        now=NOW,
    )
    return client, window, written


def _from_cost_explorer(embedded_aws, client, window) -> CostData:
    reader = CostReader(CostExplorer(_StandIn(embedded_aws.ce)), CostCache(""), now=NOW, cap=500)
    return reader.read(client, window).data


def _cents(data: CostData) -> dict[str, Any]:
    """Every figure of the report's data, amounts to the cent."""

    def cent(amount: Decimal) -> Decimal:
        return amount.quantize(Decimal("0.01"))

    def rows(items):
        return sorted((r.day, r.service, r.account_id, cent(r.amount)) for r in items)

    return {
        "rows": rows(data.rows),
        "credit_rows": rows(data.credit_rows),
        "breakdown_rows": rows(data.breakdown_rows),
        "daily": {d: (cent(t.gross), cent(t.credits)) for d, t in data.daily.items()},
        "monthly": {d: (cent(t.gross), cent(t.credits)) for d, t in data.monthly.items()},
        "service_by_day": {d: {s: cent(a) for s, a in by.items()} for d, by in data.service_by_day.items()},
        "estimated_days": data.estimated_days,
        "estimated_months": data.estimated_months,
        "provisional_days": data.provisional_days,
        "account_names": data.account_names,
        "missing": data.missing,
    }


@pytest.mark.parametrize("export_format", ["focus_1_2", "cur_2_0"])
@pytest.mark.parametrize("client_id", ["acme-retail", "globex-health", "initech-labs", "umbrella-media"])
def test_the_same_client_agrees_to_the_cent_from_cost_explorer_and_from_its_export(
    s3, embedded_aws, demo_records, client_id, export_format
):
    client, window, _ = _write(s3, embedded_aws, _record(demo_records, client_id, export_format))

    from_export = read_export_costs(client, window, s3=s3, now=NOW)
    from_explorer = _from_cost_explorer(embedded_aws, client, window)

    assert from_export.notes == []
    assert from_export.data.missing == {}
    exported, explored = _cents(from_export.data), _cents(from_explorer)
    for name in exported:
        assert exported[name] == explored[name], name
    assert from_export.data.rows  # not two empty reads agreeing
    assert set(exported) == {f.name for f in fields(CostData)} - {"unit"}  # every figure compared
    assert from_export.data.unit == from_explorer.unit == "USD"


def test_the_exact_amounts_agree_too_not_only_their_cents(s3, embedded_aws, demo_records):
    client, window, _ = _write(s3, embedded_aws, _record(demo_records, "initech-labs"))

    exported = read_export_costs(client, window, s3=s3, now=NOW).data
    explored = _from_cost_explorer(embedded_aws, client, window)

    assert exported.daily == explored.daily
    assert sorted(exported.rows, key=repr) == sorted(explored.rows, key=repr)
    assert exported.credit_rows and exported.credit_rows == explored.credit_rows  # initech's daily credit


def test_a_refund_is_a_correction_kept_apart_from_the_cost(s3, embedded_aws, demo_records):
    # globex-health's refund of last month (FOCUS: ChargeCategory Adjustment, ChargeClass Correction).
    record = _record(demo_records, "globex-health")
    record["schedule"] = "monthly"
    client, window, _ = _write(s3, embedded_aws, record)

    exported = read_export_costs(client, window, s3=s3, now=NOW).data
    explored = _from_cost_explorer(embedded_aws, client, window)

    refunds = [row for row in exported.credit_rows if row.service == "Refund"]
    assert len(refunds) == 1 and refunds[0].amount == Decimal("-120.00")
    assert exported.credit_rows == explored.credit_rows
    assert exported.monthly == explored.monthly


def test_only_the_needed_partitions_are_fetched_and_what_is_extra_comes_from_the_files(s3, embedded_aws, demo_records):
    record = _record(demo_records, "acme-retail")
    client, window, written = _write(
        s3, embedded_aws, record, options=ExportOptions(unused_commitment=Decimal("12.5")), start=date(2026, 5, 1)
    )

    read = read_export_costs(client, window, s3=s3, now=NOW)

    assert written.periods[0] == "2026-05"
    assert sorted(state.period for state in read.periods.values()) == ["2026-10", "2026-11"]
    assert read.files == 2 and 0 < read.bytes_read < written.bytes
    top = read.top_resources
    assert top and top[0].resource_id.startswith("arn:aws:ec2:") and top[0].account_id in client.account_ids
    assert top == sorted(top, key=lambda r: -r.amount)
    kinds = {c.type: c for c in read.commitments}
    assert set(kinds) == {"Savings Plan", "Reservation"}
    days = (window.current.end - window.current.start).days + 1
    assert kinds["Savings Plan"].unused == Decimal("12.5") * days
    assert Decimal(0) < kinds["Savings Plan"].utilisation < 1
    assert kinds["Reservation"].utilisation == 1


def test_an_export_still_being_written_leaves_its_days_missing_not_zero(s3, embedded_aws, demo_records):
    record = _record(demo_records, "acme-retail")
    client, window, _ = _write(s3, embedded_aws, record, options=ExportOptions(no_manifest=frozenset({"2026-11"})))

    read = read_export_costs(client, window, s3=s3, now=NOW)

    assert read.notes == [
        "Data Export BILLING_PERIOD=2026-11: the export is still being written (no manifest yet); "
        "its days are missing from this report."
    ]
    assert not any(day.month == 11 for day in read.data.daily)
    assert read.data.missing["core"] >= 1 and read.data.missing["chart"] >= 1


def test_a_missing_partition_leaves_its_days_missing(s3, embedded_aws, demo_records):
    record = _record(demo_records, "acme-retail")
    client, window, _ = _write(s3, embedded_aws, record, options=ExportOptions(skip_periods=frozenset({"2026-10"})))

    read = read_export_costs(client, window, s3=s3, now=NOW)

    assert "BILLING_PERIOD=2026-10: no partition in the export" in read.notes[0]
    assert read.data.missing.get("baseline", 0) > 0
    assert all(day.month == 11 for day in read.data.daily)


def test_days_after_the_newest_the_export_delivered_are_missing(s3, embedded_aws, demo_records):
    record = _record(demo_records, "acme-retail")
    client = parse_client(record)
    window = window_for(client.schedule, AS_OF)
    write_client_export(
        s3,
        embedded_aws.dataset,
        record,
        bucket=BUCKET,
        start=date(2026, 10, 1),
        end_exclusive=AS_OF - timedelta(days=3),
        now=NOW,
    )

    data = read_export_costs(client, window, s3=s3, now=NOW).data

    assert max(data.daily) == AS_OF - timedelta(days=4)
    assert data.missing["core"] == 1  # the report's day, not a zero
    assert window.current.start not in data.daily


def test_a_file_of_another_focus_version_is_refused(s3, embedded_aws, demo_records):
    record = _record(demo_records, "acme-retail")
    client, window, _ = _write(
        s3, embedded_aws, record, options=ExportOptions(old_version_periods=frozenset({"2026-10"}))
    )

    with pytest.raises(ExportDataError, match=r"BILLING_PERIOD=2026-10.*FOCUS 1\.0"):
        read_export_costs(client, window, s3=s3, now=NOW)


def test_a_cur_export_named_as_focus_is_refused(s3, embedded_aws, demo_records):
    record = _record(demo_records, "acme-retail", "cur_2_0")
    _write(s3, embedded_aws, record)
    record["data_export"] = {**record["data_export"], "format": "focus_1_2"}
    client = parse_client(record)

    with pytest.raises(ExportDataError, match=r"CUR 2\.0"):
        read_export_costs(client, window_for(client.schedule, AS_OF), s3=s3, now=NOW)


@pytest.mark.parametrize(
    ("export_format", "column", "kind"),
    [
        ("focus_1_2", "BilledCost", "VARCHAR"),
        ("focus_1_2", "ChargePeriodStart", "VARCHAR"),
        ("cur_2_0", "line_item_unblended_cost", "VARCHAR"),
    ],
)
def test_a_column_of_the_wrong_type_is_refused_naming_it(s3, embedded_aws, demo_records, export_format, column, kind):
    record = _record(demo_records, "acme-retail", export_format)
    options = ExportOptions(format=export_format, wrong_types={column: kind})
    client, window, _ = _write(s3, embedded_aws, record, options=options)

    with pytest.raises(ExportDataError, match=rf"column {column} is VARCHAR"):
        read_export_costs(client, window, s3=s3, now=NOW)


def test_an_export_holding_an_account_not_the_clients_is_refused(s3, embedded_aws, demo_records):
    record = _record(demo_records, "acme-retail")
    options = ExportOptions(foreign_account="999999999999")
    client, window, _ = _write(s3, embedded_aws, record, options=options)

    with pytest.raises(ExportDataError, match="account 999999999999, not in the client's account_ids"):
        read_export_costs(client, window, s3=s3, now=NOW)


def test_a_month_past_the_in_process_threshold_is_sent_to_athena_before_any_download(s3, embedded_aws, demo_records):
    client, window, written = _write(s3, embedded_aws, _record(demo_records, "acme-retail"))

    with pytest.raises(ExportTooLargeError, match="Athena"):
        read_export_costs(client, window, s3=s3, now=NOW, max_bytes=written.bytes // 4)


def test_an_export_the_role_cannot_read_is_an_access_finding(s3, embedded_aws, demo_records):
    record = _record(demo_records, "acme-retail")
    client = parse_client(record)

    class Denied:
        def list_objects_v2(self, **_: Any) -> Any:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListObjectsV2")

    with pytest.raises(ExportAccessError, match="data_export: S3 refused list_objects_v2"):
        read_export_costs(client, window_for(client.schedule, AS_OF), s3=Denied(), now=NOW)


def test_month_close_follows_the_exports_invoice_not_the_calendar(s3, embedded_aws, demo_records):
    record = _record(demo_records, "acme-retail")
    client, _, _ = _write(s3, embedded_aws, record, start=date(2026, 10, 1))

    assert export_is_final(client, date(2026, 10, 1), s3=s3) is True  # invoiced (the dataset finalised October)
    assert export_is_final(client, date(2026, 11, 1), s3=s3) is False  # no invoice id yet
    assert export_is_final(client, date(2026, 9, 1), s3=s3) is False  # no partition


def test_estimated_days_follow_the_export_finality(s3, embedded_aws, demo_records):
    record = _record(demo_records, "acme-retail")
    client, window, _ = _write(s3, embedded_aws, record)

    data = read_export_costs(client, window, s3=s3, now=NOW).data

    assert data.estimated_days == {day for day in data.daily if day.month == 11}
    assert all(day.month == 10 for day in set(data.daily) - data.estimated_days)
    assert AS_OF - ONE_DAY in data.provisional_days


def test_a_probe_finds_an_export_the_role_cannot_read_or_that_is_empty(s3, embedded_aws, demo_records):
    from lambdas.orchestration.export_costs import probe_export

    record = _record(demo_records, "acme-retail")
    client = parse_client(record)
    assert probe_export(client, s3=s3).findings == [
        f"data_export: no BILLING_PERIOD= partition under s3://{BUCKET}/exports/acme-retail-focus-1-2/data/"
    ]

    _write(s3, embedded_aws, record)
    probe = probe_export(client, s3=s3)
    assert probe.ok and probe.newest == "2026-11" and probe.newest_has_manifest

    class Denied:
        def list_objects_v2(self, **_: Any) -> Any:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListObjectsV2")

    assert probe_export(client, s3=Denied()).findings[0].startswith("data_export: S3 refused list_objects_v2")


def test_a_cost_category_breakdown_is_missing_with_a_note_not_a_failed_run(s3, embedded_aws, demo_records):
    record = _record(demo_records, "acme-retail")
    record["breakdown"] = {"type": "cost_category", "key": "BusinessUnit"}
    client, window, _ = _write(s3, embedded_aws, record)

    read = read_export_costs(client, window, s3=s3, now=NOW)

    assert read.notes == [
        "A breakdown by COST_CATEGORY BusinessUnit is not read from Data Exports: it is missing from this report."
    ]
    assert read.data.missing["breakdown"] > 0 and read.data.breakdown_rows == []
    assert read.data.missing.get("core") is None


def test_a_day_is_as_new_as_the_delivery_that_wrote_it_not_as_the_run_that_read_it(s3, embedded_aws, demo_records):
    """Delivered at 02:00 on the 27th, the 26th was still filling in: read three days later, it is
    still provisional (no anomaly on it), because the export has not been delivered again since."""
    from lambdas import clock

    record = _record(demo_records, "acme-retail")
    with clock.pinned(datetime(2026, 11, 27, 2, tzinfo=UTC)):  # the manifest's LastModified
        client, window, _ = _write(s3, embedded_aws, record)

    data = read_export_costs(client, window, s3=s3, now=datetime(2026, 11, 30, 9, tzinfo=UTC)).data

    assert AS_OF - ONE_DAY in data.provisional_days
    assert AS_OF - 3 * ONE_DAY not in data.provisional_days  # ended two days before the delivery: settled
