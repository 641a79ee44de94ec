"""`ops performance`'s document: durations, throughput and errors of the period's runs."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from cli.documents.capacity import worker_limits
from cli.documents.kpis import meta
from cli.probes import sources
from cli.readers import tables
from cli.reviews.capacity import DURATION_THRESHOLD, MEMORY_THRESHOLD, threshold_status
from cli.reviews.kpis import DURATION_TARGET_MS, performance
from cli.reviews.periods import Window
from infrastructure.config import EnvironmentConfig


def performance_document(config: EnvironmentConfig, window: Window, at: datetime) -> dict[str, Any]:
    runs = tables.runs_between(config, window.start_at, window.end_at)
    figures = performance(runs, window, at)
    worker = worker_limits(config)
    dims = {"FunctionName": config.worker_function}
    start, end = window.start_at, min(window.end_at, at) if window.start_at < at else window.end_at
    invocations = {
        "invocations": sources.metric_total("AWS/Lambda", "Invocations", dims, start, end).as_dict(),
        "duration_max_ms": sources.metric_total("AWS/Lambda", "Duration", dims, start, end, "Maximum").as_dict(),
        "errors": sources.metric_total("AWS/Lambda", "Errors", dims, start, end).as_dict(),
        "throttles": sources.metric_total("AWS/Lambda", "Throttles", dims, start, end).as_dict(),
    }
    checks = []
    mean_ms = figures["duration"]["mean_ms"]
    checks.append(
        {
            "check": "average execution time",
            "unit": "ms",
            "value": mean_ms,
            "limit": DURATION_TARGET_MS,
            "status": "UNKNOWN" if mean_ms is None else ("OK" if mean_ms < DURATION_TARGET_MS else "WARNING"),
        }
    )
    peak = figures["memory"]["peak_mb"]
    checks.append(
        {
            "check": "peak memory",
            "unit": "MB",
            "value": peak,
            "limit": worker.memory_mb if worker else None,
            "status": threshold_status(
                Decimal(peak) if peak is not None else None,
                Decimal(worker.memory_mb) if worker else None,
                MEMORY_THRESHOLD,
            ),
        }
    )
    longest = invocations["duration_max_ms"].get("value")
    checks.append(
        {
            "check": "longest invocation",
            "unit": "ms",
            "value": longest,
            "limit": worker.timeout_s * 1000 if worker else None,
            "status": threshold_status(
                Decimal(str(longest)) if longest is not None else None,
                Decimal(worker.timeout_s * 1000) if worker else None,
                DURATION_THRESHOLD,
            ),
        }
    )
    return {
        "format": PERFORMANCE_FORMAT,
        "version": FORMAT_VERSION,
        **meta(config, at, "performance"),
        **figures,
        "worker": worker.as_dict() if worker else None,
        "lambda": invocations,
        "checks": checks,
    }


PERFORMANCE_FORMAT = "cost-reporting-performance"


FORMAT_VERSION = 1
