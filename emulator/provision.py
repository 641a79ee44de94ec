"""Create an environment's resources, under the stack's names, in whatever AWS the standard
variables point to (AWS_ENDPOINT_URL): the embedded emulator for the demo, `local up`, the
tests. Real AWS environments are created by the CDK stack, never by this.

Idempotent: a resource that exists is left as it is.
"""

from __future__ import annotations

import json
from typing import Any

from infrastructure.config import (
    AUDIT_RETENTION_DAYS,
    EXPORT_WORKER_TIMEOUT_S,
    MAX_RECEIVES,
    TABLES,
    EnvironmentConfig,
    TableSpec,
)
from infrastructure.policies import (
    alert_topic_publishers,
    deny_insecure_transport,
    secrets_reader_permissions,
    secrets_reader_trust,
)
from infrastructure.worker_settings import worker_settings
from lambdas.dal.access_keys import AccessKeys
from lambdas.dal.aws import error_code, platform_client
from lambdas.dal.secrets_store import SecretsStore
from lambdas.models.settings import Settings

WORKER_TIMEOUT_SECONDS = 300
_EXISTS = {
    "ResourceInUseException",
    "BucketAlreadyOwnedByYou",
    "BucketAlreadyExists",
    "AlreadyExistsException",
    "QueueAlreadyExists",
    "ConfigurationSetAlreadyExists",
    "ConfigurationSetAlreadyExistsException",  # moto's SES v2 (AWS says AlreadyExistsException)
    "EntityAlreadyExists",
}


def _ignore_exists(call: Any, **kwargs: Any) -> Any:
    try:
        return call(**kwargs)
    except Exception as error:
        if error_code(error) in _EXISTS:
            return None
        raise


