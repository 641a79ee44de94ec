"""A client's secrets are its own. A record that names another client's keys or webhook (written
around the model and the onboarding checks: by hand, by an older version, from another
environment) fails its run before anything is read or sent; and should the code's check be
bypassed, IAM still refuses: the worker reads secrets only in a session tagged with the client it
runs for, and the secrets reader's policy serves a session only the secrets tagged the same."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.exceptions import ClientError

from lambdas.dal.aws import error_code, platform_client
from lambdas.dal.client_secrets import ClientSecrets
from lambdas.dal.dynamo import to_item
from lambdas.models.events import ReportJob
from lambdas.models.settings import get_settings
from tests.integration.conftest import AS_OF
from tests.integration.helpers import invoke_worker, sent_messages
from tests.reliability.observe import archived, records

KEYS = json.dumps({"access_key_id": "AKIAEXAMPLE000000001", "secret_access_key": "x" * 40})


def tagged_secret(name: str, value: str, client_id: str) -> None:
    platform_client("secretsmanager").create_secret(
        Name=name, SecretString=value, Tags=[{"Key": "client_id", "Value": client_id}]
    )


def store_as_is(record: dict) -> None:
    """Write a record straight into the table, as a hand edit or an older version would."""
    platform_client("dynamodb").put_item(TableName=get_settings().clients_table, Item=to_item(record))


@pytest.mark.parametrize(
    ("credentials", "webhook_secret"),
    [
        # stored keys in another environment's path (the model cannot know the environment)
        ({"type": "stored_keys", "secret_name": "cost-reporting-dev/clients/acme-retail"}, None),
        # the client's own keys, and a webhook that is another environment's secret
        (None, "cost-reporting/clients/acme-retail/slack"),
    ],
)
def test_a_run_carrying_a_secret_that_is_not_the_clients_own_fails_and_sends_nothing(
    platform, embedded_aws, demo_records, webhook, logs, credentials, webhook_secret
):
    url, posted = webhook
    record = dict(demo_records[0])
    if credentials:
        record["credentials"] = credentials
        tagged_secret(credentials["secret_name"], KEYS, "acme-retail")
    if webhook_secret:
        record["webhooks"] = [{"kind": "slack", "secret_name": webhook_secret}]
        tagged_secret(webhook_secret, url, "acme-retail")
    store_as_is(record)

    assert invoke_worker(ReportJob.scheduled("acme-retail", "daily", AS_OF)) == {"batchItemFailures": []}

    [run] = records("acme-retail")
    assert (run.status, run.error_kind) == ("failed", "unauthorized")
    assert "is not client acme-retail's" in (run.error or "")
    assert sent_messages(embedded_aws.endpoint_url) == [] and posted == [] and not archived("acme-retail")
    refusals = [line for line in logs.lines() if line.get("audit") == "UNAUTHORIZED"]
    assert [line["client_id"] for line in refusals] == ["acme-retail"]


def test_iam_refuses_another_clients_secret_to_a_session_tagged_with_this_client(platform):
    """The code's name check bypassed: the session itself cannot read it."""
    tagged_secret("cost-reporting-local/clients/globex-health", KEYS, "globex-health")
    tagged_secret("cost-reporting-local/clients/acme-retail", KEYS, "acme-retail")
    acme = ClientSecrets("acme-retail", reader_role_arn=platform.secrets_reader_role_arn)

    with pytest.raises(ClientError) as refused:
        acme.client.get_secret_value(SecretId="cost-reporting-local/clients/globex-health")

    assert error_code(refused.value) == "AccessDeniedException"
    assert acme.get("cost-reporting-local/clients/acme-retail") == KEYS
    with pytest.raises(ClientError, match="AccessDenied"):  # a session that names no client is refused
        boto3.client("sts").assume_role(RoleArn=platform.secrets_reader_role_arn, RoleSessionName="untagged")


def test_an_untagged_secret_is_nobodys_so_its_client_fails_until_it_is_tagged(
    platform, stored_key_client, embedded_aws
):
    client, _ = stored_key_client
    secrets = platform_client("secretsmanager")
    secrets.untag_resource(SecretId=client.credentials.secret_name, TagKeys=["client_id"])

    invoke_worker(ReportJob.scheduled(client.client_id, "weekly", AS_OF))
    secrets.tag_resource(
        SecretId=client.credentials.secret_name, Tags=[{"Key": "client_id", "Value": client.client_id}]
    )
    invoke_worker(
        ReportJob.scheduled(client.client_id, "weekly", AS_OF).model_copy(update={"run_id": "2026-11-27.retry"})
    )

    runs = {run.run_id: run for run in records(client.client_id)}
    assert runs["2026-11-27.retry"].status == "succeeded"
    [refused] = [run for run_id, run in runs.items() if run_id != "2026-11-27.retry"]
    assert (refused.status, refused.error_kind) == ("failed", "unauthorized")
