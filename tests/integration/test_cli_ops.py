"""`ops ...` and `docs overview` on ten seeded days of the local environment.

The history is made once for the module by the real code paths (emulator/history.py: the
dispatcher's logic and the worker's pipeline for every scheduled day, with a refused
credential, a hand-broken record and an SES bounce), plus operator changes through the CLI;
every figure a command prints is checked against the records it was computed from, read
independently here.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import boto3
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

import cli.commands.local
import cli.context
import cli.render.ops
from cli.main import app, main
from cli.reviews.capacity import next_memory_size
from cli.reviews.cost_advice import RIGHT_SIZE_THRESHOLD
from emulator.history import SeedResult, seed_history
from infrastructure.config import for_environment
from lambdas import clock
from lambdas.dal.clients_table import ClientsTable
from lambdas.dal.dynamo import from_item
from lambdas.models.client import parse_client
from lambdas.models.execution import ExecutionRecord
from tests.integration.conftest import AS_OF, module_platform

runner = CliRunner()
CONFIG = for_environment("local")
DAYS = [AS_OF - timedelta(days=offset) for offset in range(10, 0, -1)]  # 17 to 26 November 2026
OPERATOR_TIME = datetime(2026, 11, 26, 12, tzinfo=UTC)
NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)


@dataclass
class History:
    result: SeedResult
    records: list[ExecutionRecord]
    endpoint: str

    def between(self, start: date, end: date) -> list[ExecutionRecord]:
        return [r for r in self.records if start <= r.started_at.date() < end]


@pytest.fixture(scope="module")
def history(embedded_aws):
    """Ten days of the platform's life, made once for the module."""
    with module_platform(embedded_aws, NOW) as (settings, patch):
        result = seed_history(CONFIG, settings, DAYS, incidents=True)
        for minute, change in enumerate(
            (
                ["client", "update", "--client-id", "initech-labs", "--budget", "5000"],
                ["client", "pause", "--client-id", "umbrella-media"],
                ["client", "resume", "--client-id", "umbrella-media"],
            )
        ):
            patch.setattr(cli.context, "clock", lambda minute=minute: OPERATOR_TIME + timedelta(minutes=minute))
            assert runner.invoke(app, change).exit_code == 0
        patch.setattr(cli.context, "clock", lambda: NOW)
        items = boto3.client("dynamodb").scan(TableName=settings.executions_table)["Items"]
        records = [ExecutionRecord.model_validate(from_item(item)) for item in items]
        yield History(result, records, embedded_aws.endpoint_url)


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_the_seeded_history_is_what_the_platform_would_have_recorded(history):
    # 2 daily x 10 + 2 weekly (initech-labs from Cost Explorer, hooli from its Data Export)
    assert history.result.days == 10 and history.result.runs == len(history.records) == 22
    assert {r.kind for r in history.records} == {"scheduled"}
    failed = {(r.client_id, r.as_of.isoformat(), r.error_kind) for r in history.records if r.status == "failed"}
    assert failed == {("globex-health", "2026-11-24", "invalid_input"), ("acme-retail", "2026-11-25", "unauthorized")}
    assert all(r.max_memory_mb and r.max_memory_mb > 0 for r in history.records)
    assert all(r.started_at.hour == 6 for r in history.records)
    [hooli] = [r for r in history.records if r.client_id == "hooli"]
    assert (hooli.status, hooli.cost_source, hooli.ce_requests) == ("succeeded", "data_exports", 0)
    assert hooli.export_bytes_read and hooli.export_s3_requests
    registered = {r["client_id"]: r["created_at"] for r in ClientsTable(CONFIG.clients_table).records()}
    assert set(registered.values()) == {"2026-11-17T00:00:00Z"}  # re-dated to the first seeded day


# -- ops report ---------------------------------------------------------------------------------


