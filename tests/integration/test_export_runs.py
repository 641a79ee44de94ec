"""A client read from its Data Export, through the real run (ReportRun on the embedded AWS): its role
reads its own bucket, no Cost Explorer request is made, the month close follows the export's invoice
ids, and every bad export has a clear outcome (never a wrong report)."""

from __future__ import annotations

import functools
import io
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from emulator.dataset import HOOLI_PAYER, generate_demo_dataset
from emulator.exports import ExportOptions, FolderS3, deliver_client_exports, write_client_export
from lambdas import clock
from lambdas.dal.athena import Athena
from lambdas.dal.executions_table import ExecutionsTable
from lambdas.models.events import ReportJob
from lambdas.models.settings import get_settings
from lambdas.observability import logs_to
from lambdas.orchestration import run as run_module
from lambdas.orchestration.dependencies import dependencies_from
from lambdas.orchestration.run import ReportRun
from tests.integration.conftest import AS_OF
from tests.integration.helpers import invoke_worker, sent_messages
from tests.integration.runs import ce_calls, register, run

NOW = datetime(AS_OF.year, AS_OF.month, AS_OF.day, 9, tzinfo=UTC)


def _hooli(demo_records: list[dict[str, Any]], **overrides: Any) -> dict[str, Any]:
    record = next(r for r in demo_records if r["client_id"] == "hooli")
    return {**record, **overrides}


def _deliver(embedded_aws, record, *, start: date = date(2026, 9, 1), **options: Any):
    chosen = ExportOptions(format=record["data_export"]["format"], **options)
    [written] = deliver_client_exports(
        embedded_aws.dataset, [record], start=start, end_exclusive=AS_OF, options=chosen, now=NOW
    )
    return written


def _facts(monkeypatch) -> list[Any]:
    """The RunFacts each build_report of the run is given."""
    seen: list[Any] = []
    real = run_module.build_report

    def spy(client, window, data, facts, **kwargs):
        seen.append(facts)
        return real(client, window, data, facts, **kwargs)

    monkeypatch.setattr(run_module, "build_report", spy)
    return seen


def test_a_data_exports_client_is_reported_from_its_export_with_no_cost_explorer_request(
    platform, embedded_aws, demo_records, monkeypatch
):
    record = _hooli(demo_records)
    client = register(record)
    _deliver(embedded_aws, record, unused_commitment=Decimal("24"))
    facts = _facts(monkeypatch)
    log = io.StringIO()

    with logs_to(log):
        outcome = run(client.client_id, AS_OF, at=NOW, kind="scheduled", run_id="2026-11-27.weekly")

    assert outcome.status == "succeeded", outcome.error
    assert outcome.delivery == "sent" and len(sent_messages(embedded_aws.endpoint_url)) == 1
    assert ce_calls(embedded_aws) == [] and ce_calls(embedded_aws, "GetCostForecast") == []
    report = outcome.report
    assert report is not None and report.ce_requests == 0 and report.complete
    assert report.period.start == date(2026, 11, 20) and report.total > 0
    assert {a.account_id for a in report.by_account} == set(client.account_ids)
    [given] = facts
    assert given.cost_source == "data_exports"
    assert given.top_resources and given.top_resources[0].resource_id.startswith("arn:aws:ec2:")
    assert {c.type for c in given.commitments} == {"Savings Plan", "Reservation"}
    savings_plan = next(c for c in given.commitments if c.type == "Savings Plan")
    assert savings_plan.unused == Decimal(24) * 7 and Decimal(0) < savings_plan.utilisation < 1

    recorded = ExecutionsTable(platform.executions_table).get(client.client_id, "2026-11-27.weekly")
    assert recorded is not None and recorded.status == "succeeded"
    assert (recorded.cost_source, recorded.ce_requests) == ("data_exports", 0)
    assert recorded.export_bytes_read and recorded.export_bytes_read > 0
    assert recorded.export_s3_requests and recorded.export_s3_requests >= 5  # LIST, manifests, sizes, GETs

    lines = [json.loads(line) for line in log.getvalue().splitlines() if line.startswith("{")]
    [access] = [line for line in lines if line.get("audit") == "ACCESS"]
    assert access["message"] == "ACCESS cost data read"
    assert access["source"] == "data_exports" and access["access"] == "client_role"
    assert access["export"] == "s3://hooli-billing-exports/exports/hooli-focus/"
    assert "Secret" not in log.getvalue() and "SessionToken" not in log.getvalue()


