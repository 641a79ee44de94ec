"""The export worker (docs/data-exports.md "Deployment"): its own function with DuckDB's layer, sized
from the read's measurements, under the worker's role, fed by its own queue and dead-letter queue,
alarmed and on the dashboard; the dispatcher sends it the data_exports clients' runs."""

from __future__ import annotations

import json

import pytest

from infrastructure.config import (
    EXPORT_IN_PROCESS_MB,
    EXPORT_READ_FIXED_MB,
    EXPORT_READ_MB_PER_PARQUET_MB,
    EXPORT_WORKER_BATCH,
    EXPORT_WORKER_MEMORY_MB,
    EXPORT_WORKER_TIMEOUT_S,
    EXPORT_WORKER_TMP_MB,
    MAX_RECEIVES,
    REPLICATED_EXPORTS_PREFIX,
    for_environment,
)
from infrastructure.constructs.fanout import EXPORT_MAX_CONCURRENCY
from lambdas.dal.data_exports import MAX_IN_PROCESS_BYTES
from lambdas.models.export_source import replicated_prefix
from tests.infrastructure.conftest import ENVIRONMENTS, Synthesized
from tests.infrastructure.test_stack import (
    actions_on,
    alarms_by_name,
    as_list,
    bucket,
    logical_id,
    ref,
    role_statements,
)

pytestmark = pytest.mark.infrastructure
LAMBDA_MAX_MEMORY_MB = 10_240


def function(synthesized: Synthesized, environment: str, name: str) -> dict:
    functions = synthesized.resources(environment, "AWS::Lambda::Function")
    return functions[logical_id(synthesized, environment, "AWS::Lambda::Function", FunctionName=name)]["Properties"]


def test_the_sizing_follows_the_reads_measurements_at_the_in_process_threshold():
    assert EXPORT_IN_PROCESS_MB * 1024 * 1024 == MAX_IN_PROCESS_BYTES  # the reader's threshold, stated twice
    peak = EXPORT_READ_FIXED_MB + EXPORT_READ_MB_PER_PARQUET_MB * EXPORT_IN_PROCESS_MB
    assert peak <= EXPORT_WORKER_MEMORY_MB < peak + 1024  # the next GiB up: 6,144 MB
    assert EXPORT_WORKER_MEMORY_MB % 1024 == 0 and EXPORT_WORKER_MEMORY_MB <= LAMBDA_MAX_MEMORY_MB
    assert (EXPORT_WORKER_MEMORY_MB, EXPORT_WORKER_TMP_MB, EXPORT_WORKER_TIMEOUT_S) == (6144, 2048, 300)
    assert EXPORT_WORKER_TMP_MB >= EXPORT_IN_PROCESS_MB  # the Parquet fetched fits /tmp, and DuckDB's spill


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_export_worker_has_duckdbs_layer_its_memory_tmp_and_timeout(synthesized, environment):
    config = for_environment(environment)
    export_worker = function(synthesized, environment, config.export_worker_function)
    worker = function(synthesized, environment, config.worker_function)

    assert export_worker["Handler"] == "lambdas.handlers.export_worker.handler"
    assert export_worker["MemorySize"] == EXPORT_WORKER_MEMORY_MB
    assert export_worker["EphemeralStorage"] == {"Size": EXPORT_WORKER_TMP_MB}
    assert export_worker["Timeout"] == EXPORT_WORKER_TIMEOUT_S
    assert export_worker["Code"] == worker["Code"]  # the same runtime package
    layers = synthesized.resources(environment, "AWS::Lambda::LayerVersion")
    [duckdb] = [name for name, layer in layers.items() if "DuckDB" in layer["Properties"]["Description"]]
    assert ref(duckdb) in export_worker["Layers"] and ref(duckdb) not in worker["Layers"]
    assert set(map(json.dumps, worker["Layers"])) < set(map(json.dumps, export_worker["Layers"]))
    assert "EphemeralStorage" not in worker  # Lambda's default 512 MB: the worker fetches no Parquet
    # The same settings and Powertools service as the worker: its metrics are the platform's. (The X-Ray
    # SDK's Tracer is on in dev's worker alone: EnvironmentConfig.traced_functions.)
    variables, worker_variables = export_worker["Environment"]["Variables"], worker["Environment"]["Variables"]
    assert variables["POWERTOOLS_TRACE_DISABLED"] == "true"
    assert {k: v for k, v in variables.items() if k != "POWERTOOLS_TRACE_DISABLED"} == {
        k: v for k, v in worker_variables.items() if k != "POWERTOOLS_TRACE_DISABLED"
    }


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_export_worker_runs_under_the_workers_role_which_clients_roles_trust(synthesized, environment):
    config = for_environment(environment)
    role = logical_id(synthesized, environment, "AWS::IAM::Role", RoleName=config.worker_role)

    for name in (config.worker_function, config.export_worker_function):
        assert function(synthesized, environment, name)["Role"] == {"Fn::GetAtt": [role, "Arn"]}
    role_names = {
        r["Properties"].get("RoleName") for r in synthesized.resources(environment, "AWS::IAM::Role").values()
    }
    assert not [name for name in role_names if name and "export" in name]  # no second role to trust
    # Its log group is the worker's: the audits find every ACCESS and UNAUTHORIZED line of both workers
    # in /aws/lambda/cost-reporting-lambda, and the one role writes to that group only.
    group = logical_id(
        synthesized, environment, "AWS::Logs::LogGroup", LogGroupName=f"/aws/lambda/{config.worker_function}"
    )
    for name in (config.worker_function, config.export_worker_function):
        assert function(synthesized, environment, name)["LoggingConfig"] == {"LogGroup": ref(group)}
    writes = actions_on(role_statements(synthesized, environment, config.worker_role), "logs:PutLogEvents")
    assert [resource for statement in writes for resource in as_list(statement["Resource"])] == [
        {"Fn::GetAtt": [group, "Arn"]}
    ]


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_export_worker_consumes_its_own_queue_one_run_at_a_time(synthesized, environment):
    config = for_environment(environment)
    export_worker = logical_id(
        synthesized, environment, "AWS::Lambda::Function", FunctionName=config.export_worker_function
    )
    queue = logical_id(synthesized, environment, "AWS::SQS::Queue", QueueName=config.export_jobs_queue)
    dlq = logical_id(synthesized, environment, "AWS::SQS::Queue", QueueName=config.export_dead_letter_queue)

    [mapping] = [
        m["Properties"]
        for m in synthesized.resources(environment, "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == ref(export_worker)
    ]
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [queue, "Arn"]}
    assert mapping["BatchSize"] == EXPORT_WORKER_BATCH == 1
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": EXPORT_MAX_CONCURRENCY}
    properties = synthesized.resources(environment, "AWS::SQS::Queue")[queue]["Properties"]
    assert properties["VisibilityTimeout"] == 6 * EXPORT_WORKER_TIMEOUT_S
    assert properties["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]},
        "maxReceiveCount": MAX_RECEIVES,
    }
    # Every function finds the export queue in its settings (the dispatcher sends there).
    for name in (config.dispatcher_function, config.worker_function, config.export_worker_function):
        variables = function(synthesized, environment, name)["Environment"]["Variables"]
        assert variables["EXPORT_JOBS_QUEUE_URL"] == ref(queue)
    outputs = synthesized.templates[environment]["Outputs"]
    assert outputs["ExportJobsQueueUrl"]["Value"] == ref(queue)


