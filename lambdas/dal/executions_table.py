"""The executions table: one item per client run (`client_id`, `run_id`), with a TTL.

It also holds the delivery claim that makes a send happen once per run, whatever the queue
redelivers: the worker claims the run with a conditional write before calling SES, and records
SES's message id the moment SES accepts the message. A claim carries a lease (the end of the
claiming invocation): an attempt that died holding it, with no message id recorded, is taken over
once the lease has passed, so a crash between the claim and the send loses no report.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from lambdas.dal.aws import error_code
from lambdas.dal.dynamo import PlatformTable, batch_write, from_item, to_item
from lambdas.models.execution import ExecutionRecord


@dataclass(frozen=True)
class DeliveryClaim:
    granted: bool  # this attempt may send
    message_id: str | None = None  # not granted: an earlier attempt sent it (SES's id)
    recipients: int = 0


class ExecutionsTable(PlatformTable):
    def __init__(self, table_name: str, *, ttl_days: int = 400, client: Any | None = None) -> None:
        super().__init__(table_name, client)
        self.ttl_days = ttl_days

    def _key(self, client_id: str, run_id: str) -> dict[str, Any]:
        return {"client_id": {"S": client_id}, "run_id": {"S": run_id}}

    def start(self, client_id: str, run_id: str, *, as_of: str, kind: str, now: datetime) -> None:
        """Mark the run as running; a redelivered run updates the same item (attempts + 1)."""
        expires = int((now + timedelta(days=self.ttl_days)).timestamp())
        self.client.update_item(
            TableName=self.table_name,
            Key=self._key(client_id, run_id),
            UpdateExpression=(
                "SET #s = :running, started_at = :now, as_of = :as_of, kind = :kind, expires_at = :exp "
                "ADD attempts :one"
            ),
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues=to_item(
                {
                    ":running": "running",
                    ":now": now.isoformat(),
                    ":as_of": as_of,
                    ":kind": kind,
                    ":exp": expires,
                    ":one": 1,
                }
            ),
        )

    def finish(self, client_id: str, run_id: str, fields: dict[str, Any]) -> None:
        values = {key: value for key, value in fields.items() if value is not None}
        names = {f"#{i}": key for i, key in enumerate(values)}
        self.client.update_item(
            TableName=self.table_name,
            Key=self._key(client_id, run_id),
            UpdateExpression="SET " + ", ".join(f"#{i} = :{i}" for i in range(len(values))),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_item({f":{i}": value for i, value in enumerate(values.values())}),
        )

    def claim_delivery(self, client_id: str, run_id: str, now: datetime, lease_until: datetime) -> DeliveryClaim:
        """Granted to the one attempt allowed to send: the first, or one taking over the claim of an
        attempt whose lease has passed without a message id. Otherwise says what the holder did."""
        try:
            self.client.update_item(
                TableName=self.table_name,
                Key=self._key(client_id, run_id),
                UpdateExpression="SET delivery_claimed_at = :now, delivery_lease_until = :lease",
                ConditionExpression=(
                    "attribute_not_exists(delivery_claimed_at) OR (attribute_not_exists(message_id) AND "
                    "(attribute_not_exists(delivery_lease_until) OR delivery_lease_until < :epoch))"
                ),
                ExpressionAttributeValues=to_item(
                    {
                        ":now": now.isoformat(),
                        ":lease": int(lease_until.timestamp()) + 1,  # rounded up: never shorter than asked
                        ":epoch": int(now.timestamp()),
                    }
                ),
            )
        except Exception as error:
            if error_code(error) != "ConditionalCheckFailedException":
                raise
            response = self.client.get_item(
                TableName=self.table_name,
                Key=self._key(client_id, run_id),
                ConsistentRead=True,
                ProjectionExpression="message_id, recipients",
            )
            held = from_item(response.get("Item", {}))
            message_id = held.get("message_id")
            return DeliveryClaim(False, str(message_id) if message_id else None, int(held.get("recipients", 0)))
        return DeliveryClaim(True)

    def mark_sent(self, client_id: str, run_id: str, message_id: str, recipients: int) -> None:
        """Record SES's acceptance at once: from here on no attempt of this run sends again."""
        self.client.update_item(
            TableName=self.table_name,
            Key=self._key(client_id, run_id),
            UpdateExpression="SET message_id = :id, delivery = :sent, recipients = :n",
            ExpressionAttributeValues=to_item({":id": message_id, ":sent": "sent", ":n": recipients}),
        )

    def release_delivery(self, client_id: str, run_id: str) -> None:
        """Give the claim back when SES certainly did not accept the message."""
        self.client.update_item(
            TableName=self.table_name,
            Key=self._key(client_id, run_id),
            UpdateExpression="REMOVE delivery_claimed_at, delivery_lease_until",
        )

    def get(self, client_id: str, run_id: str) -> ExecutionRecord | None:
        response = self.client.get_item(
            TableName=self.table_name, Key=self._key(client_id, run_id), ConsistentRead=True
        )
        return ExecutionRecord.model_validate(from_item(response["Item"])) if "Item" in response else None

    def history(self, client_id: str, *, limit: int = 50) -> list[ExecutionRecord]:
        """The client's runs, newest first (run ids start with the as-of date)."""
        response = self.client.query(
            TableName=self.table_name,
            KeyConditionExpression="client_id = :c",
            ExpressionAttributeValues={":c": {"S": client_id}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [ExecutionRecord.model_validate(from_item(item)) for item in response.get("Items", [])]

    def last_succeeded(self, client_id: str) -> ExecutionRecord | None:
        """The client's newest succeeded run (health checks: is the client stale?)."""
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table_name,
            KeyConditionExpression="client_id = :c",
            FilterExpression="#s = :succeeded",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":c": {"S": client_id}, ":succeeded": {"S": "succeeded"}},
            ScanIndexForward=False,
            PaginationConfig={"PageSize": 25},
        ):
            for item in page.get("Items", []):
                return ExecutionRecord.model_validate(from_item(item))
        return None

    def started_between(self, start: datetime, end: datetime) -> Iterator[list[ExecutionRecord]]:
        """Every run that started in [start, end), a page at a time: one filtered scan of the whole
        table (the operations reviews; never on the reporting path)."""
        paginator = self.client.get_paginator("scan")
        pages = paginator.paginate(
            TableName=self.table_name,
            FilterExpression="started_at >= :start AND started_at < :end",
            ExpressionAttributeValues={":start": {"S": start.isoformat()}, ":end": {"S": end.isoformat()}},
        )
        for page in pages:
            yield [ExecutionRecord.model_validate(from_item(item)) for item in page.get("Items", [])]

    def since(self, client_id: str, day: date) -> list[ExecutionRecord]:
        """The client's runs for days from `day` on (run ids start with the as-of day), newest first."""
        paginator = self.client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table_name,
            KeyConditionExpression="client_id = :c AND run_id >= :since",
            ExpressionAttributeValues={":c": {"S": client_id}, ":since": {"S": day.isoformat()}},
            ScanIndexForward=False,
        )
        return [ExecutionRecord.model_validate(from_item(item)) for page in pages for item in page.get("Items", [])]

    def delete(self, client_id: str, run_ids: list[str]) -> None:
        """Forget the client's runs (the training exercises start each client afresh)."""
        for run_id in run_ids:
            self.client.delete_item(TableName=self.table_name, Key=self._key(client_id, run_id))

    def items(self) -> Iterator[dict[str, Any]]:
        """Every item exactly as DynamoDB holds it (typed attribute values): backups, lossless."""
        paginator = self.client.get_paginator("scan")
        for page in paginator.paginate(TableName=self.table_name, ConsistentRead=True):
            yield from page.get("Items", [])

    def put_items(self, items: list[dict[str, Any]]) -> None:
        """Write typed items back as they were (restores)."""
        batch_write(self.client, self.table_name, [{"PutRequest": {"Item": item}} for item in items])