def test_the_worker_handler_runs_a_data_exports_client_in_process(platform, embedded_aws, demo_records):
    record = _hooli(demo_records)
    client = register(record)
    _deliver(embedded_aws, record)

    with clock.pinned(NOW):
        response = invoke_worker(ReportJob.scheduled(client.client_id, client.schedule, AS_OF))

    assert response == {"batchItemFailures": []}
    [message] = sent_messages(embedded_aws.endpoint_url)
    assert "Hooli" in message["raw"]
    assert ce_calls(embedded_aws) == []


def test_an_export_replicated_into_the_platforms_bucket_is_read_with_the_platforms_credentials(
    platform, embedded_aws, demo_records
):
    export = {
        "bucket": platform.assets_bucket,
        "prefix": "exports/hooli",  # the client's own prefix of the platform's bucket (client add checks it)
        "export_name": "hooli-focus",
        "format": "focus_1_2",
        "access": "replicated",
    }
    # A role the platform could not assume: the replicated export needs none.
    credentials = {"type": "role", "role_arn": f"arn:aws:iam::{HOOLI_PAYER}:role/Missing", "external_id": "nope-0000"}
    record = _hooli(demo_records, data_export=export, credentials=credentials)
    client = register(record)
    _deliver(embedded_aws, record, start=date(2026, 10, 1))

    outcome = run(client.client_id, AS_OF, at=NOW, kind="scheduled")

    assert outcome.status == "succeeded", outcome.error
    assert outcome.cost_source == "data_exports" and outcome.export_bytes_read


def test_the_month_close_sends_the_final_report_once_the_export_is_invoiced(platform, embedded_aws, demo_records):
    record = _hooli(demo_records, schedule="monthly")
    client = register(record)
    _deliver(embedded_aws, record)  # at AS_OF the dataset has finalised October: invoice ids filled in

    final = run(client.client_id, date(2026, 11, 6), at=NOW, kind="final", run_id="2026-11-06.final")

    assert final.status == "succeeded", final.error
    assert final.report is not None and final.report.kind == "final" and not final.report.estimated
    assert final.report.period.start == date(2026, 10, 1)
    assert ce_calls(embedded_aws) == []
    assert len(sent_messages(embedded_aws.endpoint_url)) == 1


def test_the_month_close_waits_while_the_export_has_no_invoice_ids(platform, embedded_aws, demo_records):
    early = generate_demo_dataset(date(2026, 11, 3))  # 3 November: October's bill is not issued yet
    record = _hooli(demo_records, schedule="monthly")
    client = register(record)
    deliver_client_exports(early, [record], start=date(2026, 9, 1), end_exclusive=date(2026, 11, 3), now=NOW)

    not_yet = run(client.client_id, date(2026, 11, 5), at=NOW, kind="final", run_id="2026-11-05.final")

    assert (not_yet.status, not_yet.error) == ("skipped", "last month is not final yet in the Data Export")
    assert not_yet.report is None and sent_messages(embedded_aws.endpoint_url) == []
    assert ce_calls(embedded_aws) == []
    recorded = ExecutionsTable(platform.executions_table).get(client.client_id, "2026-11-05.final")
    assert recorded is not None and recorded.status == "skipped" and recorded.cost_source == "data_exports"


