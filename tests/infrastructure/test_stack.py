"""What the synthesized templates must say: DESIGN.md's names, encryption and TLS everywhere,
the schedules, the fan-out, the alarms and the exact IAM permissions."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infrastructure.config import MAX_RECEIVES, TABLES, WORKER_BATCH, for_environment
from infrastructure.constructs.fanout import MAX_CONCURRENCY
from infrastructure.constructs.functions import EXPORT_WORKER, WORKER
from infrastructure.stack import DEPLOYABLE, environments_from_context
from lambdas.models.settings import Settings
from tests.infrastructure.conftest import ALERT_EMAIL, ENVIRONMENTS, Synthesized

pytestmark = pytest.mark.infrastructure


def ref(logical_id: str) -> dict[str, str]:
    return {"Ref": logical_id}


def logical_id(synthesized: Synthesized, environment: str, resource_type: str, **properties: Any) -> str:
    [name] = [
        name
        for name, resource in synthesized.resources(environment, resource_type).items()
        if all(resource["Properties"].get(key) == value for key, value in properties.items())
    ]
    return name


def project_key(synthesized: Synthesized, environment: str) -> str:
    """The customer-managed encryption key (the other key is the backup manifests' HMAC key)."""
    [key] = [
        name
        for name, key in synthesized.resources(environment, "AWS::KMS::Key").items()
        if "KeySpec" not in key["Properties"]
    ]
    return key


def key_arn(synthesized: Synthesized, environment: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [project_key(synthesized, environment), "Arn"]}


def bucket(synthesized: Synthesized, environment: str, base: str) -> str:
    """The logical id of the bucket whose name starts with `base` (names carry account and region)."""
    [name] = [
        name
        for name, resource in synthesized.resources(environment, "AWS::S3::Bucket").items()
        if resource["Properties"]["BucketName"]["Fn::Join"][1][0] == f"{base}-"
    ]
    return name


def statements(policy_document: dict[str, Any]) -> list[dict[str, Any]]:
    return list(policy_document["Statement"])


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def role_statements(synthesized: Synthesized, environment: str, role_name: str) -> list[dict[str, Any]]:
    role = logical_id(synthesized, environment, "AWS::IAM::Role", RoleName=role_name)
    found = []
    for policy in synthesized.resources(environment, "AWS::IAM::Policy").values():
        if ref(role) in policy["Properties"].get("Roles", []):
            found.extend(statements(policy["Properties"]["PolicyDocument"]))
    return found


def actions_on(found: list[dict[str, Any]], action: str) -> list[dict[str, Any]]:
    return [s for s in found if action in as_list(s["Action"])]


# --- environments and names -------------------------------------------------------------------


def test_every_environment_synthesizes_one_stack(synthesized):
    assert sorted(synthesized.templates) == sorted(ENVIRONMENTS) == sorted(DEPLOYABLE)
    for environment in ENVIRONMENTS:
        assert len(synthesized.templates[environment]["Resources"]) > 50


def test_no_context_lookup_means_no_aws_call_at_synth(synthesized):
    manifest = json.loads((synthesized.outdir / "manifest.json").read_text())

    assert "missing" not in manifest  # a lookup would be listed here for the CLI to resolve


@pytest.mark.parametrize(
    ("requested", "expected"),
    [(None, DEPLOYABLE), ("", DEPLOYABLE), ("all", DEPLOYABLE), ("prod", ("prod",)), ("dev", ("dev",))],
)
def test_context_selects_the_environments(requested, expected):
    assert environments_from_context(requested) == expected


@pytest.mark.parametrize("requested", ["local", "production", "PROD"])
def test_an_unknown_environment_is_one_clear_line(requested):
    with pytest.raises(SystemExit, match=r"environment: must be one of prod, staging, dev or all"):
        environments_from_context(requested)


def test_production_names_are_the_runbooks(synthesized):
    """DESIGN.md's table, literally: the runbook's commands use these names."""
    template = synthesized.assertions("prod")
    template.has_resource_properties("AWS::Lambda::Function", {"FunctionName": "cost-reporting-lambda"})
    template.has_resource_properties("AWS::Logs::LogGroup", {"LogGroupName": "/aws/lambda/cost-reporting-lambda"})
    template.has_resource_properties("AWS::IAM::Role", {"RoleName": "cost-reporting-lambda-role"})
    template.has_resource_properties("AWS::DynamoDB::Table", {"TableName": "cost-reporting-clients"})
    template.has_resource_properties("AWS::SNS::Topic", {"TopicName": "cost-reporting-alerts"})
    template.has_resource_properties("AWS::CloudWatch::Dashboard", {"DashboardName": "Cost-Reporting-System"})
    bucket_names = [b["Properties"]["BucketName"] for b in synthesized.resources("prod", "AWS::S3::Bucket").values()]
    # The base name plus account and region, which config.bucket_matches accepts.
    assert {
        "Fn::Join": ["", ["cost-reporting-assets-", ref("AWS::AccountId"), "-", ref("AWS::Region")]]
    } in bucket_names


@pytest.mark.parametrize("environment", ["staging", "dev"])
def test_other_environments_carry_their_suffix(synthesized, environment):
    config = for_environment(environment)
    names = {
        ("AWS::Lambda::Function", "FunctionName"): {
            config.worker_function,
            config.export_worker_function,
            config.dispatcher_function,
            config.feedback_function,
        },
        ("AWS::SNS::Topic", "TopicName"): {config.alerts_topic, config.feedback_topic},
        ("AWS::SQS::Queue", "QueueName"): {
            config.jobs_queue,
            config.dead_letter_queue,
            config.export_jobs_queue,
            config.export_dead_letter_queue,
            config.events_dead_letter_queue,
        },
        ("AWS::CloudWatch::Dashboard", "DashboardName"): {config.dashboard},
    }
    for (resource_type, key), expected in names.items():
        found = {r["Properties"][key] for r in synthesized.resources(environment, resource_type).values()}
        assert found == expected
        assert all(name.endswith(f"-{environment}") for name in found)


# --- storage ----------------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_table_of_the_config_is_built_as_specified(synthesized, environment):
    config = for_environment(environment)
    tables = {
        r["Properties"]["TableName"]: r for r in synthesized.resources(environment, "AWS::DynamoDB::Table").values()
    }
    assert set(tables) == {getattr(config, attribute) for attribute in TABLES}
    for attribute, spec in TABLES.items():
        table = tables[getattr(config, attribute)]
        properties = table["Properties"]
        keys = [{"AttributeName": spec.partition_key, "KeyType": "HASH"}]
        if spec.sort_key:
            keys.append({"AttributeName": spec.sort_key, "KeyType": "RANGE"})
        assert properties["KeySchema"] == keys
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["SSESpecification"]["SSEEnabled"] is True
        assert properties["SSESpecification"]["SSEType"] == "KMS"
        assert properties["SSESpecification"]["KMSMasterKeyId"] == key_arn(synthesized, environment)
        assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        assert properties.get("DeletionProtectionEnabled", False) is (environment == "prod")
        assert table["DeletionPolicy"] == ("Delete" if environment == "dev" else "Retain")
        if spec.ttl_attribute:
            assert properties["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
        else:
            assert "TimeToLiveSpecification" not in properties
        indexes = {index["IndexName"]: index for index in properties.get("GlobalSecondaryIndexes", [])}
        assert set(indexes) == {index.name for index in spec.indexes}
        for index in spec.indexes:
            assert indexes[index.name]["KeySchema"] == [{"AttributeName": index.partition_key, "KeyType": "HASH"}]
            assert indexes[index.name]["Projection"]["ProjectionType"] == (
                "INCLUDE" if index.projection else "KEYS_ONLY"
            )


def test_the_dispatchers_query_has_its_index(synthesized):
    clients = synthesized.resources("prod", "AWS::DynamoDB::Table")[
        logical_id(synthesized, "prod", "AWS::DynamoDB::Table", TableName="cost-reporting-clients")
    ]
    [index] = clients["Properties"]["GlobalSecondaryIndexes"]
    assert index["IndexName"] == "by-schedule"
    assert index["KeySchema"] == [{"AttributeName": "due_schedule", "KeyType": "HASH"}]


def test_assets_bucket_is_private_versioned_logged_and_ages_reports(synthesized):
    buckets = synthesized.resources("prod", "AWS::S3::Bucket")
    assets_name, logs_bucket = (
        bucket(synthesized, "prod", "cost-reporting-assets"),
        bucket(synthesized, "prod", "cost-reporting-access-logs"),
    )
    assets = buckets[assets_name]["Properties"]

    [encryption] = assets["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "aws:kms",
        "KMSMasterKeyID": key_arn(synthesized, "prod"),
    }
    assert assets["VersioningConfiguration"] == {"Status": "Enabled"}
    assert assets["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
    )
    assert assets["LoggingConfiguration"] == {"DestinationBucketName": ref(logs_bucket), "LogFilePrefix": "assets/"}
    rules = {rule["Id"]: rule for rule in assets["LifecycleConfiguration"]["Rules"]}
    reports = rules["OldReportsToCheaperStorage"]
    assert reports["Prefix"] == "reports/"
    assert [(t["StorageClass"], t["TransitionInDays"]) for t in reports["Transitions"]] == [
        ("STANDARD_IA", 90),
        ("GLACIER_IR", 365),
    ]
    assert rules["ExpireNoncurrentVersions"]["NoncurrentVersionExpiration"] == {"NoncurrentDays": 30}
    assert rules["ExpireNoncurrentVersions"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}


# --- encryption and TLS everywhere ------------------------------------------------------------


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_bucket_queue_topic_and_table_is_encrypted(synthesized, environment):
    key = key_arn(synthesized, environment)
    for queue in synthesized.resources(environment, "AWS::SQS::Queue").values():
        assert queue["Properties"]["KmsMasterKeyId"] == key
    for topic in synthesized.resources(environment, "AWS::SNS::Topic").values():
        assert topic["Properties"]["KmsMasterKeyId"] == key
    for table in synthesized.resources(environment, "AWS::DynamoDB::Table").values():
        assert table["Properties"]["SSESpecification"]["KMSMasterKeyId"] == key
    algorithms = [
        bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0][
            "ServerSideEncryptionByDefault"
        ]["SSEAlgorithm"]
        for bucket in synthesized.resources(environment, "AWS::S3::Bucket").values()
    ]
    # The access log bucket: S3 server access logging delivers only to SSE-S3 buckets.
    assert sorted(algorithms) == ["AES256", "aws:kms", "aws:kms"]  # + assets and audit
    for secret in synthesized.resources(environment, "AWS::SecretsManager::Secret").values():
        assert secret["Properties"]["KmsKeyId"] == key
    key_resource = synthesized.resources(environment, "AWS::KMS::Key")[project_key(synthesized, environment)]
    assert key_resource["Properties"]["EnableKeyRotation"] is True


@pytest.mark.parametrize(
    ("policy_type", "target_key"),
    [
        ("AWS::S3::BucketPolicy", "Bucket"),
        ("AWS::SQS::QueuePolicy", "Queues"),
        ("AWS::SNS::TopicPolicy", "Topics"),
    ],
)
def test_every_bucket_queue_and_topic_refuses_plain_http(synthesized, policy_type, target_key):
    resource_type = {"Bucket": "AWS::S3::Bucket", "Queues": "AWS::SQS::Queue", "Topics": "AWS::SNS::Topic"}[target_key]
    protected = set()
    for policy in synthesized.resources("prod", policy_type).values():
        denies = [
            s
            for s in statements(policy["Properties"]["PolicyDocument"])
            if s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        ]
        if denies:
            protected.update(target["Ref"] for target in as_list(policy["Properties"][target_key]))
    assert protected == set(synthesized.resources("prod", resource_type))


def test_services_may_use_the_key_only_for_this_account_and_source(synthesized):
    key = synthesized.resources("prod", "AWS::KMS::Key")[project_key(synthesized, "prod")]
    services = {
        s["Principal"]["Service"]: s for s in statements(key["Properties"]["KeyPolicy"]) if "Service" in s["Principal"]
    }
    assert set(services) == {"ses.amazonaws.com", "cloudwatch.amazonaws.com"}
    for statement in services.values():
        assert statement["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": ref("AWS::AccountId")}
        assert "aws:SourceArn" in statement["Condition"]["ArnLike"]


# --- fan-out and schedules ----------------------------------------------------------------------


def test_worker_consumes_the_jobs_queue_with_partial_batch_failures_and_bounded_concurrency(synthesized):
    template = synthesized.assertions("prod")
    worker = logical_id(synthesized, "prod", "AWS::Lambda::Function", FunctionName="cost-reporting-lambda")
    jobs = logical_id(synthesized, "prod", "AWS::SQS::Queue", QueueName="cost-reporting-jobs")
    dlq = logical_id(synthesized, "prod", "AWS::SQS::Queue", QueueName="cost-reporting-jobs-dlq")

    template.has_resource_properties(
        "AWS::Lambda::EventSourceMapping",
        {
            "FunctionName": ref(worker),
            "EventSourceArn": {"Fn::GetAtt": [jobs, "Arn"]},
            "FunctionResponseTypes": ["ReportBatchItemFailures"],
            "ScalingConfig": {"MaximumConcurrency": MAX_CONCURRENCY},
            "BatchSize": WORKER_BATCH,
        },
    )
    queue = synthesized.resources("prod", "AWS::SQS::Queue")[jobs]["Properties"]
    assert queue["VisibilityTimeout"] == 6 * WORKER.timeout.to_seconds()
    assert queue["RedrivePolicy"] == {"deadLetterTargetArn": {"Fn::GetAtt": [dlq, "Arn"]}, "maxReceiveCount": 5}
    assert MAX_RECEIVES == 5
    assert 2 <= MAX_CONCURRENCY <= 10  # ESM minimum; and Cost Explorer's rate per payer


def test_schedules_fire_the_dispatcher_saying_which_schedule_fired(synthesized):
    dispatcher = logical_id(synthesized, "prod", "AWS::Lambda::Function", FunctionName="cost-reporting-dispatcher")
    events_dlq = logical_id(synthesized, "prod", "AWS::SQS::Queue", QueueName="cost-reporting-events-dlq")
    schedules = {
        json.loads(s["Properties"]["Target"]["Input"])["schedule"]: s["Properties"]
        for s in synthesized.resources("prod", "AWS::Scheduler::Schedule").values()
    }

    assert {name: s["ScheduleExpression"] for name, s in schedules.items()} == {
        "daily": "cron(0 6 * * ? *)",
        "weekly": "cron(0 6 ? * MON *)",
        "monthly": "cron(0 6 1 * ? *)",
        "month-close": "cron(0 6 5-10 * ? *)",
    }
    for schedule in schedules.values():
        assert schedule["ScheduleExpressionTimezone"] == "Etc/UTC"
        assert schedule["State"] == "ENABLED"
        assert schedule["Target"]["Arn"] == {"Fn::GetAtt": [dispatcher, "Arn"]}
        assert schedule["Target"]["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": [events_dlq, "Arn"]}}