def test_weekly_report_figures_are_the_records_and_a_missed_target_exits_1(history, tmp_path):
    output = tmp_path / "weekly.json"

    result = invoke("ops", "report", "--period", "weekly", "--as-of", "2026-11-27", "--output", str(output))

    assert result.exit_code == 1, result.output
    document = json.loads(output.read_text())
    runs = history.between(date(2026, 11, 20), date(2026, 11, 27))
    assert document["period"] == {
        "kind": "weekly",
        "start": "2026-11-20",
        "end": "2026-11-26",
        "label": "20 Nov – 26 Nov 2026",
    }
    assert document["executions"]["total"] == len(runs) == 16
    assert document["executions"]["failed"] == 2
    assert document["errors_by_kind"] == {"invalid_input": 1, "unauthorized": 1}
    kpis = {kpi["name"]: kpi for kpi in document["kpis"]}
    assert Decimal(kpis["success rate"]["value"]) == (Decimal(14) / 16).quantize(Decimal("0.0001"))
    assert kpis["success rate"]["met"] is False
    sent = [r for r in runs if r.delivery == "sent"]
    recipients = sum(r.recipients for r in sent)
    assert document["email"] == {
        "sent": len(sent),
        "recipients": recipients,
        "bounced_recipients": 1,  # the SES bounce of 23 November
        "suppressed_recipients": sum(r.suppressed for r in runs),
        "not_sent_all_suppressed": 0,
        "rejected_by_ses": 0,
    }
    assert Decimal(kpis["email delivery rate"]["value"]) == (Decimal(recipients - 1) / recipients).quantize(
        Decimal("0.0001")
    )
    durations = sorted(r.duration_ms for r in runs if r.duration_ms is not None)
    assert document["duration"]["max_ms"] == durations[-1]
    mean_ms = (Decimal(sum(durations)) / len(durations)).quantize(Decimal(1), rounding=ROUND_HALF_UP)  # as shown
    assert Decimal(document["duration"]["mean_ms"]) == mean_ms
    assert document["cost_explorer"]["requests"] == sum(r.ce_requests for r in runs)
    assert Decimal(document["cost_explorer"]["cost_usd"]) == sum(r.ce_cost_usd for r in runs)
    assert [day["runs"] for day in document["daily"]] == [2, 2, 2, 4, 2, 2, 2]  # Monday: both weekly clients
    assert "success rate" in result.stdout and "missed" in result.stdout
    # An exit 1 ends with one line naming what fell short (stderr: stdout stays the table).
    assert result.stderr.strip().splitlines()[-1] == (
        "findings: 2 KPI(s) missed their target: success rate 87.50% (target ≥ 99.50%), "  # 14/16
        f"email delivery rate {Decimal(recipients - 1) / recipients * 100:.2f}% (target ≥ 98.00%)"
    )


def test_a_day_that_met_every_target_exits_0(history):
    result = invoke("ops", "report", "--period", "daily", "--as-of", "2026-11-27", "--format", "json")

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["executions"]["total"] == 2 and document["targets_met"] is True


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "hourly"], "'hourly' is not one of"),
        (["--period", "monthly", "--month", "2026-13"], "--month"),
        (["--period", "weekly", "--month", "2026-11"], "--month: only with --period monthly"),
        (["--period", "daily", "--as-of", "yesterday"], "--as-of"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_nothing_written(history, tmp_path, capsys, args, message):
    output = tmp_path / "report.json"

    code = main(["ops", "report", *args, "--output", str(output)])

    assert code == 2
    error = capsys.readouterr().err
    assert message in error and len(error.strip().splitlines()) == 1
    assert not output.exists()


# -- seeding ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "as_of", "days"),
    [
        (datetime(2026, 11, 27, 9, tzinfo=UTC), "", ["2026-11-25", "2026-11-26", "2026-11-27"]),  # today's run fired
        (datetime(2026, 11, 27, 5, 59, tzinfo=UTC), "", ["2026-11-24", "2026-11-25", "2026-11-26"]),  # not yet
        (datetime(2026, 11, 27, 9, tzinfo=UTC), "2026-11-27", ["2026-11-24", "2026-11-25", "2026-11-26"]),
    ],
)
def test_seeding_ends_with_the_latest_run_due(at, as_of, days):
    assert [f"{day}" for day in cli.commands.local._seeded_days(3, as_of, at)] == days


# -- client health ------------------------------------------------------------------------------


def test_client_health_puts_clients_needing_attention_first(history, frozen_clock, tmp_path):
    frozen_clock(NOW)
    output = tmp_path / "health.json"

    result = invoke("ops", "client-health", "--days", "10", "--as-of", "2026-11-27", "--output", str(output))

    assert result.exit_code == 1
    clients = {c["client_id"]: c for c in json.loads(output.read_text())["clients"]}
    order = [c["client_id"] for c in json.loads(output.read_text())["clients"]]
    assert order == ["acme-retail", "globex-health", "hooli", "initech-labs", "umbrella-media"]
    acme = clients["acme-retail"]
    assert acme["health"] == "WARNING"
    assert acme["coverage_gaps"] == ["2026-11-25"]  # credentials refused that day
    assert [s["reason"] for s in acme["suppressed_recipients"]] == ["bounce"]
    assert acme["last_success"].startswith("2026-11-26T06:00")
    assert acme["failures_in_a_row"] == 0 and acme["credential"]["type"] == "role"
    assert clients["globex-health"]["coverage_gaps"] == ["2026-11-24"]
    assert clients["initech-labs"]["health"] == "OK"  # weekly: ran on Monday the 23rd
    assert clients["hooli"]["health"] == "OK"  # weekly, from its Data Export: ran on Monday the 23rd
    assert clients["umbrella-media"]["health"] == "OK"  # monthly: no 1st in the window