def test_a_period_still_being_written_leaves_the_report_incomplete_and_unsent(platform, embedded_aws, demo_records):
    record = _hooli(demo_records)
    client = register(record)
    _deliver(embedded_aws, record, no_manifest=frozenset({"2026-11"}))

    outcome = run(client.client_id, AS_OF, at=NOW, kind="scheduled")

    assert outcome.status == "incomplete" and outcome.delivery is None
    assert outcome.error is not None and outcome.error.startswith("core figures incomplete")
    assert sent_messages(embedded_aws.endpoint_url) == []


@pytest.mark.parametrize(
    ("bucket", "prefix", "field"),
    [
        (None, "exports/acme-retail", "data_export.prefix"),  # another client's copy in the platform's bucket
        (None, "exports", "data_export.prefix"),  # every client's copies at once
        ("someone-elses-bucket", "exports/hooli", "data_export.bucket"),
    ],
)
def test_a_replicated_export_outside_the_clients_own_prefix_is_refused_before_any_read(
    platform, embedded_aws, demo_records, bucket, prefix, field
):
    export = {
        "bucket": bucket or platform.assets_bucket,
        "prefix": prefix,
        "export_name": "hooli-focus",
        "format": "focus_1_2",
        "access": "replicated",
    }
    # Written to the table as a hand edit would be: `client add` refuses it (test_cli_client_exports.py).
    client = register(_hooli(demo_records, data_export=export))
    _deliver(embedded_aws, {**_hooli(demo_records), "data_export": {**export, "prefix": "exports/acme-retail"}})

    outcome = run(client.client_id, AS_OF, at=NOW, kind="scheduled")

    assert (outcome.status, outcome.error_kind) == ("failed", "invalid_input")
    assert outcome.error is not None and outcome.error.startswith(f"{field}: ")
    assert outcome.export_bytes_read in (None, 0) and outcome.report is None
    assert sent_messages(embedded_aws.endpoint_url) == []


@pytest.mark.parametrize(
    ("options", "kind", "error"),
    [
        ({"foreign_account": "999999999999"}, "export_data", "account 999999999999, not in the client's account_ids"),
        ({"old_version_periods": frozenset({"2026-11"})}, "export_data", "FOCUS 1.0"),
    ],
)
def test_a_bad_export_fails_the_run_with_one_line_and_sends_nothing(
    platform, embedded_aws, demo_records, options, kind, error
):
    record = _hooli(demo_records)
    client = register(record)
    _deliver(embedded_aws, record, **options)

    outcome = run(client.client_id, AS_OF, at=NOW, kind="scheduled")

    assert (outcome.status, outcome.error_kind) == ("failed", kind)
    assert outcome.error is not None and error in outcome.error and "\n" not in outcome.error
    assert outcome.report is None and sent_messages(embedded_aws.endpoint_url) == []


def test_an_export_bucket_that_is_not_there_fails_the_run_naming_it(platform, embedded_aws, demo_records):
    client = register(_hooli(demo_records))  # its export was never delivered

    outcome = run(client.client_id, AS_OF, at=NOW, kind="scheduled")

    assert (outcome.status, outcome.error_kind) == ("failed", "export_data")
    assert outcome.error == "data_export.bucket: no bucket hooli-billing-exports"


def _deps_on(s3: Any, **changes: Any):
    deps = dependencies_from(get_settings())
    return replace(deps, export_s3=lambda credentials: s3, **changes)


def _job(client_id: str) -> ReportJob:
    return ReportJob(run_id="2026-11-27.manual-x", client_id=client_id, as_of=AS_OF, kind="manual")


def test_an_export_the_role_cannot_read_is_an_unauthorized_failure(platform, embedded_aws, demo_records):
    from botocore.exceptions import ClientError

    class Denied:
        def list_objects_v2(self, **_: Any) -> Any:
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListObjectsV2")

    client = register(_hooli(demo_records))
    log = io.StringIO()

    with clock.pinned(NOW), logs_to(log):
        outcome = ReportRun(_deps_on(Denied())).run(_job(client.client_id))

    assert (outcome.status, outcome.error_kind) == ("failed", "export_access")
    where = "s3://hooli-billing-exports/exports/hooli-focus/data/"
    assert outcome.error == f"data_export: S3 refused list_objects_v2 on {where} (AccessDenied)"
    assert any(json.loads(line).get("audit") == "UNAUTHORIZED" for line in log.getvalue().splitlines())


