"""A batch of SQS report jobs, as both workers run it: the Cost Explorer worker
(lambdas/handlers/worker.py) and the export worker (lambdas/handlers/export_worker.py) are the same
run (`ReportRun`) with the same dependencies; only their functions' layers and sizes differ.

Idempotent per run id (Powertools idempotency on DynamoDB, one key prefix for both workers): a
redelivered message returns the stored outcome instead of running (and sending) again, whichever
worker receives it. A run still in progress elsewhere raises, so that message is retried later rather
than run twice at once. The invocation's deadline is handed to the runs: none starts a send that
Lambda could cut off.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.models.events import ReportJob
from lambdas.models.settings import get_settings
from lambdas.observability import logger, tracer
from lambdas.orchestration.dependencies import dependencies_from
from lambdas.orchestration.run import ReportRun, invocation_deadline


@lru_cache(maxsize=1)
def idempotency() -> tuple[IdempotencyConfig, DynamoDBPersistenceLayer]:
    # Built on first use, not at import: tests set the environment first, cold start stays short.
    # A run id is unique per client only: the key is the pair.
    config = IdempotencyConfig(event_key_jmespath="[client_id, run_id]", expires_after_seconds=7 * 24 * 3600)
    return config, DynamoDBPersistenceLayer(table_name=get_settings().idempotency_table)


@lru_cache(maxsize=1)
def runner() -> tuple[Callable[..., dict[str, Any]], IdempotencyConfig]:
    config, persistence = idempotency()
    report_run = ReportRun(dependencies_from(get_settings()))

    @idempotent_function(
        data_keyword_argument="job", config=config, persistence_store=persistence, key_prefix="report-run"
    )
    def run_once(job: dict[str, Any]) -> dict[str, Any]:
        return report_run.run(ReportJob.model_validate(job)).summary()

    return run_once, config


@tracer.capture_method
def record_handler(record: SQSRecord) -> dict[str, Any]:
    job = ReportJob.model_validate_json(record.body)
    logger.set_correlation_id(job.client_id)
    run_once, _ = runner()
    return run_once(job=job.model_dump(mode="json"))


def process_jobs(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    """Run every job of the batch; answer the ones that failed (SQS retries exactly those)."""
    _, config = runner()
    config.register_lambda_context(context)
    # A batch whose every record failed is answered like any other (all listed in batchItemFailures),
    # not raised: SQS retries exactly those messages and the invocation is not counted as an error.
    # One processor per invocation: it holds the invocation's results.
    processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
    deadline = invocation_deadline.set(time.monotonic() + context.get_remaining_time_in_millis() / 1000)
    try:
        return process_partial_response(
            event=event, record_handler=record_handler, processor=processor, context=context
        )
    finally:
        invocation_deadline.reset(deadline)
