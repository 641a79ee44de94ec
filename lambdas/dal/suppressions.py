"""The suppressions table: recipients a client's reports must no longer go to, keyed by
(`client_id`, `email`), the address lower-cased. Written by the SES feedback handler, read
before sending, cleared by an operator once the client fixed the address.
"""

from __future__ import annotations

import builtins
from datetime import UTC
from typing import Any

from lambdas.dal.aws import PlatformAdapter, error_code
from lambdas.dal.dynamo import from_item, to_item
from lambdas.models.ses_events import Suppression


def _key(client_id: str, email: str) -> dict[str, Any]:
    return {"client_id": {"S": client_id}, "email": {"S": email.strip().lower()}}


class SuppressionsTable(PlatformAdapter):
    SERVICE = "dynamodb"

    def __init__(self, table_name: str, client: Any | None = None) -> None:
        super().__init__(client)
        self.table_name = table_name

    def add(self, suppression: Suppression) -> bool:
        """Record a suppression; False when a newer one for the same address is already there
        (SNS may deliver an event twice, or late, and an older event must not overwrite a newer)."""
        recorded_at = suppression.recorded_at.astimezone(UTC).isoformat()
        values = suppression.model_dump(mode="json", exclude={"client_id", "email", "recorded_at"}, exclude_none=True)
        values["recorded_at"] = recorded_at
        names = {f"#{i}": key for i, key in enumerate(values)}
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=_key(suppression.client_id, suppression.email),
                UpdateExpression="SET " + ", ".join(f"#{i} = :{i}" for i in range(len(values))),
                # Timestamps are UTC ISO strings of one format: string order is time order.
                ConditionExpression="attribute_not_exists(email) OR recorded_at <= :at",
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
        """Every suppressed recipient of the client, by address."""
        found: list[Suppression] = []
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table_name,
            KeyConditionExpression="client_id = :c",
            ExpressionAttributeValues={":c": {"S": client_id}},
            ConsistentRead=True,
        ):
            found.extend(Suppression.model_validate(from_item(item)) for item in page.get("Items", []))
        return found

    def every_client(self) -> builtins.list[Suppression]:
        """Every suppression of every client (health checks; the table stays small: one item per
        bounced or complaining address)."""
        found: builtins.list[Suppression] = []
        for page in self.client.get_paginator("scan").paginate(TableName=self.table_name, ConsistentRead=True):
            found.extend(Suppression.model_validate(from_item(item)) for item in page.get("Items", []))
        return found

    def is_suppressed(self, client_id: str, email: str) -> bool:
        response = self.client.get_item(
            TableName=self.table_name,
            Key=_key(client_id, email),
            ConsistentRead=True,
            ProjectionExpression="email",
        )
        return "Item" in response

    def clear(self, client_id: str, email: str) -> bool:
        """Allow the address again; False if it was not suppressed."""
        response = self.client.delete_item(
            TableName=self.table_name, Key=_key(client_id, email), ReturnValues="ALL_OLD"
        )
        return "Attributes" in response
