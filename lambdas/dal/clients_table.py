"""The client table: one item per client, keyed by `client_id`.

Active clients carry `due_schedule` (their schedule); paused clients do not. The sparse
global secondary index `by-schedule` on that attribute answers the dispatcher's "who is due
on this schedule" with a Query, never a Scan.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lambdas.dal.dynamo import PlatformTable, batch_write, from_item, to_item
from lambdas.models.client import Client, parse_client
from lambdas.models.exceptions import ClientNotFoundError

SCHEDULE_INDEX = "by-schedule"
_INTERNAL = ("due_schedule",)


def client_to_item(client: Client) -> dict[str, Any]:
    data = client.model_dump(mode="json", exclude_none=True)
    if client.budget is not None:
        data["budget"] = client.budget  # a number in DynamoDB, Decimal in Python
    if client.active:
        data["due_schedule"] = client.schedule
    return to_item(data)


def item_to_record(item: dict[str, Any]) -> dict[str, Any]:
    """The stored record as plain JSON-able data, without index attributes."""
    data = from_item(item)
    for key in _INTERNAL:
        data.pop(key, None)
    if "budget" in data:
        data["budget"] = str(data["budget"])
    return data


class ClientsTable(PlatformTable):
    def get_record(self, client_id: str) -> dict[str, Any]:
        """The raw record, not yet validated (the worker validates and reports bad fields)."""
        response = self.client.get_item(
            TableName=self.table_name, Key={"client_id": {"S": client_id}}, ConsistentRead=True
        )
        if "Item" not in response:
            raise ClientNotFoundError(client_id)
        return item_to_record(response["Item"])

    def get(self, client_id: str) -> Client:
        return parse_client(self.get_record(client_id))

    def put(self, client: Client, *, must_exist: bool | None = None) -> None:
        kwargs: dict[str, Any] = {"TableName": self.table_name, "Item": client_to_item(client)}
        if must_exist is True:
            kwargs["ConditionExpression"] = "attribute_exists(client_id)"
        elif must_exist is False:
            kwargs["ConditionExpression"] = "attribute_not_exists(client_id)"
        self.client.put_item(**kwargs)

    def delete(self, client_id: str) -> None:
        self.client.delete_item(TableName=self.table_name, Key={"client_id": {"S": client_id}})

    def due(self, schedule: str) -> Iterator[str]:
        """Ids of the active clients on `schedule`, from the sparse index."""
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table_name,
            IndexName=SCHEDULE_INDEX,
            KeyConditionExpression="due_schedule = :s",
            ExpressionAttributeValues={":s": {"S": schedule}},
            ProjectionExpression="client_id",
        ):
            for item in page.get("Items", []):
                yield item["client_id"]["S"]

    def get_records(self, client_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Raw records of many clients, 100 per BatchGetItem (the dispatcher groups them by payer)."""
        found: dict[str, dict[str, Any]] = {}
        unique = sorted(set(client_ids))
        for start in range(0, len(unique), 100):
            request: dict[str, Any] = {
                self.table_name: {"Keys": [{"client_id": {"S": c}} for c in unique[start : start + 100]]}
            }
            while request:
                answer = self.client.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self.table_name, []):
                    record = item_to_record(item)
                    found[str(record["client_id"])] = record
                request = answer.get("UnprocessedKeys") or {}
        return found

    def records(self) -> Iterator[dict[str, Any]]:
        """Every stored record, raw (exports and audits; not on the reporting path)."""
        paginator = self.client.get_paginator("scan")
        for page in paginator.paginate(TableName=self.table_name, ConsistentRead=True):
            for item in page.get("Items", []):
                yield item_to_record(item)

    def items(self) -> Iterator[dict[str, Any]]:
        """Every item exactly as DynamoDB holds it (typed attribute values): item sizes for billing."""
        paginator = self.client.get_paginator("scan")
        for page in paginator.paginate(TableName=self.table_name, ConsistentRead=True):
            yield from page.get("Items", [])

    def edit_by_hand(self, client_id: str, attribute: str, text: str) -> None:
        """Set one attribute to a string, unvalidated, as a console edit would (the training
        exercises break a record this way; `put` never writes what the model refuses)."""
        self.client.update_item(
            TableName=self.table_name,
            Key={"client_id": {"S": client_id}},
            UpdateExpression="SET #a = :text",
            ExpressionAttributeNames={"#a": attribute},
            ExpressionAttributeValues={":text": {"S": text}},
        )

    def put_all(self, clients: list[Client]) -> None:
        """Write many clients in batches (imports and restores; the caller validated them all)."""
        batch_write(self.client, self.table_name, [{"PutRequest": {"Item": client_to_item(c)}} for c in clients])

    def delete_all(self, client_ids: list[str]) -> None:
        requests = [{"DeleteRequest": {"Key": {"client_id": {"S": client_id}}}} for client_id in client_ids]
        batch_write(self.client, self.table_name, requests)
