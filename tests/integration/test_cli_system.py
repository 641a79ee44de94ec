"""`system health-check`, `deploy validate` and `deploy monitor` against the embedded AWS."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from typer.testing import CliRunner

import cli.commands.deploy
import cli.context
from cli.main import app
from cli.probes.resources import resource_checks
from infrastructure.config import for_environment
from lambdas.dal.clients_table import ClientsTable
from lambdas.dal.executions_table import ExecutionsTable
from lambdas.models.client import parse_client

runner = CliRunner()
CONFIG = for_environment("local")


def checks_of(result) -> dict[str, dict]:
    return {check["name"]: check for check in json.loads(result.stdout)["checks"]}


def health(*flags: str):
    return runner.invoke(app, ["system", "health-check", "--format", "json", *flags])


@pytest.fixture
def clients(platform, demo_records, frozen_clock):
    """The demo clients, registered two days before the frozen now."""
    registered = frozen_clock() - timedelta(days=2)
    table = ClientsTable(platform.clients_table)
    for record in demo_records:
        table.put(parse_client(dict(record, created_at=registered.isoformat())))
    return demo_records


def succeeded(client_id: str, when) -> None:
    executions = ExecutionsTable(CONFIG.executions_table)
    run_id = f"{when.date().isoformat()}.daily"
    executions.start(client_id, run_id, as_of=when.date().isoformat(), kind="scheduled", now=when)
    executions.finish(client_id, run_id, {"status": "succeeded", "finished_at": when.isoformat()})


def alarm(name: str, state: str) -> None:
    topic = boto3.client("sns").create_topic(Name=CONFIG.alerts_topic)["TopicArn"]
    cloudwatch = boto3.client("cloudwatch")
    cloudwatch.put_metric_alarm(
        AlarmName=name,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": CONFIG.worker_function}],
        Statistic="Sum",
        Period=300,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
        AlarmActions=[topic],
    )
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


def all_reported(clients) -> None:
    for record in clients:
        succeeded(record["client_id"], cli.context.now() - timedelta(hours=20))


def test_a_healthy_environment_is_all_ok(clients, tmp_path):
    all_reported(clients)
    alarm("cost-reporting-worker-errors-local", "OK")
    report = tmp_path / "health.json"

    result = health("--output", str(report))

    assert result.exit_code == 0, result.output
    document = json.loads(report.read_text())
    assert document["status"] == "OK" and document["environment"] == "local"
    names = {check["name"] for check in document["checks"]}
    assert {"alarms", "SES quota", "SES reputation", "report freshness", "credential ages"} <= names
    assert checks_of(result)["alarms"]["detail"] == "none in ALARM (1 notify cost-reporting-alerts-local)"


def test_an_alarm_in_alarm_is_critical(clients):
    alarm("cost-reporting-worker-errors-local", "ALARM")
    alarm("someone-elses-alarm", "ALARM")  # notifies the same topic: part of the environment
    boto3.client("cloudwatch").put_metric_alarm(
        AlarmName="unrelated", Namespace="X", MetricName="Y", Statistic="Sum", Period=60, EvaluationPeriods=1,
        Threshold=1, ComparisonOperator="GreaterThanThreshold",
    )  # fmt: skip
    boto3.client("cloudwatch").set_alarm_state(AlarmName="unrelated", StateValue="ALARM", StateReason="test")

    result = health()

    assert result.exit_code == 1
    check = checks_of(result)["alarms"]
    assert check["status"] == "CRITICAL"
    assert check["in_alarm"] == ["cost-reporting-worker-errors-local", "someone-elses-alarm"]


def test_dead_letters_are_critical(clients):
    url = boto3.client("sqs").get_queue_url(QueueName=CONFIG.dead_letter_queue)["QueueUrl"]
    boto3.client("sqs").send_message(QueueUrl=url, MessageBody="{}")

    result = health()

    assert result.exit_code == 1
    assert checks_of(result)[f"dead letters {CONFIG.dead_letter_queue}"]["status"] == "CRITICAL"


FRESHNESS = [  # (schedule, age of the last success, stale?)
    ("daily", timedelta(hours=25), False),
    ("daily", timedelta(hours=27), True),
    ("weekly", timedelta(days=7, hours=23), False),
    ("weekly", timedelta(days=8, hours=1), True),
    ("monthly", timedelta(days=31), False),
    ("monthly", timedelta(days=33), True),
]


def test_stale_clients_follow_their_schedule(platform, demo_records, frozen_clock):
    now = frozen_clock()
    table = ClientsTable(platform.clients_table)
    for number, (schedule, age, _) in enumerate(FRESHNESS):
        client_id = f"client-{number}"
        registered = (now - timedelta(days=90)).isoformat()
        table.put(parse_client(dict(demo_records[0], client_id=client_id, schedule=schedule, created_at=registered)))
        succeeded(client_id, now - age)

    check = checks_of(health())["report freshness"]

    assert check["status"] == "WARNING"
    stale = [f"client-{number}" for number, (_, _, is_stale) in enumerate(FRESHNESS) if is_stale]
    assert [s["client_id"] for s in check["stale"]] == stale


def test_a_new_client_is_not_stale_until_its_schedule_passes(platform, demo_records, frozen_clock):
    now = frozen_clock()
    table = ClientsTable(platform.clients_table)
    table.put(parse_client(dict(demo_records[0], created_at=(now - timedelta(hours=3)).isoformat())))
    table.put(parse_client(dict(demo_records[1], created_at=(now - timedelta(days=3)).isoformat())))

    check = checks_of(health())["report freshness"]

    assert [s["client_id"] for s in check["stale"]] == [demo_records[1]["client_id"]]
    assert check["stale"][0]["last_success"] is None


def test_old_stored_keys_show_in_the_health_check(stored_key_client, frozen_clock):
    frozen_clock(cli.context.clock() + timedelta(days=3650))  # any key is ten years old then

    result = health()

    assert result.exit_code == 1
    assert checks_of(result)["credential ages"]["status"] == "CRITICAL"


def test_comprehensive_adds_resources_and_client_credentials(clients):
    all_reported(clients)
    result = health("--comprehensive")

    checks = checks_of(result)
    assert checks["client credentials"]["status"] == "OK"
    assert checks["point-in-time recovery cost-reporting-clients-local"]["status"] == "OK"
    assert checks["last hour"]["status"] == "OK"
    assert result.exit_code == 0, result.output


def test_post_deployment_adds_resources_and_the_last_hour_but_no_client_credentials(clients):
    all_reported(clients)
    daily = set(checks_of(health()))

    result = health("--post-deployment")

    assert result.exit_code == 0, result.output
    checks = checks_of(result)
    resources = {check.name for check in resource_checks(CONFIG)}
    assert "point-in-time recovery cost-reporting-clients-local" in resources
    assert set(checks) == daily | resources | {"last hour"}
    assert checks["last hour"]["status"] == "OK"
    assert "client credentials" not in checks  # comprehensive only: it obtains every client's credentials


def test_a_freshly_seeded_history_leaves_no_client_stale(clients, frozen_clock):
    frozen_clock(datetime(2026, 11, 27, 9, tzinfo=UTC))  # past today's 06:00 run: 26 h after yesterday's would be 10:00

    seeded = runner.invoke(app, ["local", "seed-history", "--days", "2"])

    assert seeded.exit_code == 0, seeded.output
    assert "Seeded 2 day(s) of local" in seeded.output and "credentials of acme-retail refused" in seeded.output
    runs = {(item["client_id"]["S"], item["run_id"]["S"]) for item in ExecutionsTable(CONFIG.executions_table).items()}
    assert ("acme-retail", "2026-11-27.daily") in runs and ("globex-health", "2026-11-27.daily") in runs
    check = checks_of(health())["report freshness"]
    assert (check["status"], check["stale"]) == ("OK", [])


def test_capacity_counts_todays_seeded_runs_as_a_recorded_day(clients, frozen_clock):
    frozen_clock(datetime(2026, 11, 27, 9, tzinfo=UTC))
    assert runner.invoke(app, ["local", "seed-history", "--days", "2", "--no-incidents"]).exit_code == 0
    runs = sum(1 for _ in ExecutionsTable(CONFIG.executions_table).items())  # 26 and 27 November

    result = runner.invoke(app, ["ops", "capacity", "--format", "json"])

    executions = json.loads(result.stdout)["growth"]["executions"]
    assert executions["scaled"] == [{"month": "2026-11", "recorded_days": 2, "month_days": 30}]
    assert executions["history"][-1] == {"month": "2026-11", "value": f"{runs * 30 / 2:.2f}"}


def test_deploy_validate_finds_a_missing_resource(platform):
    ok = runner.invoke(app, ["deploy", "validate"])
    assert ok.exit_code == 0, ok.output

    boto3.client("dynamodb").delete_table(TableName=CONFIG.executions_table)
    boto3.client("s3").put_bucket_versioning(
        Bucket=CONFIG.assets_bucket, VersioningConfiguration={"Status": "Suspended"}
    )
    broken = runner.invoke(app, ["deploy", "validate", "--format", "json"])

    assert broken.exit_code == 1
    checks = checks_of(broken)
    assert checks[f"table {CONFIG.executions_table}"] == {
        "name": f"table {CONFIG.executions_table}",
        "status": "CRITICAL",
        "detail": "missing",
    }
    assert checks[f"bucket {CONFIG.assets_bucket}"]["status"] == "WARNING"


def test_deploy_validate_finds_a_signer_key_iam_no_longer_has(platform):
    signer = json.loads(
        boto3.client("secretsmanager").get_secret_value(SecretId=CONFIG.link_signer_secret)["SecretString"]
    )
    boto3.client("iam").delete_access_key(UserName=CONFIG.link_signer_user, AccessKeyId=signer["access_key_id"])

    result = runner.invoke(app, ["deploy", "validate", "--format", "json"])

    assert result.exit_code == 1
    check = checks_of(result)["link signer key"]
    assert check["status"] == "CRITICAL" and "IAM does not list the stored key" in check["detail"]
    assert signer["access_key_id"] not in result.stdout and signer["secret_access_key"] not in result.stdout


def test_deploy_validate_of_a_stack_environment_checks_functions_and_alarms(platform):
    from emulator.provision import provision

    provision(for_environment("staging"))  # the data plane only: no functions, alarms, dashboard

    result = runner.invoke(app, ["deploy", "validate", "--environment", "staging", "--format", "json"])

    assert result.exit_code == 1
    checks = checks_of(result)
    assert checks["function cost-reporting-lambda-staging"]["detail"] == "missing"
    assert checks["alarms"]["status"] == "CRITICAL"
    assert checks["table cost-reporting-clients-staging"]["status"] == "OK"


def test_deploy_monitor_prints_a_line_per_poll_and_passes(platform, monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(cli.commands.deploy, "sleep", slept.append)

    result = runner.invoke(app, ["deploy", "monitor", "--duration", "3", "--interval", "60"])

    assert result.exit_code == 0, result.output
    assert slept == [60, 60]
    assert result.output.count("in ALARM ·") == 3 and "No trouble in 3 min." in result.output


def test_deploy_monitor_stops_at_the_first_trouble(platform, monkeypatch):
    url = boto3.client("sqs").get_queue_url(QueueName=CONFIG.dead_letter_queue)["QueueUrl"]
    polls: list[float] = []

    def dead_letter_arrives(seconds: float) -> None:
        polls.append(seconds)
        boto3.client("sqs").send_message(QueueUrl=url, MessageBody="{}")

    monkeypatch.setattr(cli.commands.deploy, "sleep", dead_letter_arrives)

    result = runner.invoke(app, ["deploy", "monitor", "--duration", "10", "--interval", "60"])

    assert result.exit_code == 1
    assert "1 new dead letter(s)" in result.output
    assert len(polls) == 1  # stopped at the second poll, not after ten


def test_deploy_monitor_rejects_a_bad_duration(platform):
    result = runner.invoke(app, ["deploy", "monitor", "--duration", "0"])
    assert result.exit_code == 2 and "--duration" in result.output


def test_security_audit_tells_a_clients_refusal_from_the_platforms_own(clients, frozen_clock):
    """A client's role refusing ("unauthorized") is the client's to fix; the platform's own role
    refused by its table, key or bucket ("access_denied") is the stack's: different fixes."""
    when = frozen_clock() - timedelta(hours=3)
    executions = ExecutionsTable(CONFIG.executions_table)
    for client_id, kind in (("acme-retail", "unauthorized"), ("globex-health", "access_denied")):
        run_id = f"{when.date().isoformat()}.daily"
        executions.start(client_id, run_id, as_of=when.date().isoformat(), kind="scheduled", now=when)
        executions.finish(client_id, run_id, {"status": "failed", "error_kind": kind, "error": "refused"})

    result = runner.invoke(app, ["ops", "security-audit", "--weekly", "--format", "json"])

    assert result.exit_code == 1
    document = json.loads(result.stdout)
    fixes = {f["resource"]: f["fix"] for f in document["findings"] if f["area"] == "access"}
    assert set(fixes) == {"acme-retail", "globex-health"}
    assert fixes["acme-retail"].startswith("python cli/main.py credentials validate --client-id acme-retail")
    assert "deploy validate" in fixes["globex-health"]
    assert {r["client_id"] for r in document["unauthorized"]["refused_runs"]} == {"acme-retail", "globex-health"}
