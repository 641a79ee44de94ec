"""`ops security-audit` and `ops capacity` on a deployed-like environment (`dev` in moto): roles
with statements, a worker function with its configuration, alarms and Lambda metrics, as the
stack and Lambda would leave them; here the thresholds and findings must fire."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from typer.testing import CliRunner

from cli.main import app
from emulator.provision import provision
from infrastructure.config import for_environment
from lambdas.dal.executions_table import ExecutionsTable

runner = CliRunner()
DEV = for_environment("dev")
NOW = datetime(2026, 11, 27, 9, tzinfo=UTC)
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def policy(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


@pytest.fixture
def deployed(platform, frozen_clock):
    """`dev` provisioned, plus what only the stack and Lambda create: roles, the worker function,
    one alarm, invocation metrics."""
    frozen_clock(NOW)
    provision(DEV)
    iam = boto3.client("iam")
    roles = {}
    for name in (DEV.worker_role, f"{DEV.dispatcher_function}-role", f"{DEV.feedback_function}-role"):
        roles[name] = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    xray = {"Effect": "Allow", "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "Resource": "*"}
    iam.put_role_policy(
        RoleName=DEV.worker_role,
        PolicyName="WorkerRoleDefaultPolicy",
        PolicyDocument=policy(xray, {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}),
    )
    broad = iam.create_policy(PolicyName="Broad", PolicyDocument=policy(xray))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=f"{DEV.dispatcher_function}-role", PolicyArn=broad)
    iam.put_role_policy(
        RoleName=f"{DEV.feedback_function}-role",
        PolicyName="FeedbackRoleDefaultPolicy",
        PolicyDocument=policy(
            {"Effect": "Allow", "Action": "dynamodb:UpdateItem", "Resource": "arn:aws:dynamodb:::table/x"}
        ),
    )
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return None\n")
    boto3.client("lambda").create_function(
        FunctionName=DEV.worker_function,
        Runtime="python3.12",
        Role=roles[DEV.worker_role],
        Handler="handler.handler",
        Code={"ZipFile": code.getvalue()},
        MemorySize=128,
        Timeout=600,
    )
    topic = boto3.client("sns").create_topic(Name=DEV.alerts_topic)["TopicArn"]
    cloudwatch = boto3.client("cloudwatch")
    worker = [{"Name": "FunctionName", "Value": DEV.worker_function}]
    cloudwatch.put_metric_alarm(
        AlarmName="CostReporting-dev-Worker-Fault-Count", Namespace="AWS/Lambda", MetricName="Errors",
        Dimensions=worker, Statistic="Sum", Period=300, EvaluationPeriods=1, Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold", AlarmActions=[topic],
    )  # fmt: skip
    at = NOW - timedelta(days=2)
    cloudwatch.put_metric_data(
        Namespace="AWS/Lambda",
        MetricData=[
            {"MetricName": "Duration", "Dimensions": worker, "Timestamp": at, "Value": 500_000, "Unit": "Milliseconds"},
            {"MetricName": "Throttles", "Dimensions": worker, "Timestamp": at, "Value": 2, "Unit": "Count"},
        ],
    )
    executions = ExecutionsTable(DEV.executions_table)
    for day in range(20, 27):
        started = datetime(2026, 11, day, 6, tzinfo=UTC)
        run_id = f"2026-11-{day}.daily"
        executions.start("acme", run_id, as_of=started.date().isoformat(), kind="scheduled", now=started)
        executions.finish(
            "acme",
            run_id,
            {"status": "succeeded", "finished_at": started.isoformat(), "duration_ms": 400, "max_memory_mb": 120},
        )
    return DEV


def test_a_comprehensive_audit_of_a_deployment_reads_iam_alarms_and_encryption(deployed, tmp_path):
    output = tmp_path / "security.json"

    result = runner.invoke(app, ["ops", "security-audit", "--comprehensive", "-e", "dev", "--output", str(output)])

    assert result.exit_code == 1, result.output
    document = json.loads(output.read_text())
    findings = {(f["severity"], f["resource"], f["finding"]) for f in document["findings"]}
    worker_role = DEV.worker_role
    assert ("HIGH", worker_role, "wildcard action(s) s3:* in WorkerRoleDefaultPolicy") in findings
    assert ("MEDIUM", worker_role, 'Resource "*" for s3:* in WorkerRoleDefaultPolicy') in findings
    # X-Ray's actions take no resource: their "*" is not a finding
    assert not any("xray" in f[2] for f in findings)
    dispatcher_role = f"{DEV.dispatcher_function}-role"
    assert ("MEDIUM", dispatcher_role, "managed policy arn:aws:iam::123456789012:policy/Broad attached") in findings
    assert not any(f[1] == f"{DEV.feedback_function}-role" for f in findings)
    coverage = {entry["alarm"]: entry["covered_by"] for entry in document["alarm_coverage"]}
    assert coverage["worker errors"] == ["CostReporting-dev-Worker-Fault-Count"]
    monitoring = [f for f in document["findings"] if f["area"] == "monitoring"]
    missing_alarms = {f["resource"] for f in monitoring if f["severity"] == "HIGH"}
    assert missing_alarms == {"worker throttles", "worker duration", "dispatcher errors", "feedback errors",
                              "jobs dead letters"}  # fmt: skip
    bucket = [f for f in document["findings"] if f["area"] == "storage" and f["resource"].startswith(DEV.assets_bucket)]
    assert {f["severity"] for f in bucket} == {"HIGH", "MEDIUM"}  # no KMS default encryption, no TLS-only policy
    assert ("HIGH", DEV.kms_alias) in {(f["severity"], f["resource"]) for f in document["findings"]}
    statements = document["iam_roles"][worker_role]["value"][0]["statements"]
    assert statements[1] == {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}


def test_capacity_flags_memory_duration_and_throttling_and_says_what_to_change(deployed, tmp_path):
    output = tmp_path / "capacity.json"

    result = runner.invoke(app, ["ops", "capacity", "--forecast-months", "3", "-e", "dev", "--output", str(output)])

    assert result.exit_code == 1, result.output
    document = json.loads(output.read_text())
    checks = {c["check"]: c for c in document["checks"]}
    assert (checks["worker memory"]["used"], checks["worker memory"]["limit"]) == (120, 128)
    assert checks["worker memory"]["status"] == "WARNING"
    assert checks["worker duration"]["used"] == 500000 and checks["worker duration"]["limit"] == 600000
    assert checks["worker duration"]["status"] == "WARNING"  # above 80% of the timeout
    assert (checks["worker throttling"]["status"], checks["worker throttling"]["used"]) == ("WARNING", 2)
    assert document["worker"] == {
        "name": DEV.worker_function, "memory_mb": 128, "timeout_s": 600, "max_concurrency": None,
        "source": "Lambda GetFunctionConfiguration",
    }  # fmt: skip
    advice = " ".join(document["recommendations"])
    assert "from 128 MB to 256 MB" in advice and "timeout" in advice and "throttled" in advice


def test_seed_history_writes_only_the_local_environment(platform, demo_records, frozen_clock, capsys):
    from cli.main import main
    from lambdas.dal.clients_table import ClientsTable
    from lambdas.models.client import parse_client

    frozen_clock(NOW)
    table = ClientsTable(platform.clients_table)
    for record in demo_records[:2]:  # the two daily clients
        table.put(parse_client(record))

    assert main(["local", "seed-history", "--days", "1", "-e", "dev"]) == 2
    assert "only the local environment" in capsys.readouterr().err
    seeded = runner.invoke(app, ["local", "seed-history", "--days", "1", "--as-of", "2026-11-27", "--no-incidents"])

    assert seeded.exit_code == 0, seeded.output
    assert "Seeded 1 day(s) of local: 2 run(s), 0 failed" in seeded.output
    runs = ExecutionsTable(platform.executions_table).items()
    assert sorted((item["client_id"]["S"], item["run_id"]["S"]) for item in runs) == [
        ("acme-retail", "2026-11-26.daily"),
        ("globex-health", "2026-11-26.daily"),
    ]