def test_the_schedule_inputs_are_what_the_dispatcher_parses(synthesized):
    from lambdas.models.events import DispatchEvent

    for schedule in synthesized.resources("prod", "AWS::Scheduler::Schedule").values():
        DispatchEvent.model_validate_json(schedule["Properties"]["Target"]["Input"])


def test_failed_asynchronous_events_are_kept(synthesized):
    events_dlq = logical_id(synthesized, "prod", "AWS::SQS::Queue", QueueName="cost-reporting-events-dlq")
    for name in ("cost-reporting-dispatcher", "cost-reporting-feedback"):
        function = synthesized.resources("prod", "AWS::Lambda::Function")[
            logical_id(synthesized, "prod", "AWS::Lambda::Function", FunctionName=name)
        ]
        assert function["Properties"]["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [events_dlq, "Arn"]}}


# --- functions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_functions_run_the_lambdas_package_with_settings_tracing_and_their_own_log_group(synthesized, environment):
    config = for_environment(environment)
    handlers = {
        config.worker_function: "lambdas.handlers.worker.handler",
        config.export_worker_function: "lambdas.handlers.export_worker.handler",
        config.dispatcher_function: "lambdas.handlers.dispatcher.handler",
        config.feedback_function: "lambdas.handlers.feedback.handler",
    }
    required = {field.validation_alias for field in Settings.model_fields.values() if field.is_required()} | {
        attribute.upper() for attribute in TABLES
    }
    log_groups = {
        r["Properties"]["LogGroupName"]: r["Properties"]
        for r in synthesized.resources(environment, "AWS::Logs::LogGroup").values()
    }
    functions = synthesized.resources(environment, "AWS::Lambda::Function")
    assert {f["Properties"]["FunctionName"] for f in functions.values()} == set(handlers)
    layers = synthesized.resources(environment, "AWS::Lambda::LayerVersion")
    [shared_layer] = [n for n, layer in layers.items() if layer["Properties"]["Description"].startswith("Powertools")]
    [duckdb_layer] = [n for n, layer in layers.items() if layer["Properties"]["Description"].startswith("DuckDB")]
    assert set(layers) == {shared_layer, duckdb_layer}
    for function in functions.values():
        properties = function["Properties"]
        name = properties["FunctionName"]
        assert properties["Handler"] == handlers[name]
        assert properties["Runtime"] == "python3.12"
        assert properties["Architectures"] == ["x86_64"]
        assert properties["TracingConfig"] == {"Mode": "Active"}
        # The shared layer everywhere; DuckDB's only where the data_exports clients run.
        expected_layers = {shared_layer} | ({duckdb_layer} if name == config.export_worker_function else set())
        assert {layer["Ref"] for layer in properties["Layers"]} == expected_layers
        assert len(properties["Layers"]) == len(expected_layers)
        variables = properties["Environment"]["Variables"]
        assert required <= set(variables)
        assert variables["PLATFORM_ENVIRONMENT"] == environment
        assert variables["CLIENTS_TABLE"] == config.clients_table
        assert variables["SUPPRESSIONS_TABLE"] == config.suppressions_table
        assert variables["SES_CONFIGURATION_SET"] == config.configuration_set
        assert variables["LINK_SIGNER_SECRET"] == config.link_signer_secret
        assert variables["POWERTOOLS_SERVICE_NAME"] == config.service_name
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "CostReporting"
        assert variables["POWERTOOLS_LOG_LEVEL"] == ("DEBUG" if environment == "dev" else "INFO")
        # The X-Ray SDK's Tracer (botocore only) in dev's worker alone; Lambda's active tracing everywhere.
        traced = environment == "dev" and name == config.worker_function
        assert variables["POWERTOOLS_TRACE_DISABLED"] == ("false" if traced else "true")
        group = synthesized.resources(environment, "AWS::Logs::LogGroup")[
            properties["LoggingConfig"]["LogGroup"]["Ref"]
        ]
        # Each function its own log group, but the export worker, which writes to the worker's: the one
        # group the audits search for ACCESS and UNAUTHORIZED lines (DESIGN.md's names).
        writes_to = config.worker_function if name == config.export_worker_function else name
        assert group["Properties"]["LogGroupName"] == f"/aws/lambda/{writes_to}"
    assert set(log_groups) == {f"/aws/lambda/{name}" for name in handlers if name != config.export_worker_function}
    retention = {"prod": 400, "staging": 30, "dev": 7}[environment]
    assert {group["RetentionInDays"] for group in log_groups.values()} == {retention}


def test_worker_sizing_is_the_measured_choice(synthesized):
    worker = synthesized.resources("prod", "AWS::Lambda::Function")[
        logical_id(synthesized, "prod", "AWS::Lambda::Function", FunctionName="cost-reporting-lambda")
    ]["Properties"]
    assert (worker["MemorySize"], worker["Timeout"]) == (512, 600)


# --- notifications ----------------------------------------------------------------------------


def test_ses_bounces_and_complaints_reach_the_feedback_handler(synthesized):
    template = synthesized.assertions("prod")
    feedback_topic = logical_id(synthesized, "prod", "AWS::SNS::Topic", TopicName="cost-reporting-ses-feedback")
    feedback = logical_id(synthesized, "prod", "AWS::Lambda::Function", FunctionName="cost-reporting-feedback")
    config_set = synthesized.only("prod", "AWS::SES::ConfigurationSet")["Properties"]

    assert config_set["Name"] == "cost-reporting-email"
    assert config_set["ReputationOptions"] == {"ReputationMetricsEnabled": True}
    assert config_set["DeliveryOptions"] == {"TlsPolicy": "REQUIRE"}
    destination = synthesized.only("prod", "AWS::SES::ConfigurationSetEventDestination")["Properties"]
    assert destination["EventDestination"]["MatchingEventTypes"] == ["bounce", "complaint"]
    assert destination["EventDestination"]["SnsDestination"] == {"TopicARN": ref(feedback_topic)}
    template.has_resource_properties(
        "AWS::SNS::Subscription",
        {"Protocol": "lambda", "TopicArn": ref(feedback_topic), "Endpoint": {"Fn::GetAtt": [feedback, "Arn"]}},
    )
    identity = synthesized.only("prod", "AWS::SES::EmailIdentity")["Properties"]
    assert identity["EmailIdentity"] == "prod.example.com"
    assert identity["ConfigurationSetAttributes"] == {"ConfigurationSetName": ref(synthesized_config_set(synthesized))}


def synthesized_config_set(synthesized: Synthesized) -> str:
    [name] = synthesized.resources("prod", "AWS::SES::ConfigurationSet")
    return name


def test_alerts_go_to_the_email_given_in_the_context(synthesized):
    alerts = logical_id(synthesized, "prod", "AWS::SNS::Topic", TopicName="cost-reporting-alerts")
    synthesized.assertions("prod").has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "TopicArn": ref(alerts), "Endpoint": ALERT_EMAIL}
    )


