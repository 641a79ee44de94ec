"""The project's customer-managed KMS key: tables, assets bucket, queues, topics and the
clients' stored access keys are all encrypted with it."""

from __future__ import annotations

from typing import Any

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infrastructure.config import EnvironmentConfig


class Encryption(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, retain: bool) -> None:
        super().__init__(scope, construct_id)
        self._environment = config.environment
        # A deleted key makes every encrypted item unreadable: keep it unless the environment is disposable.
        self._removal = RemovalPolicy.RETAIN if retain else RemovalPolicy.DESTROY
        self.key = self._key("Key", config.kms_alias, "client data, reports, queues, secrets", enable_key_rotation=True)
        # Signs backup manifests (`backup create`) and verifies them before a restore (`backup validate`,
        # `backup restore`): checksums inside an archive prove nothing against someone who rewrote the
        # archive; a MAC from a key that never leaves KMS does. HMAC keys have no automatic rotation.
        self.backup_key = self._key(
            "BackupKey",
            config.backup_key_alias,
            "signs and verifies backup manifests",
            key_spec=kms.KeySpec.HMAC_256,
            key_usage=kms.KeyUsage.GENERATE_VERIFY_MAC,
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

    def _key(self, construct_id: str, alias: str, purpose: str, **spec: Any) -> kms.Key:
        """A key of the platform's, described by its purpose, with KMS's longest deletion window;
        `spec`: the key's own properties (rotation, key spec and usage)."""
        return kms.Key(
            self,
            construct_id,
            alias=alias,
            description=f"Cost reporting platform ({self._environment}): {purpose}",
            removal_policy=self._removal,
            pending_window=Duration.days(30),
            **spec,
        )