def _folder_export(tmp_path, embedded_aws, record) -> FolderS3:
    """The client's export in a folder keyed as its bucket (what DuckDB reads in the Athena test too)."""
    s3 = FolderS3(tmp_path)
    written = write_client_export(
        s3,
        embedded_aws.dataset,
        record,
        bucket=record["data_export"]["bucket"],
        start=date(2026, 10, 1),
        end_exclusive=AS_OF,
        now=NOW,
    )
    assert written.periods == ["2026-10", "2026-11"]
    return s3


def test_an_export_too_large_for_one_function_fails_saying_so_without_athena(
    platform, embedded_aws, demo_records, monkeypatch, tmp_path
):
    from lambdas.orchestration import export_costs

    client = register(_hooli(demo_records))
    s3 = _folder_export(tmp_path, embedded_aws, _hooli(demo_records))
    monkeypatch.setattr(
        export_costs, "read_export_costs", functools.partial(export_costs.read_export_costs, max_bytes=1024)
    )

    with clock.pinned(NOW):
        outcome = ReportRun(_deps_on(s3)).run(_job(client.client_id))

    assert (outcome.status, outcome.error_kind) == ("failed", "export_too_large")
    assert outcome.error is not None and outcome.error.endswith(
        "run it on Athena; this environment has no Athena workgroup (ATHENA_WORKGROUP)"
    )
    assert sent_messages(embedded_aws.endpoint_url) == []


def test_an_export_too_large_for_one_function_is_read_on_athena_where_configured(
    platform, embedded_aws, demo_records, monkeypatch, tmp_path
):
    from lambdas.orchestration import export_costs
    from tests.integration.test_athena import DuckDBAthena

    record = _hooli(demo_records)
    client = register(record)
    s3 = _folder_export(tmp_path, embedded_aws, record)
    with clock.pinned(NOW):
        in_process = ReportRun(_deps_on(s3), dry_run=True).run(_job(client.client_id))
    files = f"{tmp_path}/exports/hooli-focus/data/*/*.parquet"

    class Glue(DuckDBAthena):
        def __init__(self, files: str) -> None:
            super().__init__(files)
            self.con.execute("CREATE VIEW hooli_hooli_focus AS SELECT * FROM exports.acme")

    athena = Athena(Glue(files), workgroup="reports", database="exports")
    monkeypatch.setattr(
        export_costs, "read_export_costs", functools.partial(export_costs.read_export_costs, max_bytes=1024)
    )

    with clock.pinned(NOW):
        outcome = ReportRun(_deps_on(s3, export_athena=lambda: athena), dry_run=True).run(_job(client.client_id))

    assert outcome.status == "succeeded", outcome.error
    assert athena.queries and all('"hooli_hooli_focus"' in sql for sql in athena.queries)
    assert outcome.report is not None and in_process.report is not None
    assert outcome.report.total == in_process.report.total
    assert outcome.report.by_service == in_process.report.by_service
    assert outcome.report.daily == in_process.report.daily


def test_a_data_exports_run_on_a_function_without_duckdb_fails_once_saying_where_it_belongs(
    platform, embedded_aws, demo_records, monkeypatch
):
    """The Cost Explorer worker has no Data Exports layer: a job routed there (an environment without
    the export queue, or queued before the client switched source) fails for good, not five times."""
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "duckdb" else real(name, *a))
    record = _hooli(demo_records)
    client = register(record)
    _deliver(embedded_aws, record)

    outcome = run(client.client_id, AS_OF, at=NOW, kind="scheduled")

    assert (outcome.status, outcome.error_kind) == ("failed", "wrong_function")
    assert outcome.error is not None and "export jobs queue" in outcome.error
    assert outcome.report is None and sent_messages(embedded_aws.endpoint_url) == []