def test_client_health_table_names_the_days_to_rerun(history, frozen_clock):
    frozen_clock(NOW)

    result = invoke("ops", "client-health", "--days", "10", "--as-of", "2026-11-27")

    assert result.exit_code == 1
    cells = [[cell.strip() for cell in line.split("│")[1:-1]] for line in result.stdout.splitlines() if "│" in line]
    gaps = {row[0]: row[5] for row in cells if row[0]}  # the column "days without a report"
    assert gaps == {
        "acme-retail": "2026-11-25",
        "globex-health": "2026-11-24",
        "hooli": "-",
        "initech-labs": "-",
        "umbrella-media": "-",
    }


def test_client_health_table_lists_the_latest_gaps_and_counts_the_rest():
    gaps = [date(2026, 11, day) for day in range(1, 8)]

    assert cli.render.ops.gap_days(gaps) == "2026-11-07, 2026-11-06, 2026-11-05, 2026-11-04, 2026-11-03 (+2 more)"
    assert cli.render.ops.gap_days([]) == "-"


# -- capacity -----------------------------------------------------------------------------------


def test_capacity_reads_memory_duration_and_growth(history, frozen_clock, tmp_path):
    frozen_clock(NOW)
    output = tmp_path / "capacity.json"

    result = invoke("ops", "capacity", "--period", "monthly", "--forecast-months", "6", "--output", str(output))

    assert result.exit_code == 0, result.output
    document = json.loads(output.read_text())
    checks = {c["check"]: c for c in document["checks"]}
    assert checks["worker memory"]["used"] == max(r.max_memory_mb for r in history.records)
    assert checks["worker memory"]["limit"] == 1024 and checks["worker memory"]["status"] == "OK"
    durations = boto3.client("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="Duration",
        Dimensions=[{"Name": "FunctionName", "Value": CONFIG.worker_function}],
        StartTime=NOW - timedelta(days=30),
        EndTime=NOW,
        Period=86400,
        Statistics=["Maximum"],
    )["Datapoints"]
    assert Decimal(str(checks["worker duration"]["used"])) == Decimal(str(max(p["Maximum"] for p in durations)))
    assert checks["worker throttling"]["status"] == "OK" and checks["worker throttling"]["used"] == 0
    # Each active client's expected Cost Explorer requests, learned from the seeded runs' answers
    # (hooli, read from its Data Export, makes none).
    plans = {entry["client_id"]: entry for entry in document["cost_explorer"]["clients"]}
    assert set(plans) == {"acme-retail", "globex-health", "initech-labs", "umbrella-media"}
    assert all(entry["learned"] and 2 <= entry["requests_per_report"] <= 3 for entry in plans.values())
    assert plans["globex-health"]["requests_per_report"] == 3  # its tag breakdown is a request more
    assert Decimal(document["cost_explorer"]["usd_per_month"]) == sum(
        Decimal(entry["usd_per_month"]) for entry in plans.values()
    )
    assert checks["cost explorer requests"]["status"] == "OK"
    shown = invoke("ops", "capacity").stdout
    assert "Cost Explorer, expected (cold cache)" in shown and "its answers" in shown
    growth = document["growth"]
    assert growth["clients"]["history"][-1] == {"month": "2026-11", "value": "5.00"}
    # 22 runs on 10 of November's 26 recorded days, scaled to 30 days
    assert growth["executions"]["history"][-1]["value"] == "66.00"
    assert growth["executions"]["scaled"] == [{"month": "2026-11", "recorded_days": 10, "month_days": 30}]
    table = invoke("ops", "capacity", "--period", "monthly", "--forecast-months", "6").stdout
    assert "2026-11 5 → projected 2026-12 5," in table  # a client count, not "5.00"
    assert "2026-11 66 (scaled to 30 days from 10)" in table
    assert f"{checks['worker memory']['used']} MB" in table and "1024 MB" in table
    assert len(growth["executions"]["projection"]) == 6
    # Runs follow the clients: 22 runs over 5 clients x 10 days, times each month's days.
    assert growth["executions"]["projection_basis"]["runs_per_client_day"] == "0.4400"
    assert growth["executions"]["projection"][0] == {"month": "2026-12", "value": "68.20"}  # 0.44 x 5 x 31
    assert {p["value"] for p in growth["clients"]["projection"]} == {"5.00"}
    assert document["worker"]["source"] == "emulator LocalContext (local)"
    assert {t["table"] for t in document["tables"]} >= {CONFIG.clients_table, CONFIG.executions_table}


