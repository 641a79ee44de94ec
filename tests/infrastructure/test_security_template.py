"""The template says what issue 17 asks: alarms can reach the alert topic, a client's secrets are
readable only in a session tagged with that client, the audit trail is locked, backups are signed.

Where a policy's meaning matters, the template's own document is evaluated (tokens resolved to an
example account) with the embedded AWS's evaluator: the same decision the local environment makes."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

from emulator.iam_policy import Principal, evaluate
from infrastructure.config import AUDIT_RETENTION_DAYS, for_environment
from tests.infrastructure.conftest import ENVIRONMENTS, Synthesized
from tests.infrastructure.test_stack import bucket, logical_id, ref

pytestmark = pytest.mark.infrastructure
ACCOUNT, REGION = "111122223333", "eu-west-1"


def resolve(value: Any, names: dict[str, str]) -> Any:
    """CloudFormation's Ref, Fn::GetAtt (…Arn) and Fn::Join for an example account and region."""
    pseudo = {"AWS::AccountId": ACCOUNT, "AWS::Region": REGION, "AWS::Partition": "aws"}
    if isinstance(value, list):
        return [resolve(item, names) for item in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        return pseudo.get(value["Ref"]) or names[value["Ref"]]
    if set(value) == {"Fn::GetAtt"}:
        return names[value["Fn::GetAtt"][0]]
    if set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(str(resolve(part, names)) for part in parts)
    return {key: resolve(item, names) for key, item in value.items()}


def topic_policy(synthesized: Synthesized, environment: str) -> tuple[str, dict[str, Any]]:
    topic = logical_id(synthesized, environment, "AWS::SNS::Topic", TopicName=for_environment(environment).alerts_topic)
    [policy] = [
        p["Properties"]
        for p in synthesized.resources(environment, "AWS::SNS::TopicPolicy").values()
        if p["Properties"]["Topics"] == [ref(topic)]
    ]
    return topic, policy


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_alert_topic_lets_this_accounts_cloudwatch_alarms_publish_and_still_refuses_plain_http(
    synthesized, environment
):
    topic, _ = topic_policy(synthesized, environment)
    alarms = {
        "Fn::Join": [
            "",
            ["arn:", ref("AWS::Partition"), ":cloudwatch:", ref("AWS::Region"), ":", ref("AWS::AccountId"), ":alarm:*"],
        ]
    }
    synthesized.assertions(environment).has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "Topics": [ref(topic)],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        # CDK's enforce_ssl statement comes first
                        Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}),
                        Match.object_like(
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Action": "sns:Publish",
                                "Resource": ref(topic),
                                "Condition": {
                                    "StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")},
                                    "ArnLike": {"aws:SourceArn": alarms},
                                },
                            }
                        ),
                    ]
                )
            },
        },
    )


