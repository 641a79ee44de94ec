"""cost-reporting-lambda: one client run per SQS message, partial batch failures.

The batch is run by lambdas/orchestration/report_jobs.py (idempotent per run id, the invocation's
deadline handed to the runs), as the export worker runs its own.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.observability import logger, metrics, tracer
from lambdas.orchestration import report_jobs

# The cached factories, by the names the tests clear them with (the environment changes between tests).
_idempotency = report_jobs.idempotency
_runner = report_jobs.runner


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return report_jobs.process_jobs(event, context)