# --- monitoring ---------------------------------------------------------------------------------


def alarms_by_name(synthesized: Synthesized, environment: str = "prod") -> dict[str, dict[str, Any]]:
    return {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in synthesized.resources(environment, "AWS::CloudWatch::Alarm").values()
    }


def test_alarms_have_the_issues_thresholds(synthesized):
    alarms = alarms_by_name(synthesized)
    prefix = "CostReporting-prod-"
    expected = {
        "Worker-Fault-Count-Critical": ("GreaterThanThreshold", 0),
        "Worker-Throttled-Count-Critical": ("GreaterThanThreshold", 0),
        "Worker-Latency-Maximum-Critical": ("GreaterThanThreshold", 0.8 * WORKER.timeout.to_milliseconds()),
        "ExportWorker-Fault-Count-Critical": ("GreaterThanThreshold", 0),
        "ExportWorker-Throttled-Count-Critical": ("GreaterThanThreshold", 0),
        "ExportWorker-Latency-Maximum-Critical": (
            "GreaterThanThreshold",
            0.8 * EXPORT_WORKER.timeout.to_milliseconds(),
        ),
        "ExportJobs-DLQ-Queue-Message-Count-Max-Critical": ("GreaterThanThreshold", 0),
        "Dispatcher-Fault-Count-Critical": ("GreaterThanThreshold", 0),
        "Feedback-Fault-Count-Critical": ("GreaterThanThreshold", 0),
        "Jobs-DLQ-Queue-Message-Count-Max-Critical": ("GreaterThanThreshold", 0),
        "FailedEvents-Queue-Message-Count-Max-Critical": ("GreaterThanThreshold", 0),
        "Ses-BounceRate-Critical": ("GreaterThanThreshold", 0.05),
        "Ses-ComplaintRate-Critical": ("GreaterThanThreshold", 0.001),
        "Reports-NoReportSent-Critical": ("LessThanThreshold", 1),
        "Reports-LinkSignerUnavailable-Critical": ("GreaterThanThreshold", 0),
        "Reports-ReportsIncomplete-Warning": ("GreaterThanThreshold", 0),
    }
    assert {name.removeprefix(prefix) for name in alarms} == set(expected)
    for name, (operator, threshold) in expected.items():
        alarm = alarms[prefix + name]
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == (operator, threshold), name


