"""What `client add`, `client update` and `client import` check before anything is written, beyond
the record's own validation (lambdas/models/client.py): that the client's secrets are its own, and
its external id is the platform's kind.

- **Secrets** (stored keys, webhook URLs) must be the client's own, `<prefix><client_id>` or
  `<prefix><client_id>/...` under the environment's prefix, exist, carry no other client's
  `client_id` tag, and (stored keys, in a deployed environment) be encrypted with the project's key.
  Each is tagged `client_id=<client_id>` once every check has passed: the worker reads a client's
  secrets through a session tagged with that client, and IAM serves it only secrets with the same
  tag (infrastructure/policies.py).
- **Webhook URLs** must point at an official Slack or Teams webhook host over HTTPS (loopback only in
  `local`): checked when the URL is registered, and again before every post.
- **A replicated Data Export** (`data_export.access: replicated`) is read with the platform's own
  credentials, from the platform's assets bucket: it must name that bucket, and the client's own
  prefix there, `exports/<client_id>` (or below it). A record naming another client's prefix would
  have the platform read that client's costs into this client's report.
- **External ids**: when none is given the platform makes one (`secrets.token_urlsafe`, 32
  characters); one given by hand must have at least 16 characters, and no two clients may share
  one (the confused-deputy protection rests on each client's id being its own and unguessable).

Every refusal is one line naming the field, exit 2, nothing written.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from cli.context import fail
from infrastructure.config import EnvironmentConfig
from lambdas.dal.aws import error_code, platform_client
from lambdas.dal.secrets_store import SecretsStore
from lambdas.logic.webhook_hosts import webhook_url_problem
from lambdas.models.client import Client, RoleCredentials, StoredKeyCredentials
from lambdas.models.export_source import replicated_export_problem
from lambdas.models.ownership import SECRET_OWNER_TAG, secret_belongs_to

EXTERNAL_ID_MIN_LENGTH = 16
EXTERNAL_ID_BYTES = 24  # token_urlsafe: 32 characters of [A-Za-z0-9_-]


def new_external_id() -> str:
    return secrets.token_urlsafe(EXTERNAL_ID_BYTES)


def with_external_id(record: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The record, with a generated external id when it is on a role and has none; and that id."""
    credentials = record.get("credentials")
    if (
        isinstance(credentials, dict)
        and credentials.get("type") == "role"
        and credentials.get("external_id") is None  # given empty: a bad value the model names
    ):
        generated = new_external_id()
        return {**record, "credentials": {**credentials, "external_id": generated}}, generated
    return record, None


def check_external_ids(clients: Iterable[Client], stored: dict[str, dict[str, Any]]) -> None:
    """A new or changed external id has at least 16 characters, and none is shared by two clients
    (those of `clients` and the stored records of other clients)."""
    clients = list(clients)
    owners: dict[str, str] = {}
    for client_id, record in stored.items():
        credentials = record.get("credentials") or {}
        if isinstance(credentials, dict) and credentials.get("external_id"):
            owners[str(credentials["external_id"])] = client_id
    for client in clients:  # the clients being written replace their own stored records
        owners = {external_id: owner for external_id, owner in owners.items() if owner != client.client_id}
    for client in clients:
        if not isinstance(client.credentials, RoleCredentials):
            continue
        external_id = client.credentials.external_id
        previous = (stored.get(client.client_id, {}).get("credentials") or {}).get("external_id")
        if external_id != previous and len(external_id) < EXTERNAL_ID_MIN_LENGTH:
            fail(
                f"credentials.external_id: {len(external_id)} characters; give one of at least "
                f"{EXTERNAL_ID_MIN_LENGTH} random characters, or none and the platform makes one"
            )
        owner = owners.setdefault(external_id, client.client_id)
        if owner != client.client_id:
            fail(f"credentials.external_id: already the external id of client {owner}; each client needs its own")


def check_export(config: EnvironmentConfig, client: Client) -> None:
    """A replicated export is the client's own copy in the platform's bucket (the module docstring);
    the run checks the same rule again before it reads."""
    export = client.data_export
    if export is None:
        return
    platform_bucket = export.bucket if config.bucket_matches(export.bucket) else config.assets_bucket
    problem = replicated_export_problem(client.client_id, export, platform_bucket)
    if problem:
        fail(": ".join(problem))


