"""Policy documents the stack deploys and the embedded AWS provisions the same way (emulator/provision.py),
as plain JSON: the stack passes CloudFormation tokens as the ARNs, the emulator real values. One
document, two places, so the local environment proves what production deploys.

Pure Python: no CDK import.
"""

from __future__ import annotations

from typing import Any

from lambdas.models.ownership import SECRET_OWNER_TAG

Document = dict[str, Any]
VERSION = "2012-10-17"


def alarms_arn(*, partition: str, region: str, account: str) -> str:
    """Every CloudWatch alarm of the account in the region (the alarms publish to the alert topic)."""
    return f"arn:{partition}:cloudwatch:{region}:{account}:alarm:*"


def alert_topic_publishers(topic_arn: str, *, partition: str, region: str, account: str) -> list[Document]:
    """Who may publish to the alert topic. A topic policy replaces SNS's default one, so without this
    statement CloudWatch is refused (`...alarm:NAME is not authorized to perform: SNS:Publish`) and
    every alarm fires into nothing. Only alarms of this account and region, on its behalf.

    No EventBridge statement: no rule of the stack targets the topic (the schedules are EventBridge
    Scheduler's, invoking the dispatcher). A rule that publishes here adds `events.amazonaws.com` the
    same way, with its rule ARN as the source."""
    return [
        {
            "Sid": "CloudWatchAlarmsPublish",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": topic_arn,
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account},
                "ArnLike": {"aws:SourceArn": alarms_arn(partition=partition, region=region, account=account)},
            },
        }
    ]


def deny_insecure_transport(resource_arn: str, action: str) -> Document:
    """The statement CDK's `enforce_ssl` writes: no request without TLS."""
    return {
        "Sid": "AllowPublishThroughSSLOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": action,
        "Resource": resource_arn,
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def secrets_reader_trust(*, partition: str, account: str) -> Document:
    """Principals of this account whose own policy allows it (the worker role) may take a session of
    the secrets reader, and only one tagged with the client it is for: a session without the tag
    cannot be had, one with another tag key neither."""
    principal = {"AWS": f"arn:{partition}:iam::{account}:root"}
    tag = f"aws:RequestTag/{SECRET_OWNER_TAG}"
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "AssumeForOneClient",
                "Effect": "Allow",
                "Principal": principal,
                "Action": "sts:AssumeRole",
                "Condition": {"Null": {tag: "false"}},
            },
            {
                "Sid": "TagTheSessionWithTheClient",
                "Effect": "Allow",
                "Principal": principal,
                "Action": "sts:TagSession",
                "Condition": {
                    "StringLike": {tag: "?*"},
                    "ForAllValues:StringEquals": {"aws:TagKeys": [SECRET_OWNER_TAG]},
                },
            },
        ],
    }


def secrets_reader_permissions(
    *, partition: str, region: str, account: str, secrets_prefix: str, key_arn: str
) -> Document:
    """A session may read a client secret only when the secret's `client_id` tag is the session's:
    a run for client A that names client B's secret is refused by IAM, not only by the code."""
    return {
        "Version": VERSION,
        "Statement": [
            {
                "Sid": "ReadOnlyTheSessionClientsSecrets",
                "Effect": "Allow",
                "Action": "secretsmanager:GetSecretValue",
                "Resource": f"arn:{partition}:secretsmanager:{region}:{account}:secret:{secrets_prefix}*",
                "Condition": {
                    "StringEquals": {f"aws:ResourceTag/{SECRET_OWNER_TAG}": f"${{aws:PrincipalTag/{SECRET_OWNER_TAG}}}"}
                },
            },
            {
                "Sid": "DecryptThroughSecretsManager",
                "Effect": "Allow",
                "Action": "kms:Decrypt",
                "Resource": key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{region}.amazonaws.com"}},
            },
        ],
    }