def test_no_report_alarm_looks_back_26_hours_and_counts_silence_as_breaching(synthesized):
    alarm = alarms_by_name(synthesized)["CostReporting-prod-Reports-NoReportSent-Critical"]
    [metric] = alarm["Metrics"]

    assert metric["MetricStat"]["Metric"] == {
        "Dimensions": [{"Name": "service", "Value": "cost-reporting"}],
        "MetricName": "ReportsSent",
        "Namespace": "CostReporting",
    }
    assert metric["MetricStat"]["Period"] * alarm["EvaluationPeriods"] == 26 * 3600
    assert alarm["DatapointsToAlarm"] == alarm["EvaluationPeriods"]
    assert alarm["TreatMissingData"] == "breaching"


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_every_alarm_notifies_the_alert_topic(synthesized, environment):
    alerts = logical_id(
        synthesized, environment, "AWS::SNS::Topic", TopicName=for_environment(environment).alerts_topic
    )
    for name, alarm in alarms_by_name(synthesized, environment).items():
        assert alarm["AlarmActions"] == [ref(alerts)], name
        assert alarm["ActionsEnabled"] is True


def test_dashboard_shows_what_the_issue_lists(synthesized):
    body = json.dumps(synthesized.only("prod", "AWS::CloudWatch::Dashboard")["Properties"]["DashboardBody"])
    for shown in (
        "Invocations",
        "Errors",
        "Duration",
        "p50",
        "p95",
        "Throttles",
        "ApproximateAgeOfOldestMessage",
        "ApproximateNumberOfMessagesVisible",
        "ReportsSent",
        "CostExplorerRequests",
        "Reputation.BounceRate",
        "Reputation.ComplaintRate",
    ):
        assert shown in body, shown


