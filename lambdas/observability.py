"""Logger, Metrics and Tracer, created once and imported everywhere.

Service name, namespace and log level come from the standard Powertools environment
variables the stack sets (POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE,
POWERTOOLS_LOG_LEVEL); the defaults below serve local runs.
"""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger, Metrics, Tracer

# The stack sets these per environment, so two environments never mix their metrics.
SERVICE = os.environ.get("POWERTOOLS_SERVICE_NAME", "cost-reporting")
NAMESPACE = os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "CostReporting")

logger = Logger(service=SERVICE)
metrics = Metrics(namespace=NAMESPACE, service=SERVICE)
tracer = Tracer(service=SERVICE)

# Audit markers the runbook's log filters search for (DESIGN.md).
UNAUTHORIZED = "UNAUTHORIZED"
ACCESS = "ACCESS"
