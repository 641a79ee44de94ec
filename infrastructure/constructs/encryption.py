"""The project's customer-managed KMS key: tables, assets bucket, queues, topics and the
clients' stored access keys are all encrypted with it."""

from __future__ import annotations

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infrastructure.config import EnvironmentConfig


class Encryption(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, retain: bool) -> None:
        super().__init__(scope, construct_id)
        self.key = kms.Key(
            self,
            "Key",
            alias=config.kms_alias,
            description=f"Cost reporting platform ({config.environment}): client data, reports, queues, secrets",
            enable_key_rotation=True,
            # A deleted key makes every encrypted item unreadable: keep it unless the environment is disposable.
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
            pending_window=Duration.days(30),
        )
        # Signs backup manifests (`backup create`) and verifies them before a restore (`backup validate`,
        # `backup restore`): checksums inside an archive prove nothing against someone who rewrote the
        # archive; a MAC from a key that never leaves KMS does. HMAC keys have no automatic rotation.
        self.backup_key = kms.Key(
            self,
            "BackupKey",
            alias=config.backup_key_alias,
            description=f"Cost reporting platform ({config.environment}): signs and verifies backup manifests",
            key_spec=kms.KeySpec.HMAC_256,
            key_usage=kms.KeyUsage.GENERATE_VERIFY_MAC,
            removal_policy=RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY,
            pending_window=Duration.days(30),
        )

    def allow_service_to_publish(self, service: str, *, source_arn: str) -> None:
        """Let an AWS service publish to a topic or queue encrypted with this key (CloudWatch alarms,
        SES event publishing), only on behalf of this account and the named source."""
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=f"Publish-{service.split('.')[0]}",
                principals=[iam.ServicePrincipal(service)],
                actions=["kms:GenerateDataKey", "kms:Decrypt"],
                resources=["*"],  # in a key policy, "*" is this key
                conditions={
                    "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
                    "ArnLike": {"aws:SourceArn": source_arn},
                },
            )
        )