# -- security audit -----------------------------------------------------------------------------


def test_weekly_security_audit_finds_the_refused_access(history, frozen_clock, tmp_path):
    frozen_clock(NOW)
    output = tmp_path / "audit.json"

    result = invoke("ops", "security-audit", "--weekly", "--output", str(output))

    assert result.exit_code == 1
    document = json.loads(output.read_text())
    access = [f for f in document["findings"] if f["area"] == "access"]
    assert [(f["severity"], f["resource"]) for f in access] == [("HIGH", "acme-retail")]
    assert document["unauthorized"]["refused_runs"][0]["run_id"] == "2026-11-25.daily"
    # local has no alarms by design: information, not a finding
    assert {f["severity"] for f in document["findings"] if f["area"] == "monitoring"} == {"INFO"}
    assert "iam_roles" not in document


def test_comprehensive_audit_adds_iam_and_encryption(history, frozen_clock):
    frozen_clock(NOW)

    result = invoke("ops", "security-audit", "--comprehensive", "--format", "json")

    document = json.loads(result.stdout)
    assert document["scope"] == "comprehensive" and document["period"]["days"] == 30
    assert set(document["iam_roles"]) == {CONFIG.worker_role, f"{CONFIG.dispatcher_function}-role",
                                          f"{CONFIG.feedback_function}-role"}  # fmt: skip
    assert document["encryption_and_access"]["bucket"]["public_access_block"]
    assert invoke("ops", "security-audit", "--weekly", "--comprehensive").exit_code == 2


# -- cost optimisation --------------------------------------------------------------------------


def test_cost_optimization_prices_the_recorded_usage(history, frozen_clock, tmp_path):
    frozen_clock(NOW)
    output = tmp_path / "optimise.json"

    result = invoke("ops", "cost-optimization", "--analyze-period", "30", "--as-of", "2026-11-27",
                    "--recommendations-output", str(output))  # fmt: skip

    document = json.loads(output.read_text())
    assert Decimal(document["by_service_usd"]["Cost Explorer"]) == sum(r.ce_cost_usd for r in history.records)
    emails = sum(r.recipients for r in history.records if r.delivery == "sent")
    assert Decimal(document["by_service_usd"]["SES"]) == (Decimal(emails) * Decimal("0.0001")).quantize(
        Decimal("0.0001")
    )
    advice = {item["id"]: item for item in document["recommendations"]}
    # The recorded peak is the resident memory of the process that ran the run (here: pytest's,
    # which grows with the tests run before): advice exactly when half of 1024 MB holds that peak.
    peak = max(r.max_memory_mb for r in history.records if r.max_memory_mb is not None)
    assert ("lambda-memory" in advice) == (next_memory_size(peak, RIGHT_SIZE_THRESHOLD) < 1024)
    if "lambda-memory" in advice:
        assert f"peak resident memory {peak} MB" in advice["lambda-memory"]["detail"]
    assert result.exit_code == (1 if any(item["worth_acting"] for item in document["recommendations"]) else 0)
    assert document["pricing"]["as_of"] and document["pricing"]["unit_prices"]


