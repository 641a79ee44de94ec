"""Helpers of the integration tests: SQS events and sent mail from the embedded AWS."""

from __future__ import annotations

import uuid
from typing import Any

from emulator.admin import admin
from emulator.lambda_runtime import LocalContext
from lambdas.models.events import ReportJob


def sqs_record(job: ReportJob, message_id: str | None = None) -> dict[str, Any]:
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "handle",
        "body": job.model_dump_json(),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:cost-reporting-jobs-local",
        "awsRegion": "us-east-1",
    }


def invoke_worker(*jobs: ReportJob) -> dict[str, Any]:
    from lambdas.handlers import worker

    event = {"Records": [sqs_record(job) for job in jobs]}
    return worker.handler(event, LocalContext("cost-reporting-lambda-local"))


def sent_messages(endpoint_url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = admin(endpoint_url, "ses/messages")
    return messages