# --- IAM ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_no_iam_statement_has_a_wildcard_action_and_star_resources_only_for_xray(synthesized, environment):
    for policy in synthesized.resources(environment, "AWS::IAM::Policy").values():
        for statement in statements(policy["Properties"]["PolicyDocument"]):
            assert not any("*" in action for action in as_list(statement["Action"])), statement
            if "*" in as_list(statement["Resource"]):
                assert sorted(as_list(statement["Action"])) == ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    for principal in (
        *synthesized.resources(environment, "AWS::IAM::Role").values(),
        *synthesized.resources(environment, "AWS::IAM::User").values(),
    ):
        assert "ManagedPolicyArns" not in principal["Properties"]
        assert "Policies" not in principal["Properties"]


def test_resource_policies_use_wildcard_actions_only_to_deny(synthesized):
    for policy_type in ("AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy"):
        for policy in synthesized.resources("prod", policy_type).values():
            for statement in statements(policy["Properties"]["PolicyDocument"]):
                if any("*" in action for action in as_list(statement["Action"])):
                    assert statement["Effect"] == "Deny"
    # The key policy's one wildcard is AWS's default delegation to the account's IAM policies.
    key = synthesized.resources("prod", "AWS::KMS::Key")[project_key(synthesized, "prod")]
    wildcard = [s for s in statements(key["Properties"]["KeyPolicy"]) if s["Action"] == "kms:*"]
    assert [s["Principal"] for s in wildcard] == [
        {"AWS": {"Fn::Join": ["", ["arn:", ref("AWS::Partition"), ":iam::", ref("AWS::AccountId"), ":root"]]}}
    ]


