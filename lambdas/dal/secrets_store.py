"""Secrets Manager, write side: where a client's stored access keys are kept.

Reading goes through `CredentialProvider` (what the worker uses); this adapter writes a new
version of a stored-keys secret (rotation) and answers whether a secret exists (onboarding).
The value is JSON {"access_key_id", "secret_access_key"}; it never reaches a message.
"""

from __future__ import annotations

import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.dal.aws import AwsCredentials, error_code, platform_client
from lambdas.models.exceptions import DependencyError


class SecretsStore:
    def __init__(self, client: Any | None = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = platform_client("secretsmanager")
        return self._client

    def exists(self, secret_name: str) -> bool:
        try:
            self.client.describe_secret(SecretId=secret_name)
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                return False
            raise DependencyError(f"Secrets Manager: describe {secret_name} failed ({error_code(error)})") from None
        except BotoCoreError as error:
            raise DependencyError(f"Secrets Manager unreachable ({type(error).__name__})") from None
        return True

    def put_keys(self, secret_name: str, credentials: AwsCredentials) -> str:
        """Store the keys as the secret's new current version (the previous one stays as
        AWSPREVIOUS); return the new version id."""
        value = json.dumps(
            {"access_key_id": credentials.access_key_id, "secret_access_key": credentials.secret_access_key}
        )
        try:
            answer = self.client.put_secret_value(SecretId=secret_name, SecretString=value)
        except ClientError as error:
            raise DependencyError(f"Secrets Manager: storing {secret_name} failed ({error_code(error)})") from None
        except BotoCoreError as error:
            raise DependencyError(f"Secrets Manager unreachable ({type(error).__name__})") from None
        return str(answer["VersionId"])