def test_the_dispatcher_sends_to_both_queues_and_nothing_else(synthesized):
    config = for_environment("prod")
    sends = actions_on(role_statements(synthesized, "prod", f"{config.dispatcher_function}-role"), "sqs:SendMessage")
    # Both jobs queues, and the events dead-letter queue Lambda itself sends the dispatcher's failed events to.
    queues = {
        logical_id(synthesized, "prod", "AWS::SQS::Queue", QueueName=name)
        for name in (config.jobs_queue, config.export_jobs_queue, config.events_dead_letter_queue)
    }
    assert all(as_list(send["Action"]) == ["sqs:SendMessage"] for send in sends)
    assert {resource["Fn::GetAtt"][0] for send in sends for resource in as_list(send["Resource"])} == queues


def test_the_workers_role_reads_replicated_exports_under_their_prefix_only(synthesized):
    config = for_environment("prod")
    # The prefix the role may read is the one under which the runtime places every client's own copy.
    assert f"{replicated_prefix('x').rsplit('/', 1)[0]}/" == REPLICATED_EXPORTS_PREFIX
    found = role_statements(synthesized, "prod", config.worker_role)
    assets = bucket(synthesized, "prod", config.assets_bucket)
    exports = {"Fn::Join": ["", [{"Fn::GetAtt": [assets, "Arn"]}, f"/{REPLICATED_EXPORTS_PREFIX}*"]]}

    on_exports = [s for s in found if exports in as_list(s["Resource"])]
    assert on_exports == [{"Action": "s3:GetObject", "Effect": "Allow", "Resource": exports}]
    listing = [s for s in actions_on(found, "s3:ListBucket") if "exports/*" in json.dumps(s["Condition"])]
    assert listing == [
        {
            "Action": "s3:ListBucket",
            "Condition": {"StringLike": {"s3:prefix": [f"{REPLICATED_EXPORTS_PREFIX}*"]}},
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [assets, "Arn"]},
        }
    ]
    # No Athena or Glue: the Athena path past the in-process threshold is not deployed (docs/data-exports.md).
    granted = {action for statement in found for action in as_list(statement["Action"])}
    assert not [action for action in granted if action.startswith(("athena:", "glue:"))]


def test_the_export_worker_and_its_queue_are_alarmed_and_on_the_dashboard(synthesized):
    config = for_environment("prod")
    alarms = alarms_by_name(synthesized)
    for name in (
        "ExportWorker-Fault-Count-Critical",
        "ExportWorker-Throttled-Count-Critical",
        "ExportWorker-Latency-Maximum-Critical",
        "ExportJobs-DLQ-Queue-Message-Count-Max-Critical",
    ):
        assert f"CostReporting-prod-{name}" in alarms, name
    latency = alarms["CostReporting-prod-ExportWorker-Latency-Maximum-Critical"]
    assert latency["Threshold"] == 0.8 * EXPORT_WORKER_TIMEOUT_S * 1000
    dlq = logical_id(synthesized, "prod", "AWS::SQS::Queue", QueueName=config.export_dead_letter_queue)
    dlq_alarm = alarms["CostReporting-prod-ExportJobs-DLQ-Queue-Message-Count-Max-Critical"]
    assert dlq in json.dumps(dlq_alarm)
    body = json.dumps(synthesized.only("prod", "AWS::CloudWatch::Dashboard")["Properties"]["DashboardBody"])
    assert f"Export worker ({config.export_worker_function})" in body
    assert "Export jobs queue" in body