def test_worker_reads_client_secrets_only_under_the_prefix_and_assumes_only_client_roles(synthesized):
    worker = role_statements(synthesized, "prod", "cost-reporting-lambda-role")
    signer_secret = logical_id(
        synthesized, "prod", "AWS::SecretsManager::Secret", Name="cost-reporting/system/link-signer"
    )

    reader = logical_id(synthesized, "prod", "AWS::IAM::Role", RoleName="cost-reporting-secrets-reader")

    # No client secret directly: the link signer's secret only, by its exact ARN.
    [secrets] = actions_on(worker, "secretsmanager:GetSecretValue")
    assert as_list(secrets["Resource"]) == [ref(signer_secret)]
    client_roles, secrets_reader = sorted(
        actions_on(worker, "sts:AssumeRole"), key=lambda statement: "Condition" not in statement
    )
    assert client_roles["Resource"]["Fn::Join"][1][-1] == ":iam::*:role/CostReportingReadOnly*"
    assert client_roles["Condition"] == {"Null": {"sts:ExternalId": "false"}}
    # A client's secrets through the secrets reader, in a session tagged with the client.
    assert secrets_reader["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    assert secrets_reader["Resource"] == {"Fn::GetAtt": [reader, "Arn"]}
    [send] = actions_on(worker, "ses:SendRawEmail")
    assert send["Condition"] == {"StringEquals": {"ses:FromAddress": "reports@prod.example.com"}}
    assert not actions_on(worker, "ce:GetCostAndUsage")  # costs are read with the client's credentials only
    assert not actions_on(worker, "dynamodb:Scan")


def test_dispatcher_queries_only_the_schedule_index_and_sends_to_the_jobs_queue(synthesized):
    dispatcher = role_statements(synthesized, "prod", "cost-reporting-dispatcher-role")
    clients = logical_id(synthesized, "prod", "AWS::DynamoDB::Table", TableName="cost-reporting-clients")

    [query] = actions_on(dispatcher, "dynamodb:Query")
    assert query["Resource"] == {"Fn::Join": ["", [{"Fn::GetAtt": [clients, "Arn"]}, "/index/by-schedule"]]}
    granted = {action for statement in dispatcher for action in as_list(statement["Action"])}
    assert granted == {
        "dynamodb:Query",
        "dynamodb:BatchGetItem",
        "sqs:SendMessage",
        "kms:Decrypt",
        "kms:GenerateDataKey",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
    }


def test_feedback_handler_can_only_record_suppressions(synthesized):
    feedback = role_statements(synthesized, "prod", "cost-reporting-feedback-role")
    suppressions = logical_id(synthesized, "prod", "AWS::DynamoDB::Table", TableName="cost-reporting-suppressions")

    dynamodb = [s for s in feedback if any(a.startswith("dynamodb:") for a in as_list(s["Action"]))]
    assert dynamodb == [
        {"Action": "dynamodb:UpdateItem", "Effect": "Allow", "Resource": {"Fn::GetAtt": [suppressions, "Arn"]}}
    ]


def test_every_table_is_reachable_by_some_function(synthesized):
    """A table added to TABLES without a grant would deploy and then fail at run time."""
    granted = json.dumps(
        [
            statements(p["Properties"]["PolicyDocument"])
            for p in synthesized.resources("prod", "AWS::IAM::Policy").values()
        ]
    )
    for name in synthesized.resources("prod", "AWS::DynamoDB::Table"):
        assert f'"{name}"' in granted, name


# --- the link signer (docs/deploy.md) -------------------------------------------------------------


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_link_signer_may_only_read_reports_and_its_key_is_kept_encrypted_under_the_system_path(
    synthesized, environment
):
    config = for_environment(environment)
    user = logical_id(synthesized, environment, "AWS::IAM::User", UserName=config.link_signer_user)
    assert config.link_signer_user == f"cost-reporting-link-signer{config.suffix}"
    assert set(synthesized.resources(environment, "AWS::IAM::User")) == {user}
    assert "LoginProfile" not in synthesized.resources(environment, "AWS::IAM::User")[user]["Properties"]
    assets = bucket(synthesized, environment, f"cost-reporting-assets{config.suffix}")

    policies = [
        p["Properties"]
        for p in synthesized.resources(environment, "AWS::IAM::Policy").values()
        if ref(user) in p["Properties"].get("Users", [])
    ]
    [policy] = policies
    assert "Roles" not in policy and "Groups" not in policy
    assert statements(policy["PolicyDocument"]) == [
        {
            "Action": "s3:GetObject",
            "Effect": "Allow",
            "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [assets, "Arn"]}, "/reports/*"]]},
        },
        {
            "Action": "kms:Decrypt",
            "Condition": {
                "StringEquals": {"kms:ViaService": {"Fn::Join": ["", ["s3.", ref("AWS::Region"), ".amazonaws.com"]]}}
            },
            "Effect": "Allow",
            "Resource": key_arn(synthesized, environment),
        },
    ]

    [access_key] = synthesized.resources(environment, "AWS::IAM::AccessKey")
    assert synthesized.resources(environment, "AWS::IAM::AccessKey")[access_key]["Properties"] == {
        "UserName": ref(user)
    }
    secret = synthesized.resources(environment, "AWS::SecretsManager::Secret")[
        logical_id(synthesized, environment, "AWS::SecretsManager::Secret", Name=config.link_signer_secret)
    ]["Properties"]
    assert config.link_signer_secret == f"cost-reporting{config.suffix}/system/link-signer"
    assert not config.link_signer_secret.startswith(config.secrets_prefix)  # not a client's secret
    assert secret["KmsKeyId"] == key_arn(synthesized, environment)
    # The value is made from the key resource by CloudFormation: the template holds references only.
    assert secret["SecretString"] == {
        "Fn::Join": [
            "",
            [
                '{"access_key_id":"',
                ref(access_key),
                '","secret_access_key":"',
                {"Fn::GetAtt": [access_key, "SecretAccessKey"]},
                '"}',
            ],
        ]
    }


def test_only_the_worker_reads_the_link_signers_secret(synthesized):
    secret = logical_id(synthesized, "prod", "AWS::SecretsManager::Secret", Name="cost-reporting/system/link-signer")
    readers = {
        role["Ref"]
        for policy in synthesized.resources("prod", "AWS::IAM::Policy").values()
        for statement in statements(policy["Properties"]["PolicyDocument"])
        if ref(secret) in as_list(statement["Resource"])
        for role in policy["Properties"].get("Roles", [])
    }
    assert readers == {logical_id(synthesized, "prod", "AWS::IAM::Role", RoleName="cost-reporting-lambda-role")}