@pytest.mark.parametrize(
    ("source_account", "source_arn", "secure", "expected"),
    [
        (
            ACCOUNT,
            f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:CostReporting-prod-Worker-Fault-Count-Critical",
            "true",
            "allow",
        ),
        ("999988887777", f"arn:aws:cloudwatch:{REGION}:999988887777:alarm:theirs", "true", "none"),  # another account
        (ACCOUNT, f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:other-region", "true", "none"),
        (ACCOUNT, f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:any", "false", "deny"),  # without TLS
    ],
)
def test_the_alert_topic_policy_evaluated(synthesized, source_account, source_arn, secure, expected):
    topic, policy = topic_policy(synthesized, "prod")
    topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT}:cost-reporting-alerts"
    document = resolve(policy["PolicyDocument"], {topic: topic_arn})
    context = {"aws:SourceAccount": source_account, "aws:SourceArn": source_arn, "aws:SecureTransport": secure}

    decision = evaluate(
        document,
        action="sns:Publish",
        resource=topic_arn,
        principal=Principal(service="cloudwatch.amazonaws.com"),
        context=context,
    )

    assert decision == expected


def reader(synthesized: Synthesized, environment: str) -> tuple[str, dict[str, Any], dict[str, Any]]:
    config = for_environment(environment)
    role = logical_id(synthesized, environment, "AWS::IAM::Role", RoleName=config.secrets_reader_role)
    [policy] = [
        p["Properties"]["PolicyDocument"]
        for p in synthesized.resources(environment, "AWS::IAM::Policy").values()
        if p["Properties"].get("Roles") == [ref(role)]
    ]
    trust = synthesized.resources(environment, "AWS::IAM::Role")[role]["Properties"]["AssumeRolePolicyDocument"]
    return role, trust, policy


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_client_secrets_are_read_only_in_a_session_tagged_with_their_client(synthesized, environment):
    config = for_environment(environment)
    role, trust, policy = reader(synthesized, environment)
    names = dict.fromkeys(synthesized.resources(environment, "AWS::KMS::Key"), f"arn:aws:kms:{REGION}:{ACCOUNT}:key/k")
    trust, policy = resolve(trust, names), resolve(policy, names)
    secret = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:{config.secrets_prefix}globex/slack-AbCdEf"
    worker = Principal(arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/{config.worker_role}/w", account=ACCOUNT)

    def may_read(session_client: str, secret_client: str | None) -> bool:
        context = {"aws:PrincipalTag/client_id": session_client}
        if secret_client:
            context["aws:ResourceTag/client_id"] = secret_client
        return evaluate(policy, action="secretsmanager:GetSecretValue", resource=secret, context=context) == "allow"

    assert may_read("globex", "globex")
    assert not may_read("acme", "globex")  # another client's secret: refused by IAM, whatever the record says
    assert not may_read("acme", None)  # an untagged secret: nobody's
    other_path = secret.replace(config.secrets_prefix, "cost-reporting-other/clients/")
    assert (
        evaluate(
            policy,
            action="secretsmanager:GetSecretValue",
            resource=other_path,
            context={"aws:PrincipalTag/client_id": "globex", "aws:ResourceTag/client_id": "globex"},
        )
        == "none"
    )

    def may_assume(tags: dict[str, str]) -> bool:
        context: dict[str, Any] = {f"aws:RequestTag/{key}": value for key, value in tags.items()}
        if tags:
            context["aws:TagKeys"] = list(tags)
        actions = ["sts:AssumeRole", *(["sts:TagSession"] if tags else [])]
        return all(evaluate(trust, action=a, principal=worker, context=context) == "allow" for a in actions)

    assert may_assume({"client_id": "acme"})
    assert not may_assume({})  # a session that names no client
    assert not may_assume({"client_id": "acme", "team": "x"})  # or carries other tags
    other_account = Principal(arn="arn:aws:sts::999988887777:assumed-role/r/s", account="999988887777")
    assert (
        evaluate(trust, action="sts:AssumeRole", principal=other_account, context={"aws:RequestTag/client_id": "acme"})
        == "none"
    )
    assert role


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_the_audit_trail_bucket_locks_every_event_in_governance_mode(synthesized, environment):
    config = for_environment(environment)
    audit = synthesized.resources(environment, "AWS::S3::Bucket")[bucket(synthesized, environment, config.audit_bucket)]
    properties = audit["Properties"]
    assert properties["ObjectLockEnabled"] is True
    assert properties["ObjectLockConfiguration"] == {
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": AUDIT_RETENTION_DAYS}},
    }
    assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
    [encryption] = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert properties["LoggingConfiguration"]["LogFilePrefix"] == "audit/"
    assert not any(
        "Expiration" in rule or "NoncurrentVersionExpiration" in rule
        for rule in properties.get("LifecycleConfiguration", {}).get("Rules", [])
    )


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_backups_are_signed_with_a_kms_hmac_key_under_the_configured_alias(synthesized, environment):
    config = for_environment(environment)
    [hmac] = [
        name
        for name, key in synthesized.resources(environment, "AWS::KMS::Key").items()
        if key["Properties"].get("KeySpec") == "HMAC_256"
    ]
    assert synthesized.resources(environment, "AWS::KMS::Key")[hmac]["Properties"]["KeyUsage"] == "GENERATE_VERIFY_MAC"
    aliases = {
        a["Properties"]["AliasName"]: a["Properties"]["TargetKeyId"]
        for a in synthesized.resources(environment, "AWS::KMS::Alias").values()
    }
    assert aliases[config.backup_key_alias] == {"Fn::GetAtt": [hmac, "Arn"]}
