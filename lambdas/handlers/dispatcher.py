"""cost-reporting-dispatcher: an EventBridge schedule fired; queue one run per due client."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambdas import clock
from lambdas.models.events import DispatchEvent
from lambdas.models.settings import get_settings
from lambdas.observability import logger, metrics, tracer
from lambdas.orchestration.dispatch import dispatch_scheduled


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = DispatchEvent.model_validate(event)
    # The date is read per invocation, never at import: a warm container must not reuse it.
    as_of = request.as_of or clock.today()
    jobs = dispatch_scheduled(request.schedule, as_of, get_settings())
    metrics.add_metric(name="RunsDispatched", unit=MetricUnit.Count, value=len(jobs))
    logger.info("dispatched", extra={"schedule": request.schedule, "as_of": as_of.isoformat(), "jobs": len(jobs)})
    return {"schedule": request.schedule, "as_of": as_of.isoformat(), "dispatched": len(jobs)}
