"""The link signer: an IAM user whose access key signs the "view online" link of every report.

A SigV4 presigned URL stops working when the credentials that signed it expire. The worker's own
credentials are its role's, temporary (hours at most), so a link it signs cannot last the 7 days
the email promises; an IAM user's access key can (S3 caps a SigV4 link at 7 days). This user may
do one thing: read report objects (`s3:GetObject` on `reports/*`, and `kms:Decrypt` only through
S3, the bucket being encrypted with the project's key). A leaked key reads reports, nothing else.

Its key is kept in Secrets Manager under the platform's system path, encrypted with the project's
key; the worker reads it once per run. The stack creates the first key; `credentials rotate
--link-signer` rotates it (docs/deploy.md): the rotation creates keys the stack does not know, so
the `AccessKey` resource is never to be replaced by changing its `serial`.
"""

from __future__ import annotations

from aws_cdk import Aws, SecretValue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infrastructure.config import EnvironmentConfig
from infrastructure.constructs.nag import acknowledge, logical_id

REPORTS = "reports/*"


class LinkSigner(Construct):
    """`user`, its one policy, its `access_key` and the `secret` holding that key."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        assets: s3.IBucket,
        key: kms.IKey,
    ) -> None:
        super().__init__(scope, construct_id)
        self.user = iam.User(self, "User", user_name=config.link_signer_user)
        self.policy = iam.Policy(
            self,
            "ReadReports",
            users=[self.user],
            statements=[
                iam.PolicyStatement(actions=["s3:GetObject"], resources=[assets.arn_for_objects(REPORTS)]),
                # The reports are encrypted with the project's key: a GET decrypts through S3, and only so.
                iam.PolicyStatement(
                    actions=["kms:Decrypt"],
                    resources=[key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": f"s3.{Aws.REGION}.amazonaws.com"}},
                ),
            ],
        )
        self.access_key = iam.AccessKey(self, "AccessKey", user=self.user)
        self.secret = secretsmanager.Secret(
            self,
            "Secret",
            secret_name=config.link_signer_secret,
            description=f"Access key of {config.link_signer_user}: signs the reports' links (docs/deploy.md)",
            encryption_key=key,
            # References to the key resource (Ref, GetAtt SecretAccessKey): the template holds no value.
            secret_object_value={
                "access_key_id": SecretValue.unsafe_plain_text(self.access_key.access_key_id),
                "secret_access_key": self.access_key.secret_access_key,
            },
        )
        acknowledge(
            self.policy,
            f"AwsSolutions-IAM5[Resource::<{logical_id(assets)}.Arn>/{REPORTS}]",
            "A report link may point at any client's report, and reports are stored per client and run under "
            "reports/: the signer may read only that prefix, and only with a link the worker signed for one object.",
        )
        acknowledge(
            self.secret,
            "AwsSolutions-SMG4",
            "The secret holds an IAM user's access key, which a Secrets Manager rotation function could only "
            "rotate with iam:CreateAccessKey and iam:DeleteAccessKey of its own. It is rotated by `credentials "
            "rotate --link-signer` on the runbook's 60-day schedule for system keys: the new key is proven on a "
            "presigned GET first, the old one kept until the links it signed expire; `credentials check-age` "
            "warns from day 30 and is critical from day 50.",
        )
