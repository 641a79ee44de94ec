"""What one run came to: its status, delivery, Cost Explorer use, and (for the CLI and the
demo) the report and its files. `summary()` is what the idempotency store keeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lambdas.dal.archive import report_prefix
from lambdas.logic.queries import requests_cost_usd
from lambdas.models.report import Report
from lambdas.observability import logger


@dataclass
class RunOutcome:
    client_id: str
    run_id: str
    status: str  # succeeded | incomplete | failed | skipped
    delivery: str | None = None
    message_id: str | None = None
    recipients: int = 0
    suppressed: int = 0
    channels: list[dict[str, Any]] = field(default_factory=list)
    ce_requests: int = 0
    cache_hits: int = 0
    error_kind: str | None = None
    error: str | None = None
    report: Report | None = None
    files: dict[str, bytes] = field(default_factory=dict)
    ce_budget: int | None = None
    ce_planned: int | None = None
    missing: list[str] = field(default_factory=list)
    # Where the cost data came from; for a Data Export, what reading it took.
    cost_source: str = "cost_explorer"
    export_bytes_read: int | None = None
    export_s3_requests: int | None = None

    def skip(self, reason: str) -> None:
        """Nothing to do this time (the schedule's next run tries again): said in the outcome and the log."""
        self.status, self.error = "skipped", reason
        logger.info(f"run skipped: {reason}")

    def summary(self) -> dict[str, Any]:
        """What the idempotency store keeps and the handler returns: small and JSON-safe."""
        return {
            "client_id": self.client_id,
            "run_id": self.run_id,
            "status": self.status,
            "delivery": self.delivery,
            "message_id": self.message_id,
            "ce_requests": self.ce_requests,
            "cache_hits": self.cache_hits,
            "error_kind": self.error_kind,
            "error": self.error,
            "missing": self.missing,
        }

    def execution_fields(self, finished_at: datetime, duration_ms: int, max_memory_mb: int) -> dict[str, Any]:
        """What the executions table records of the finished run. An incomplete report was neither
        archived nor sent, and its figures are not the period's: only a succeeded run's are kept."""
        report = self.report if self.status == "succeeded" else None
        return {
            "status": self.status,
            "finished_at": finished_at.isoformat(),
            "duration_ms": duration_ms,
            "max_memory_mb": max_memory_mb,
            "ce_requests": self.ce_requests,
            "ce_cost_usd": requests_cost_usd(self.ce_requests),
            "cache_hits": self.cache_hits,
            "delivery": self.delivery,
            "message_id": self.message_id,
            "error_kind": self.error_kind,
            "error": self.error,
            "archive_prefix": report_prefix(self.client_id, self.run_id) if report else None,
            "total": report.total if report else None,
            "currency": report.currency if report else None,
            "period_start": report.period.start.isoformat() if report else None,
            "period_end": report.period.end.isoformat() if report else None,
            "recipients": self.recipients,
            "suppressed": self.suppressed,
            "channels": self.channels or None,
            "ce_budget": self.ce_budget,
            "ce_planned": self.ce_planned,
            "missing": self.missing or None,
            "cost_source": self.cost_source,
            "export_bytes_read": self.export_bytes_read,
            "export_s3_requests": self.export_s3_requests,
        }
