"""Secrets Manager, write side: where stored access keys are kept (a client's, the link signer's).

Reading goes through `CredentialProvider` (what the worker uses); this adapter creates a keys
secret (the local bootstrap), writes a new version of one (rotation), says since when its current
version is current (the rotation of the link signer) and answers whether a secret exists
(onboarding). The value is JSON {"access_key_id", "secret_access_key"}; it never reaches a message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.dal.aws import AwsCredentials, PlatformAdapter, error_code
from lambdas.models.exceptions import DependencyError


def _keys_json(credentials: AwsCredentials) -> str:
    return json.dumps({"access_key_id": credentials.access_key_id, "secret_access_key": credentials.secret_access_key})


class SecretsStore(PlatformAdapter):
    SERVICE = "secretsmanager"

    def exists(self, secret_name: str) -> bool:
        return self.describe(secret_name) is not None

    def describe(self, secret_name: str) -> dict[str, Any] | None:
        """The secret's metadata (name, `KmsKeyId` when not the AWS managed key, dates; never its
        value), or None when there is no such secret."""
        try:
            described: dict[str, Any] = self.client.describe_secret(SecretId=secret_name)
        except ClientError as error:
            if error_code(error) == "ResourceNotFoundException":
                return None
            raise DependencyError(f"Secrets Manager: describe {secret_name} failed ({error_code(error)})") from None
        except BotoCoreError as error:
            raise DependencyError(f"Secrets Manager unreachable ({type(error).__name__})") from None
        return described

    def create_keys(
        self,
        secret_name: str,
        credentials: AwsCredentials,
        *,
        kms_key_id: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> None:
        """A new secret holding the keys (encrypted with `kms_key_id`, else Secrets Manager's default
        key), with `tags` (a client's: {"client_id": ...}, lambdas/models/ownership.py)."""
        options: dict[str, Any] = {"KmsKeyId": kms_key_id} if kms_key_id else {}
        if tags:
            options["Tags"] = [{"Key": key, "Value": value} for key, value in tags.items()]
        self._call(
            f"creating {secret_name}",
            self.client.create_secret,
            Name=secret_name,
            SecretString=_keys_json(credentials),
            **options,
        )

    def put_keys(self, secret_name: str, credentials: AwsCredentials) -> str:
        """Store the keys as the secret's new current version (the previous one stays as
        AWSPREVIOUS); return the new version id."""
        answer = self._call(
            f"storing {secret_name}",
            self.client.put_secret_value,
            SecretId=secret_name,
            SecretString=_keys_json(credentials),
        )
        return str(answer["VersionId"])

    def current_since(self, secret_name: str) -> datetime:
        """When the secret's current value was stored: from then on its readers use it."""
        versions = self._call(f"listing {secret_name}", self.client.list_secret_version_ids, SecretId=secret_name)
        for version in versions.get("Versions", []):
            if "AWSCURRENT" in version.get("VersionStages", []):
                created: datetime = version["CreatedDate"]
                return created
        raise DependencyError(f"Secrets Manager: {secret_name} has no current version")

    @staticmethod
    def _call(what: str, operation: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return operation(**kwargs)
        except ClientError as error:
            raise DependencyError(f"Secrets Manager: {what} failed ({error_code(error)})") from None
        except BotoCoreError as error:
            raise DependencyError(f"Secrets Manager unreachable ({type(error).__name__})") from None
