"""The suppressions table: recipients a client's reports must no longer go to, keyed by
(`client_id`, `email`), the address lower-cased. Written by the SES feedback handler, read
before sending, cleared by an operator once the client fixed the address.

Clearing marks the item (`cleared_at`, `cleared_by`) instead of deleting it: the bounce it
records still happened, and the operations report counts it in the delivery KPI. Reads that
answer "who gets no mail now" (`is_suppressed`, `list`, `every_client(cleared=False)`) skip cleared items; a
bounce or complaint newer than the clearing suppresses the address again.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from lambdas.dal.aws import error_code
from lambdas.dal.dynamo import PlatformTable, batch_write, from_item, to_item
from lambdas.models.ses_events import Suppression


def _key(client_id: str, email: str) -> dict[str, Any]:
    return {"client_id": {"S": client_id}, "email": {"S": email.strip().lower()}}


class SuppressionsTable(PlatformTable):
    def add(self, suppression: Suppression) -> bool:
        """Record a suppression; False when a newer one for the same address is already there
        (SNS may deliver an event twice, or late, and an older event must not overwrite a newer),
        or when an operator cleared the address after the event (a late copy of the bounce that
        was cleared must not suppress it again)."""
        recorded_at = _stamp(suppression.recorded_at)
        values = suppression.model_dump(
            mode="json", exclude={"client_id", "email", "recorded_at", "cleared_at", "cleared_by"}, exclude_none=True
        )
        values["recorded_at"] = recorded_at
        names = {f"#{i}": key for i, key in enumerate(values)}
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=_key(suppression.client_id, suppression.email),
                UpdateExpression="SET "
                + ", ".join(f"#{i} = :{i}" for i in range(len(values)))
                + " REMOVE cleared_at, cleared_by",
                # Timestamps are UTC ISO strings of one format: string order is time order.
                ConditionExpression="attribute_not_exists(email)"
                " OR (attribute_not_exists(cleared_at) AND recorded_at <= :at)"
                " OR cleared_at < :at",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={
                    **to_item({f":{i}": value for i, value in enumerate(values.values())}),
                    ":at": {"S": recorded_at},
                },
            )
        except Exception as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def list(self, client_id: str) -> list[Suppression]:
        """Every recipient of the client that is suppressed now, by address."""
        found: list[Suppression] = []
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table_name,
            KeyConditionExpression="client_id = :c",
            ExpressionAttributeValues={":c": {"S": client_id}},
            ConsistentRead=True,
        ):
            found.extend(_active(page))
        return found

    def every_client(self, *, cleared: bool) -> builtins.list[Suppression]:
        """Every suppression of every client (the table stays small: one item per bounced or
        complaining address). `cleared=False`: the addresses suppressed now (health checks);
        `cleared=True`: the cleared ones too (the delivery KPI counts every bounce that happened)."""
        found: builtins.list[Suppression] = []
        for page in self.client.get_paginator("scan").paginate(TableName=self.table_name, ConsistentRead=True):
            found.extend(_all(page) if cleared else _active(page))
        return found

    def is_suppressed(self, client_id: str, email: str) -> bool:
        response = self.client.get_item(
            TableName=self.table_name,
            Key=_key(client_id, email),
            ConsistentRead=True,
            ProjectionExpression="email, cleared_at",
        )
        return "Item" in response and "cleared_at" not in response["Item"]

    def items(self) -> Iterator[dict[str, Any]]:
        """Every item exactly as DynamoDB holds it (typed), cleared ones included: backups, lossless."""
        for page in self.client.get_paginator("scan").paginate(TableName=self.table_name, ConsistentRead=True):
            yield from page.get("Items", [])

    def put_items(self, items: builtins.list[dict[str, Any]]) -> None:
        """Write typed items back as they were (restores)."""
        batch_write(self.client, self.table_name, [{"PutRequest": {"Item": item}} for item in items])

    def forget(self, client_id: str, email: str) -> None:
        """Delete the address's record, bounce and all (the training exercises start afresh)."""
        self.client.delete_item(TableName=self.table_name, Key=_key(client_id, email))

    def clear(self, client_id: str, email: str, *, at: datetime, by: str) -> Suppression | None:
        """Allow the address again, keeping the record of its bounce or complaint; the suppression
        cleared, or None if the address was not suppressed (never, or cleared already)."""
        try:
            response = self.client.update_item(
                TableName=self.table_name,
                Key=_key(client_id, email),
                UpdateExpression="SET cleared_at = :at, cleared_by = :by",
                ConditionExpression="attribute_exists(email) AND attribute_not_exists(cleared_at)",
                ExpressionAttributeValues={":at": {"S": _stamp(at)}, ":by": {"S": by}},
                ReturnValues="ALL_NEW",
            )
        except Exception as error:
            if error_code(error) == "ConditionalCheckFailedException":
                return None
            raise
        return Suppression.model_validate(from_item(response["Attributes"]))


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _all(page: dict[str, Any]) -> builtins.list[Suppression]:
    return [Suppression.model_validate(from_item(item)) for item in page.get("Items", [])]


def _active(page: dict[str, Any]) -> builtins.list[Suppression]:
    return [suppression for suppression in _all(page) if suppression.active]
