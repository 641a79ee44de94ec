"""cost-reporting-export-worker: one run per SQS message of the export jobs queue, for the clients
whose cost source is data_exports (the dispatcher routes them there: lambdas/orchestration/dispatch.py).

The same run as the worker's (lambdas/orchestration/report_jobs.py: `ReportRun`, idempotent per run
id with the same key, so a job is never run twice whichever worker receives it). What differs is the
function: DuckDB in its own layer, and the memory and /tmp a read at the in-process threshold needs
(infrastructure/config.py, docs/data-exports.md "Deployment"). DuckDB is still imported on the first
read, not here: a run that fails before reading never pays for it.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.observability import logger, metrics, tracer
from lambdas.orchestration import report_jobs


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return report_jobs.process_jobs(event, context)
