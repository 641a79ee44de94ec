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

from lambdas.dal.suppressions import SuppressionsTable
from lambdas.models.ses_events import SnsDelivery
from lambdas.models.settings import get_settings
from lambdas.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    # One SES event per record (SNS delivers one record per invocation).
    events = SnsDelivery.model_validate(event).ses_events()
    table = SuppressionsTable(get_settings().suppressions_table)
    recorded = unmapped = 0
    for ses_event in events:
        if ses_event.client_id is None:
            unmapped += 1
            logger.warning("SES event without a client_id tag", extra={"message_id": ses_event.mail.message_id})
            continue
        suppressions = ses_event.suppressions()
        recorded += sum(table.add(suppression) for suppression in suppressions)
        # Counts and ids only: recipients' addresses stay in the table, out of the logs.
        logger.info(
            "SES feedback",
            extra={
                "client_id": ses_event.client_id,
                "run_id": ses_event.run_id,
                "event_type": ses_event.event_type,
                "suppressed": len(suppressions),
            },
        )
    metrics.add_metric(name="RecipientsSuppressed", unit=MetricUnit.Count, value=recorded)
    if unmapped:
        metrics.add_metric(name="FeedbackUnmapped", unit=MetricUnit.Count, value=unmapped)
    return {"events": len(events), "suppressed": recorded, "unmapped": unmapped}