def _create_table(name: str, spec: TableSpec) -> None:
    dynamodb = platform_client("dynamodb")
    attributes = {spec.partition_key} | ({spec.sort_key} if spec.sort_key else set())
    attributes |= {index.partition_key for index in spec.indexes}
    keys = [{"AttributeName": spec.partition_key, "KeyType": "HASH"}]
    if spec.sort_key:
        keys.append({"AttributeName": spec.sort_key, "KeyType": "RANGE"})
    kwargs: dict[str, Any] = {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "AttributeDefinitions": [{"AttributeName": a, "AttributeType": "S"} for a in sorted(attributes)],
        "KeySchema": keys,
    }
    if spec.indexes:
        kwargs["GlobalSecondaryIndexes"] = [
            {
                "IndexName": index.name,
                "KeySchema": [{"AttributeName": index.partition_key, "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
            for index in spec.indexes
        ]
    if _ignore_exists(dynamodb.create_table, **kwargs) is not None and spec.ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute}
        )


def provision(config: EnvironmentConfig) -> Settings:
    """Create the tables, bucket, queues, topic, SES identity and link signer; return the worker's settings."""
    for attribute, spec in TABLES.items():
        _create_table(getattr(config, attribute), spec)
    # As in the stack: the client table's one-hour RPO rests on point-in-time recovery.
    platform_client("dynamodb").update_continuous_backups(
        TableName=config.clients_table, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )

    s3 = platform_client("s3")
    _ignore_exists(s3.create_bucket, Bucket=config.assets_bucket)
    s3.put_bucket_versioning(Bucket=config.assets_bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_public_access_block(
        Bucket=config.assets_bucket,
        PublicAccessBlockConfiguration=dict.fromkeys(
            ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
        ),
    )

    queue_url = provision_queue(config.jobs_queue, config.dead_letter_queue, WORKER_TIMEOUT_SECONDS)
    # The export worker's queue: the dispatcher routes the data_exports clients' runs there.
    export_queue_url = provision_queue(
        config.export_jobs_queue, config.export_dead_letter_queue, EXPORT_WORKER_TIMEOUT_S
    )

    account = platform_client("sts").get_caller_identity()["Account"]
    provision_alerts_topic(config, account)
    platform_client("ses").verify_domain_identity(Domain=config.sender_email.split("@")[1])
    _ignore_exists(platform_client("sesv2").create_configuration_set, ConfigurationSetName=config.configuration_set)
    provision_link_signer(config)
    provision_audit_bucket(config)
    provision_secrets_reader(config, account)
    provision_backup_key(config)

    return settings_for(config, queue_url=queue_url, export_queue_url=export_queue_url, account=account)


def provision_queue(name: str, dead_letter_queue: str, consumer_timeout_s: int) -> str:
    """A jobs queue as the stack makes it (infrastructure/constructs/fanout.py): a visibility of six
    times its consumer's timeout, redriven to its dead-letter queue after MAX_RECEIVES. Its URL."""
    sqs = platform_client("sqs")
    dlq_url = sqs.create_queue(QueueName=dead_letter_queue)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return str(
        sqs.create_queue(
            QueueName=name,
            Attributes={
                "VisibilityTimeout": str(consumer_timeout_s * 6),
                "RedrivePolicy": f'{{"deadLetterTargetArn": "{dlq_arn}", "maxReceiveCount": "{MAX_RECEIVES}"}}',
            },
        )["QueueUrl"]
    )


def _partition_region() -> tuple[str, str]:
    return "aws", platform_client("sts").meta.region_name


def provision_alerts_topic(config: EnvironmentConfig, account: str) -> str:
    """The alert topic with the stack's policy: CloudWatch alarms of this account may publish,
    nothing goes without TLS (infrastructure/policies.py)."""
    sns = platform_client("sns")
    arn = str(sns.create_topic(Name=config.alerts_topic)["TopicArn"])
    partition, region = _partition_region()
    statements = [
        *alert_topic_publishers(arn, partition=partition, region=region, account=account),
        deny_insecure_transport(arn, "sns:Publish"),
    ]
    policy = {"Version": "2012-10-17", "Statement": statements}
    sns.set_topic_attributes(TopicArn=arn, AttributeName="Policy", AttributeValue=json.dumps(policy))
    return arn


def provision_audit_bucket(config: EnvironmentConfig) -> None:
    """The audit trail's bucket as the stack makes it: versioned, every event locked in governance
    mode for AUDIT_RETENTION_DAYS (S3 Object Lock is chosen when the bucket is created)."""
    s3 = platform_client("s3")
    _ignore_exists(s3.create_bucket, Bucket=config.audit_bucket, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(
        Bucket=config.audit_bucket,
        ObjectLockConfiguration={
            "ObjectLockEnabled": "Enabled",
            "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": AUDIT_RETENTION_DAYS}},
        },
    )
    s3.put_public_access_block(
        Bucket=config.audit_bucket,
        PublicAccessBlockConfiguration=dict.fromkeys(
            ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
        ),
    )


def provision_secrets_reader(config: EnvironmentConfig, account: str) -> None:
    """The role the worker reads a client's secrets through, with the stack's trust and permissions
    (a session tagged with one client reads only that client's secrets; the embedded AWS enforces both)."""
    iam = platform_client("iam")
    partition, region = _partition_region()
    trust = secrets_reader_trust(partition=partition, account=account)
    if (
        _ignore_exists(iam.create_role, RoleName=config.secrets_reader_role, AssumeRolePolicyDocument=json.dumps(trust))
        is None
    ):
        iam.update_assume_role_policy(RoleName=config.secrets_reader_role, PolicyDocument=json.dumps(trust))
    permissions = secrets_reader_permissions(
        partition=partition,
        region=region,
        account=account,
        secrets_prefix=config.secrets_prefix,
        key_arn=f"arn:{partition}:kms:{region}:{account}:key/*",  # `local` has no project key
    )
    iam.put_role_policy(
        RoleName=config.secrets_reader_role, PolicyName="ReadClientSecrets", PolicyDocument=json.dumps(permissions)
    )


def provision_backup_key(config: EnvironmentConfig) -> None:
    """The HMAC key that signs backup manifests, under the stack's alias."""
    kms = platform_client("kms")
    aliases = {alias["AliasName"] for alias in kms.list_aliases().get("Aliases", [])}
    if config.backup_key_alias in aliases:
        return
    key = kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC", Description="backup manifests")
    kms.create_alias(AliasName=config.backup_key_alias, TargetKeyId=key["KeyMetadata"]["KeyId"])


def provision_link_signer(config: EnvironmentConfig) -> None:
    """The link signer as the stack makes it: an IAM user that may only read reports, one access key,
    kept in the environment's system secret. A signer whose secret exists is left as it is."""
    user = config.link_signer_user
    iam = platform_client("iam")
    _ignore_exists(iam.create_user, UserName=user)
    iam.put_user_policy(
        UserName=user,
        PolicyName="ReadReports",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "s3:GetObject",
                        "Resource": f"arn:aws:s3:::{config.assets_bucket}/reports/*",
                    }
                ],
            }
        ),
    )
    store = SecretsStore()
    if store.exists(config.link_signer_secret):
        return
    _, credentials = AccessKeys.of_user(user).create()
    store.create_keys(config.link_signer_secret, credentials)


def settings_for(
    config: EnvironmentConfig, *, queue_url: str = "", export_queue_url: str = "", account: str | None = None
) -> Settings:
    """The worker's settings for an environment (infrastructure/worker_settings.py), on this account."""
    if account is None:
        account = str(platform_client("sts").get_caller_identity()["Account"])
    return worker_settings(config, account=account, queue_url=queue_url, export_queue_url=export_queue_url)


def settings_environment(settings: Settings) -> dict[str, str]:
    """The Lambda environment variables the stack sets, for running the handlers locally."""
    return {
        str(field.validation_alias): str(getattr(settings, name))
        for name, field in Settings.model_fields.items()
        if field.validation_alias
    }
