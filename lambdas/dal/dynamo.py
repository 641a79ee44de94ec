"""Conversion between plain Python values and DynamoDB attribute values (Decimal safe)."""

from __future__ import annotations

import time
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from lambdas.models.exceptions import DependencyError

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    return {key: _serializer.serialize(value) for key, value in data.items() if value is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _deserializer.deserialize(value) for key, value in item.items()}


BATCH_WRITE_LIMIT = 25  # DynamoDB BatchWriteItem limit


def batch_write(client: Any, table_name: str, requests: list[dict[str, Any]], *, attempts: int = 8) -> None:
    """Write PutRequest/DeleteRequest entries in batches of 25, resending what DynamoDB left
    unprocessed (with backoff) until all are written or the attempts run out."""
    for start in range(0, len(requests), BATCH_WRITE_LIMIT):
        pending: dict[str, Any] = {table_name: requests[start : start + BATCH_WRITE_LIMIT]}
        for attempt in range(attempts):
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            if not pending:
                break
            time.sleep(min(0.05 * 2**attempt, 2.0))
        if pending:
            raise DependencyError(f"DynamoDB left {len(pending[table_name])} write(s) unprocessed in {table_name}")
