"""IAM access keys: a client's own, read and changed through the client's own credentials, and the
platform's own IAM users' (the link signer), read and changed through the platform's credentials.

A client's key age and rotation both go through IAM with the key itself (iam:ListAccessKeys,
iam:CreateAccessKey and iam:DeleteAccessKey on the key's own user, plus sts:GetCallerIdentity):
the platform holds no IAM rights in a client's account, and IAM's CreateDate of the key is an
age that cannot drift from the key the way a date kept in a record or a secret can. The link
signer's key may do nothing but read reports, so its user's keys are managed by the operator's
credentials, naming the user (`AccessKeys.of_user`).
Secret access keys are returned to the caller only inside `AwsCredentials` (which never prints
them) and never reach a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.dal.aws import AwsCredentials, client_with, error_code, platform_client
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
    """IAM's and STS's view of one access key: whose it is, and its user's keys. Built on a key, it
    acts on that key's own user with that key; built with `of_user`, on the named user of the
    platform's own account with the platform's credentials."""

    def __init__(
        self,
        credentials: AwsCredentials | None,
        *,
        user_name: str | None = None,
        iam: Any | None = None,
        sts: Any | None = None,
    ) -> None:
        self.credentials = credentials
        self.user_name = user_name
        self._iam = iam
        self._sts = sts

    @classmethod
    def of_user(cls, user_name: str) -> AccessKeys:
        """The keys of one of the platform's own IAM users, managed with the platform's credentials."""
        return cls(None, user_name=user_name)

    @property
    def iam(self) -> Any:
        if self._iam is None:
            self._iam = client_with("iam", self.credentials) if self.credentials else platform_client("iam")
        return self._iam

    @property
    def sts(self) -> Any:
        if self._sts is None:
            self._sts = client_with("sts", self.credentials) if self.credentials else platform_client("sts")
        return self._sts

    def identity(self) -> Identity:
        answer = self._call("sts:GetCallerIdentity", self.sts.get_caller_identity)
        return Identity(account_id=str(answer["Account"]), arn=str(answer["Arn"]))

    def list(self) -> list[AccessKeyInfo]:
        """The keys of the user (the one the credentials belong to, or the one named)."""
        answer = self._call("iam:ListAccessKeys", self.iam.list_access_keys, **self._user())
        return [_info(key) for key in answer.get("AccessKeyMetadata", [])]

    def current(self, access_key_id: str | None = None) -> AccessKeyInfo | None:
        """This key's own metadata, or that of `access_key_id` (None when IAM does not list it:
        deleted, or another user's)."""
        wanted = access_key_id or (self.credentials.access_key_id if self.credentials else "")
        return next((key for key in self.list() if key.access_key_id == wanted), None)

    def create(self) -> tuple[AccessKeyInfo, AwsCredentials]:
        """A new key for the same user. IAM allows two per user; the caller checks first."""
        key = self._call("iam:CreateAccessKey", self.iam.create_access_key, **self._user())["AccessKey"]
        return _info(key), AwsCredentials(key["AccessKeyId"], key["SecretAccessKey"])

    def delete(self, access_key_id: str) -> None:
        self._call("iam:DeleteAccessKey", self.iam.delete_access_key, AccessKeyId=access_key_id, **self._user())

    def _user(self) -> dict[str, str]:
        return {"UserName": self.user_name} if self.user_name else {}

    def _call(self, action: str, operation: Any, **kwargs: Any) -> Any:
        try:
            return operation(**kwargs)
        except ClientError as error:
            code = error_code(error)
            if code in _DENIED:
                whose = f"on user {self.user_name}" if self.user_name else "for this key"
                raise UnauthorizedError(f"{action} refused {whose} ({code})") from None
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