def check_secrets(config: EnvironmentConfig, client: Client) -> list[str]:
    """Every secret of the client passes (or the command stops, naming the field); returns the secrets
    to tag with the client once every client of the command has passed."""
    to_tag: list[str] = []
    if isinstance(client.credentials, StoredKeyCredentials):
        described = _own_existing(config, client, "credentials.secret_name", client.credentials.secret_name)
        if config.deployed_by_stack:  # `local` has no project key: emulator/provision.py creates the data plane only
            check_secret_key(config, client.credentials.secret_name, described.get("KmsKeyId"))
        to_tag.append(client.credentials.secret_name)
    for number, webhook in enumerate(client.webhooks):
        field = f"webhooks.{number}.secret_name"
        _own_existing(config, client, field, webhook.secret_name)
        problem = webhook_url_problem(
            webhook.kind, _webhook_url(field, webhook.secret_name), allow_loopback=config.environment == "local"
        )
        if problem:
            fail(f"{field}: the webhook URL in {webhook.secret_name} {problem}")
        to_tag.append(webhook.secret_name)
    return to_tag


def tag_secrets(client_id: str, names: Iterable[str]) -> None:
    """Tag each secret as the client's (what the secrets reader's IAM condition compares)."""
    store = platform_client("secretsmanager")
    for name in names:
        try:
            store.tag_resource(SecretId=name, Tags=[{"Key": SECRET_OWNER_TAG, "Value": client_id}])
        except (ClientError, BotoCoreError) as error:
            fail(f"secret {name}: could not tag it with {SECRET_OWNER_TAG}={client_id} ({error_code(error) or error})")


def _own_existing(config: EnvironmentConfig, client: Client, field: str, name: str) -> dict[str, Any]:
    prefix = config.secrets_prefix
    if not secret_belongs_to(client.client_id, name, prefix):
        fail(
            f"{field}: {name} is not client {client.client_id}'s: use {prefix}{client.client_id} or "
            f"{prefix}{client.client_id}/... (the worker reads a client's own secrets only)"
        )
    described = SecretsStore().describe(name)
    if described is None:
        fail(f"{field}: no secret {name} in Secrets Manager; store it first")
    tags = {str(tag.get("Key")): str(tag.get("Value")) for tag in described.get("Tags") or []}
    owner = tags.get(SECRET_OWNER_TAG)
    if owner not in (None, client.client_id):
        fail(f"{field}: {name} is tagged as client {owner}'s secret, not {client.client_id}'s")
    return described


def _webhook_url(field: str, name: str) -> str:
    try:
        value = str(platform_client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]).strip()
    except (ClientError, BotoCoreError) as error:
        fail(f"{field}: cannot read {name} ({error_code(error) or type(error).__name__})")
    if value.startswith("{"):
        try:
            value = str(json.loads(value)["url"]).strip()
        except (ValueError, KeyError, TypeError):
            fail(f'{field}: {name} holds JSON without a "url"')
    return value


def check_secret_key(config: EnvironmentConfig, name: str, key_id: str | None) -> None:
    """The stack promises client keys encrypted with the project's key (docs/deploy.md): a secret
    created without `--kms-key-id` gets Secrets Manager's AWS managed key instead."""
    fix = f"aws secretsmanager update-secret --secret-id {name} --kms-key-id {config.kms_alias}"
    if not key_id:
        fail(f"credentials.secret_name: {name} is encrypted with the AWS managed key, not {config.kms_alias}: {fix}")
    kms = platform_client("kms")
    try:
        project = kms.describe_key(KeyId=config.kms_alias)["KeyMetadata"]["Arn"]
        used = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
    except ClientError as error:
        fail(f"credentials.secret_name: cannot compare {name}'s key with {config.kms_alias} ({error_code(error)})")
    if used != project:
        fail(f"credentials.secret_name: {name} is encrypted with {key_id}, not {config.kms_alias}: {fix}")
