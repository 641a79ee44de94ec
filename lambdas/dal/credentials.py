"""A client's AWS credentials: an assumed role (with its external id) or stored access keys; and
the platform's own stored keys (the link signer's), read the same way.

Stored keys live in Secrets Manager as JSON {"access_key_id", "secret_access_key"}; the
client record only names the secret. Secret values never reach a log or an error message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.dal.aws import AwsCredentials, error_code, platform_client
from lambdas.dal.client_secrets import ClientSecrets
from lambdas.models.client import Client, RoleCredentials
from lambdas.models.exceptions import DependencyError, UnauthorizedError

_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "InvalidClientTokenId",
    "ExpiredToken",
    "ResourceNotFoundException",
    "DecryptionFailure",
    "RegionDisabledException",
}


class CredentialProvider:
    def __init__(self, sts: Any | None = None, secrets: Any | None = None) -> None:
        self._sts = sts
        self._secrets = secrets

    def for_client(self, client: Client, secrets: ClientSecrets | None = None) -> AwsCredentials:
        """The client's credentials. Stored keys are read through `secrets`, the client's own view of
        Secrets Manager (the worker's: a tagged session), else with this provider's credentials, and
        only from a secret that is the client's own."""
        what, credentials = f"credentials of client {client.client_id}", client.credentials
        if isinstance(credentials, RoleCredentials):
            return self._obtain(what, self._assume, client.client_id, credentials)
        secrets = secrets or ClientSecrets(client.client_id, secrets=self._secrets)
        secrets.check(credentials.secret_name)
        return self._obtain(what, lambda name: _keys(name, secrets.get(name)), credentials.secret_name)

    def stored_keys(self, secret_name: str) -> AwsCredentials:
        """Access keys kept in a secret as {"access_key_id", "secret_access_key"}: a client's, or the
        platform's own (the link signer's, docs/deploy.md)."""
        return self._obtain(f"keys in {secret_name}", self._stored, secret_name)

    @staticmethod
    def _obtain(what: str, read: Callable[..., AwsCredentials], *args: Any) -> AwsCredentials:
        try:
            return read(*args)
        except ClientError as error:
            code = error_code(error)
            if code in _DENIED:
                raise UnauthorizedError(f"{what} refused ({code})") from None
            raise DependencyError(f"{what} unavailable ({code})") from None
        except BotoCoreError as error:
            raise DependencyError(f"credential service unreachable ({type(error).__name__})") from None

    def _assume(self, client_id: str, role: RoleCredentials) -> AwsCredentials:
        sts = self._sts or platform_client("sts")
        answer = sts.assume_role(
            RoleArn=role.role_arn,
            RoleSessionName=f"cost-reporting-{client_id}"[:64],
            ExternalId=role.external_id,
            DurationSeconds=900,
        )["Credentials"]
        return AwsCredentials(answer["AccessKeyId"], answer["SecretAccessKey"], answer["SessionToken"])

    def _stored(self, secret_name: str) -> AwsCredentials:
        secrets = self._secrets or platform_client("secretsmanager")
        return _keys(secret_name, secrets.get_secret_value(SecretId=secret_name)["SecretString"])


def _keys(secret_name: str, value: str) -> AwsCredentials:
    try:
        data = json.loads(value)
        return AwsCredentials(data["access_key_id"], data["secret_access_key"])
    except (ValueError, KeyError, TypeError):
        # Say what is wrong with the secret, never what is in it.
        raise UnauthorizedError(f"secret {secret_name} is not JSON with access_key_id and secret_access_key") from None
