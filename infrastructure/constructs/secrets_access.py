"""The role the worker reads a client's secrets through (stored keys, webhook URLs): a session of it
carries the client's id as a session tag, and its one policy lets a session read only the secrets
tagged with that same id (attribute-based access control). A record that names another client's
secret is refused by IAM as well as by the code (lambdas/models/ownership.py)."""

from __future__ import annotations

from aws_cdk import Aws, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from infrastructure.config import EnvironmentConfig
from infrastructure.constructs.nag import acknowledge
from infrastructure.policies import secrets_reader_permissions, secrets_reader_trust

SESSION_HOURS = 1  # role chaining (the worker's own role session) allows at most one hour


class ClientSecretsReader(Construct):
    """`role`: assumed by the worker (its policy grants sts:AssumeRole and sts:TagSession on it) once
    per run of a client whose secrets it reads."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, key: kms.IKey) -> None:
        super().__init__(scope, construct_id)
        self.role = iam.Role(
            self,
            "Role",
            role_name=config.secrets_reader_role,
            assumed_by=iam.AccountRootPrincipal(),  # replaced below by the tag-conditioned trust policy
            description="Reads one client's secrets, in a session tagged with that client",
            max_session_duration=Duration.hours(SESSION_HOURS),
        )
        trust = secrets_reader_trust(partition=Aws.PARTITION, account=Aws.ACCOUNT_ID)
        role_resource = self.role.node.default_child
        assert isinstance(role_resource, iam.CfnRole)  # noqa: S101 - CDK's own shape for iam.Role
        role_resource.assume_role_policy_document = trust
        self.policy = iam.Policy(
            self,
            "ReadClientSecrets",
            document=iam.PolicyDocument.from_json(
                secrets_reader_permissions(
                    partition=Aws.PARTITION,
                    region=Aws.REGION,
                    account=Aws.ACCOUNT_ID,
                    secrets_prefix=config.secrets_prefix,
                    key_arn=key.key_arn,
                )
            ),
            roles=[self.role],
        )
        acknowledge(
            self.policy,
            "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:"
            f"{config.secrets_prefix}*]",
            "Client secrets are created at onboarding, one path per client under this prefix, each tagged with its "
            "client_id; Secrets Manager appends a random suffix to every secret ARN, so a prefix is the narrowest "
            "resource, and the condition aws:ResourceTag/client_id == ${aws:PrincipalTag/client_id} lets a session "
            "read only its own client's secrets.",
        )
