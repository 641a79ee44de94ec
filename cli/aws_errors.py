"""AWS errors in one line, secret-free: what went wrong (the error code, or why AWS was unreachable),
and whether it means the resource is missing or the endpoint lacks the operation."""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.dal.aws import error_code

_MISSING = {
    "ResourceNotFoundException",
    "NoSuchBucket",
    "404",
    "NotFound",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
    "NotFoundException",
    "ResourceNotFound",
}


def problem(error: Exception) -> str:
    """A short, secret-free description of an AWS error."""
    if isinstance(error, ClientError):
        return error_code(error) or "error"
    if isinstance(error, BotoCoreError):
        return f"unreachable ({type(error).__name__})"
    return type(error).__name__


def missing(error: Exception) -> bool:
    return isinstance(error, ClientError) and error_code(error) in _MISSING


def not_implemented(error: Exception) -> bool:
    """The endpoint (an emulator) does not offer this operation at all; AWS always does."""
    if not isinstance(error, ClientError):
        return False
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status in (404, 501) and error_code(error) in ("404", "501", "NotImplemented", "")