def test_cost_optimization_reads_the_buckets_lifecycle(history, frozen_clock):
    """Local provisioning has no lifecycle: the advice shows (nothing is 90 days old: saving 0, not a
    finding); the stack's rule for reports/ silences it."""
    frozen_clock(NOW)
    args = ("ops", "cost-optimization", "--as-of", "2026-11-27", "--format", "json")
    s3 = boto3.client("s3")
    rules = [{"ID": "OldReportsToCheaperStorage", "Status": "Enabled", "Filter": {"Prefix": "reports/"},
              "Transitions": [{"Days": 90, "StorageClass": "STANDARD_IA"}]}]  # fmt: skip

    without = {item["id"]: item for item in json.loads(invoke(*args).stdout)["recommendations"]}
    s3.put_bucket_lifecycle_configuration(Bucket=CONFIG.assets_bucket, LifecycleConfiguration={"Rules": rules})
    try:
        with_rule = {item["id"] for item in json.loads(invoke(*args).stdout)["recommendations"]}
    finally:
        s3.delete_bucket_lifecycle(Bucket=CONFIG.assets_bucket)

    assert without["s3-lifecycle"]["estimated_saving_usd"] == "0.0000"
    assert without["s3-lifecycle"]["worth_acting"] is False
    assert "s3-lifecycle" not in with_rule
    # the seeded runs: no same-day repeats, and no client's daily spend steady enough for weekly
    assert not {"cache-repeats"} & (set(without) | with_rule)
    assert not [key for key in without if key.startswith("schedule-")]


# -- performance --------------------------------------------------------------------------------


def test_performance_json_feeds_the_html_report(history, frozen_clock, tmp_path):
    frozen_clock(NOW)
    data, page = tmp_path / "performance.json", tmp_path / "performance.html"

    measured = invoke("ops", "performance", "--period", "weekly", "--as-of", "2026-11-27", "--output", str(data))
    rendered = invoke("ops", "performance-report", "--input", str(data), "--output", str(page))

    assert measured.exit_code == 0, measured.output
    assert rendered.exit_code == 0, rendered.output
    document = json.loads(data.read_text())
    runs = history.between(date(2026, 11, 20), date(2026, 11, 27))
    assert document["runs"] == 16
    assert document["slowest"][0]["duration_ms"] == max(r.duration_ms or 0 for r in runs)
    assert {c["client_id"]: c["runs"] for c in document["by_client"]} == dict(Counter(r.client_id for r in runs))
    assert document["by_hour"] == [
        {"hour": 6, "runs": 16, "mean_ms": document["duration"]["mean_ms"], "max_ms": document["duration"]["max_ms"]}
    ]
    table = invoke("ops", "performance", "--period", "weekly", "--as-of", "2026-11-27").stdout
    memory = next(c for c in document["checks"] if c["check"] == "peak memory")
    assert f"{memory['value']} MB / 1024 MB OK" in table
    assert f"{document['duration']['mean_ms']} ms / 300000 ms OK" in table
    html = page.read_text()
    assert html.count("<svg") == 3 and "<script" not in html
    assert "acme-retail" in html


def test_performance_report_refuses_other_json(history, tmp_path):
    other, page = tmp_path / "other.json", tmp_path / "page.html"
    other.write_text(json.dumps({"format": "cost-reporting-billing"}))

    result = invoke("ops", "performance-report", "--input", str(other), "--output", str(page))

    assert result.exit_code == 2 and "not the output of `ops performance`" in result.output
    assert not page.exists()


# -- audit report -------------------------------------------------------------------------------


def test_audit_report_names_who_changed_which_client_and_the_refusals(history, frozen_clock, tmp_path):
    frozen_clock(NOW)
    output = tmp_path / "audit.json"

    result = invoke("ops", "audit-report", "--period", "monthly", "--month", "2026-11", "--output", str(output))

    assert result.exit_code == 1  # an unauthorised event in the period
    document = json.loads(output.read_text())
    changes = [(c["action"], c["client_id"], c["fields"]) for c in document["changes"]]
    assert changes == [
        ("client.update", "initech-labs", ["budget"]),
        ("client.pause", "umbrella-media", ["status"]),
        ("client.resume", "umbrella-media", ["status"]),
    ]
    identity = boto3.client("sts").get_caller_identity()["Arn"]
    assert {c["actor"] for c in document["changes"]} == {identity}
    assert {c["at"][:10] for c in document["changes"]} == {"2026-11-26"}
    refused = [(r["client_id"], r["run_id"]) for r in document["unauthorized"]["refused_runs"]]
    assert refused == [("acme-retail", "2026-11-25.daily")]
    runs = Counter(r.client_id for r in history.records)
    assert {k: v["worker"] for k, v in document["access"]["runs_by_client"].items()} == dict(runs)
    # the log lines CloudWatch Logs kept (it refuses events older than 14 days)
    kept = boto3.client("logs").filter_log_events(
        logGroupName=f"/aws/lambda/{CONFIG.worker_function}", filterPattern="UNAUTHORIZED"
    )["events"]
    assert document["unauthorized"]["log_events"]["available"] is True
    assert len(document["unauthorized"]["events"]) == sum('"audit":"UNAUTHORIZED"' in e["message"] for e in kept)


