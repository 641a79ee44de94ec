"""cost-reporting-feedback: SES bounce and complaint events (through SNS) become recipient
suppressions of the client the message was sent for.

A notification that cannot be parsed raises: Lambda retries the asynchronous invocation and
then keeps it in the events dead-letter queue, so no bounce is silently lost. An event that
carries no `client_id` tag (mail not sent by the worker) is logged and counted, not retried.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas.models.ses_events import SnsDelivery
from lambdas.models.settings import get_settings
from lambdas.observability import logger, metrics, tracer
from lambdas.orchestration.feedback import record_feedback, suppressions_table


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    # One SES event per record (SNS delivers one record per invocation).
    events = SnsDelivery.model_validate(event).ses_events()
    recorded = record_feedback(events, suppressions_table(get_settings()))
    metrics.add_metric(name="RecipientsSuppressed", unit=MetricUnit.Count, value=recorded.suppressed)
    if recorded.unmapped:
        metrics.add_metric(name="FeedbackUnmapped", unit=MetricUnit.Count, value=recorded.unmapped)
    return {"events": recorded.events, "suppressed": recorded.suppressed, "unmapped": recorded.unmapped}
