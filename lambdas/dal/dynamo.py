"""Conversion between plain Python values and DynamoDB attribute values (Decimal safe)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from lambdas.dal.aws import PlatformAdapter
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


class PlatformTable(PlatformAdapter):
    """What every table of the platform answers alike: its description, its recovery settings, its
    item count and its keys (the operations CLI's reviews and recovery checks). Each table's own
    reads and writes are on its adapter, a subclass."""

    SERVICE = "dynamodb"

    def __init__(self, table_name: str, client: Any | None = None) -> None:
        super().__init__(client)
        self.table_name = table_name

    def describe(self) -> dict[str, Any]:
        """DescribeTable's `Table`: status, keys, indexes, sizes (updated by AWS about every 6 hours)."""
        return dict(self.client.describe_table(TableName=self.table_name)["Table"])

    def continuous_backups(self) -> dict[str, Any]:
        """DescribeContinuousBackups' `ContinuousBackupsDescription` (point-in-time recovery)."""
        answer = self.client.describe_continuous_backups(TableName=self.table_name)
        return dict(answer["ContinuousBackupsDescription"])

    def count(self) -> int:
        """The exact number of items: a counting scan of the whole table, every page."""
        pages = self.client.get_paginator("scan").paginate(TableName=self.table_name, Select="COUNT")
        return sum(int(page.get("Count", 0)) for page in pages)

    def key_values(self, attributes: list[str]) -> Iterator[dict[str, Any]]:
        """Every item's `attributes` (typed, as DynamoDB holds them): a scan projected on the keys."""
        projection = ", ".join(f"#k{number}" for number in range(len(attributes)))
        names = {f"#k{number}": attribute for number, attribute in enumerate(attributes)}
        pages = self.client.get_paginator("scan").paginate(
            TableName=self.table_name, ProjectionExpression=projection, ExpressionAttributeNames=names
        )
        for page in pages:
            yield from page.get("Items", [])
