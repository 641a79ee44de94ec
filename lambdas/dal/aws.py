"""Plain boto3 clients: no hard-coded endpoint, so AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>
and AWS_REGION point every one of them at an emulator or a region (DESIGN.md contracts).

Clients on the platform's own credentials are cached per process (built lazily, never at
import); clients on a client's credentials are built per run and not cached.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any, ClassVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from lambdas.models.exceptions import AccessDeniedError, DependencyError, PlatformError

COST_EXPLORER_REGION = "us-east-1"  # Cost Explorer is global, served from us-east-1.

_STANDARD = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)
# Adaptive mode adds client-side rate limiting on top of backoff with jitter: the right
# answer to ThrottlingException / LimitExceededException from Cost Explorer. A first try and 8
# retries (botocore's `max_attempts` counts retries only; `total_max_attempts` counts them all).
_ADAPTIVE = Config(retries={"mode": "adaptive", "total_max_attempts": 9}, connect_timeout=5, read_timeout=60)
# SES: a send must end well before the Lambda does (the worker claims a delivery only when this
# much of its invocation is left): at most 4 attempts in all of 5 s connect + 20 s read, plus backoff.
SES_ATTEMPTS = 4
_SES = Config(retries={"mode": "standard", "total_max_attempts": SES_ATTEMPTS}, connect_timeout=5, read_timeout=20)
SES_CALL_BUDGET_SECONDS = SES_ATTEMPTS * (5 + 20) + 20

# S3: botocore still presigns with Signature Version 2 unless told otherwise, and S3 refuses SigV2
# for objects encrypted with KMS (the assets bucket's default): every "view online" link would fail.
_S3 = Config(
    signature_version="s3v4", retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30
)

_CONFIGS = {"ce": _ADAPTIVE, "sesv2": _SES, "s3": _S3}


@dataclass(frozen=True)
class AwsCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def __repr__(self) -> str:  # never print a secret, even by accident
        return f"AwsCredentials(access_key_id={self.access_key_id[:4]}…)"


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


@cache
def _shared_session() -> boto3.session.Session:
    # One session per process: a new Session re-reads botocore's endpoint and service models
    # (about 0.25 s each time). Endpoints (AWS_ENDPOINT_URL...) are still read per client.
    return boto3.session.Session()


@cache
def platform_client(service: str) -> Any:
    """A client on the platform's own credentials (the Lambda role, or the operator's)."""
    config = _CONFIGS.get(service, _STANDARD)
    return _shared_session().client(service, region_name=_region_for(service), config=config)


def client_with(service: str, credentials: AwsCredentials) -> Any:
    """A client on a client's credentials (assumed role or stored keys); built per run."""
    config = _CONFIGS.get(service, _STANDARD)
    return _shared_session().client(
        service,
        region_name=_region_for(service),
        config=config,
        aws_access_key_id=credentials.access_key_id,
        aws_secret_access_key=credentials.secret_access_key,
        aws_session_token=credentials.session_token,
    )


class PlatformAdapter:
    """Base of the adapters on the platform's own credentials: `client` is `platform_client(SERVICE)`,
    built on first use (never at import, so tests can set the environment first), or the one given."""

    SERVICE: ClassVar[str]

    def __init__(self, client: Any | None = None) -> None:
        self._client = client

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = platform_client(self.SERVICE)
        return self._client


def _region_for(service: str) -> str:
    return COST_EXPLORER_REGION if service == "ce" else region()


@lru_cache(maxsize=4)
def signing_client(service: str, credentials: AwsCredentials) -> Any:
    """A client on a platform key that signs locally (the link signer's), kept while the process
    lives: building one costs ~8 ms of CPU, a run signs with the same key as the run before. Four
    entries hold the key in use and, during a rotation, the one before it."""
    return client_with(service, credentials)


def reset_clients() -> None:
    """Forget cached clients (tests and commands that change the endpoint between calls)."""
    platform_client.cache_clear()
    signing_client.cache_clear()


def error_code(error: Exception) -> str:
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


# Codes with which an AWS service refuses the caller itself (IAM, KMS or resource policy).
ACCESS_DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "KMSAccessDeniedException",
        "KMS.AccessDeniedException",
        "AuthorizationError",
    }
)


def platform_error(error: BaseException) -> PlatformError | None:
    """A botocore failure that an adapter let through, as the platform's own exception type (one
    line naming the operation and AWS's error code, never AWS's message); None for anything else.
    Both are transient for the queue: the platform's own resources answer again once AWS or an
    operator has fixed what failed."""
    if isinstance(error, ClientError):
        code, operation = error_code(error), error.operation_name
        if code in ACCESS_DENIED_CODES:
            return AccessDeniedError(f"{operation} refused ({code})")
        return DependencyError(f"{operation} failed ({code})")
    if isinstance(error, BotoCoreError):
        return DependencyError(f"AWS unreachable ({type(error).__name__})")
    return None
