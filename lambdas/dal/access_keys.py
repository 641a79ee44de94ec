"""A client's own IAM access keys, read and changed through the client's own credentials.

Key age and rotation both go through IAM with the key itself (iam:ListAccessKeys,
iam:CreateAccessKey and iam:DeleteAccessKey on the key's own user, plus sts:GetCallerIdentity):
the platform holds no IAM rights in a client's account, and IAM's CreateDate of the key is an
age that cannot drift from the key the way a date kept in a record or a secret can.
Secret access keys are returned to the caller only inside `AwsCredentials` (which never prints
them) and never reach a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.dal.aws import AwsCredentials, client_with, error_code
from lambdas.models.exceptions import DependencyError, UnauthorizedError

_DENIED = {
    "AccessDenied",
    "AccessDeniedException",
    "InvalidClientTokenId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "UnrecognizedClientException",
}


@dataclass(frozen=True)
class AccessKeyInfo:
    access_key_id: str
    status: str  # Active | Inactive
    created: datetime
    user_name: str


@dataclass(frozen=True)
class Identity:
    account_id: str
    arn: str


class AccessKeys:
    """IAM's and STS's view of one access key: whose it is, and its user's keys."""

    def __init__(self, credentials: AwsCredentials, *, iam: Any | None = None, sts: Any | None = None) -> None:
        self.credentials = credentials
        self._iam = iam
        self._sts = sts

    @property
    def iam(self) -> Any:
        if self._iam is None:
            self._iam = client_with("iam", self.credentials)
        return self._iam

    @property
    def sts(self) -> Any:
        if self._sts is None:
            self._sts = client_with("sts", self.credentials)
        return self._sts

    def identity(self) -> Identity:
        answer = self._call("sts:GetCallerIdentity", self.sts.get_caller_identity)
        return Identity(account_id=str(answer["Account"]), arn=str(answer["Arn"]))

    def list(self) -> list[AccessKeyInfo]:
        """The keys of the user the credentials belong to."""
        answer = self._call("iam:ListAccessKeys", self.iam.list_access_keys)
        return [_info(key) for key in answer.get("AccessKeyMetadata", [])]

    def current(self) -> AccessKeyInfo | None:
        """This key's own metadata (None when IAM does not list it: deleted, or another user's)."""
        return next((key for key in self.list() if key.access_key_id == self.credentials.access_key_id), None)

    def create(self) -> tuple[AccessKeyInfo, AwsCredentials]:
        """A new key for the same user. IAM allows two per user; the caller checks first."""
        key = self._call("iam:CreateAccessKey", self.iam.create_access_key)["AccessKey"]
        return _info(key), AwsCredentials(key["AccessKeyId"], key["SecretAccessKey"])

    def delete(self, access_key_id: str) -> None:
        self._call("iam:DeleteAccessKey", self.iam.delete_access_key, AccessKeyId=access_key_id)

    def _call(self, action: str, operation: Any, **kwargs: Any) -> Any:
        try:
            return operation(**kwargs)
        except ClientError as error:
            code = error_code(error)
            if code in _DENIED:
                raise UnauthorizedError(f"{action} refused for this key ({code})") from None
            raise DependencyError(f"{action} failed ({code})") from None
        except BotoCoreError as error:
            raise DependencyError(f"{action}: IAM unreachable ({type(error).__name__})") from None


def _info(key: dict[str, Any]) -> AccessKeyInfo:
    return AccessKeyInfo(
        access_key_id=str(key["AccessKeyId"]),
        status=str(key.get("Status", "Active")),
        created=key["CreateDate"],
        user_name=str(key.get("UserName", "")),
    )
