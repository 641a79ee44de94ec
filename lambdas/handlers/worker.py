"""cost-reporting-lambda: one client run per SQS message, partial batch failures.

Idempotent per run id (Powertools idempotency on DynamoDB): a redelivered message returns
the stored outcome instead of running (and sending) again. A run still in progress
elsewhere raises, so that message is retried later rather than run twice at once.
The invocation's deadline is handed to the runs: none starts a send that Lambda could cut off.
"""

from __future__ import annotations

import time
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
from lambdas.observability import logger, metrics, tracer
from lambdas.orchestration.dependencies import dependencies_from
from lambdas.orchestration.run import ReportRun, invocation_deadline


@lru_cache(maxsize=1)
def _idempotency() -> tuple[IdempotencyConfig, DynamoDBPersistenceLayer]:
    # Built on first use, not at import: tests set the environment first, cold start stays short.
    # A run id is unique per client only: the key is the pair.
    config = IdempotencyConfig(event_key_jmespath="[client_id, run_id]", expires_after_seconds=7 * 24 * 3600)
    return config, DynamoDBPersistenceLayer(table_name=get_settings().idempotency_table)


@lru_cache(maxsize=1)
def _runner() -> Any:
    config, persistence = _idempotency()
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
    run_once, _ = _runner()
    return run_once(job=job.model_dump(mode="json"))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    _, config = _runner()
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
