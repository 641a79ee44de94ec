"""Invoke the Lambda handlers in process, the way the Lambda service would: an event, a
context with a deadline, and the SQS bookkeeping (delete what succeeded, leave the rest)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from time import monotonic
from typing import Any

from infrastructure.config import LOCAL_FUNCTION_MEMORY_MB, LOCAL_FUNCTION_TIMEOUT_S
from lambdas.dal.aws import platform_client


@dataclass
class LocalContext:
    function_name: str
    memory_limit_in_mb: int = LOCAL_FUNCTION_MEMORY_MB
    timeout_seconds: int = LOCAL_FUNCTION_TIMEOUT_S
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    _started: float = field(default_factory=monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self.timeout_seconds - (monotonic() - self._started)) * 1000), 0)


def sqs_event(messages: list[dict[str, Any]], queue_arn: str) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": message.get("Attributes", {"ApproximateReceiveCount": "1"}),
                "messageAttributes": {},
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for message in messages
        ]
    }


def drain_queue(
    queue_url: str,
    handler: Callable[[dict[str, Any], Any], dict[str, Any]],
    function_name: str,
    *,
    batch_size: int = 10,
    on_batch: Callable[[int], None] | None = None,
) -> tuple[int, int]:
    """Feed the queue to the handler in batches, as an event source mapping does, until it is
    empty. Returns (processed, failed) counts; failed items stay in the queue."""
    sqs = platform_client("sqs")
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    processed = failed = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=batch_size,
            VisibilityTimeout=60,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return processed, failed
        response = handler(sqs_event(messages, queue_arn), LocalContext(function_name))
        failures = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failures]
        if done:
            sqs.delete_message_batch(
                QueueUrl=queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        processed += len(done)
        failed += len(failures)
        if on_batch:
            on_batch(len(messages))
        if failures and not done:
            return processed, failed  # only failures left in flight: stop rather than spin


def invoke(handler: Callable[[dict[str, Any], Any], Any], event: dict[str, Any], function_name: str) -> Any:
    result = handler(json.loads(json.dumps(event)), LocalContext(function_name))
    return result