def test_audit_report_table_lists_who_read_each_clients_data(history, frozen_clock):
    frozen_clock(NOW)

    result = invoke("ops", "audit-report", "--period", "monthly", "--month", "2026-11")

    kept = boto3.client("logs").filter_log_events(
        logGroupName=f"/aws/lambda/{CONFIG.worker_function}", filterPattern="ACCESS"
    )["events"]
    lines = Counter(json.loads(e["message"])["client_id"] for e in kept if '"audit":"ACCESS"' in e["message"])
    runs = Counter(r.client_id for r in history.records)
    assert lines and set(lines) <= set(runs)
    expected = [rf"│\s+worker\s+│ read cost data │ {client}\s+│ {runs[client]} run\(s\), {lines[client]} ACCESS"
                for client in sorted(runs)]  # fmt: skip
    assert "who read which client's" in result.stdout
    rows = [line for line in result.stdout.splitlines() if "read cost data" in line]
    assert len(rows) == len(expected)
    for row, pattern in zip(rows, expected, strict=True):
        assert re.search(pattern, row), (pattern, row)


def test_log_lines_are_matched_by_their_marker_not_by_any_mention(history):
    from cli.probes.sources import log_events

    logs = boto3.client("logs")
    group, stream = "/aws/lambda/marker-test", "s"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    at = clock.now().replace(microsecond=0)
    lines = [
        {"message": "UNAUTHORIZED credentials refused", "audit": "UNAUTHORIZED", "client_id": "a"},
        {"message": "run failed", "error": "the role said UNAUTHORIZED once"},
        {"message": "ACCESS cost data read", "audit": "ACCESS", "client_id": "a", "requester": "worker"},
    ]
    events = [
        {"timestamp": int(at.timestamp() * 1000) + n, "message": json.dumps(line)} for n, line in enumerate(lines)
    ]
    logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)

    found = log_events(group, "UNAUTHORIZED", at - timedelta(minutes=1), at + timedelta(minutes=1))
    missing = log_events("/aws/lambda/none", "ACCESS", at - timedelta(minutes=1), at + timedelta(minutes=1))

    assert found.available and [e["client_id"] for e in found.value] == ["a"]
    assert not missing.available and missing.reason == "log group /aws/lambda/none does not exist"


# -- monthly report -----------------------------------------------------------------------------


def test_monthly_report_is_a_pdf_with_the_months_figures(history, frozen_clock, tmp_path):
    frozen_clock(NOW)
    output = tmp_path / "monthly.pdf"

    result = invoke("ops", "monthly-report", "--month", "2026-11", "--output", str(output))

    assert result.exit_code == 1, result.output  # success rate 20/22 misses 99.5%
    assert (
        result.output.strip()
        .splitlines()[-1]
        .startswith(
            "findings: 2 KPI(s) missed their target: success rate 90.91% (target ≥ 99.50%), email delivery rate"
        )
    )
    reader = PdfReader(output)
    assert len(reader.pages) >= 3
    first = reader.pages[0].extract_text()
    assert "Operations review: November 2026" in first
    assert f"{Decimal(20) / 22 * 100:.2f}%" in first  # 90.91%
    assert "invalid_input" in first and "unauthorized" in first
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Capacity" in text and "Security audit" in text and "Cost of running the platform" in text
    ce = sum(r.ce_cost_usd for r in history.records)
    assert f"USD {ce:.2f}" in first


# -- docs overview ------------------------------------------------------------------------------


def test_docs_overview_is_generated_from_the_live_configuration(history, frozen_clock, tmp_path):
    frozen_clock(NOW)
    table = ClientsTable(CONFIG.clients_table)
    hostile = parse_client(
        dict(table.get_record("initech-labs"), client_id="hostile-co", name="Evil | <img src=x> [x](http://e.example)")
    )
    table.put(hostile)
    output = tmp_path / "overview.md"
    try:
        result = invoke("docs", "overview", "--output", str(output))
    finally:
        table.delete("hostile-co")

    assert result.exit_code == 0, result.output
    text = output.read_text()
    assert "6 client(s): 2 daily, 3 weekly, 1 monthly." in text
    assert f"| {CONFIG.worker_function} |" in text
    assert f"| {CONFIG.executions_table} | 22 |" in text
    assert r"Evil \| \<img src=x\> \[x\](http://e.example)" in text
    assert re.search(r"(?<!\\)<img", text) is None  # only escaped: shown as text, never an image
    assert "No alarm notifies" in text
