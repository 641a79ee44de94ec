"""The record of one client run, kept in the executions table (`report history`, audits)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

RunStatus = Literal["running", "succeeded", "incomplete", "failed", "skipped"]
Delivery = Literal["sent", "not_sent", "dry_run", "already_claimed", "suppressed"]


class ExecutionRecord(BaseModel):
    model_config = ConfigDict(extra="ignore")

    client_id: str
    run_id: str
    as_of: date
    kind: str = "scheduled"
    status: RunStatus
    attempts: int = 1
    started_at: datetime
    finished_at: datetime | None = None
    duration_ms: int | None = None
    max_memory_mb: int | None = None  # peak resident memory of the process that ran it (capacity, right-sizing)
    ce_requests: int = 0
    ce_cost_usd: Decimal = Decimal("0")
    cache_hits: int = 0  # Cost Explorer requests the cache made unnecessary
    delivery: Delivery | None = None
    message_id: str | None = None
    recipients: int = 0
    suppressed: int = 0  # recipients left out because SES reported them bouncing or complaining
    channels: list[dict[str, Any]] = []  # Slack / Teams delivery results (never the URLs)
    archive_prefix: str | None = None
    total: Decimal | None = None
    currency: str | None = None
    period_start: date | None = None
    period_end: date | None = None
    error_kind: str | None = None
    error: str | None = None
    # Cost Explorer: the run's budget, the requests its plan needed, and what the core figures lacked
    # (status "incomplete": the report was not sent as a normal one).
    ce_budget: int | None = None
    ce_planned: int | None = None
    missing: list[str] = []
    # The cost source of the run; for a Data Export, the bytes of Parquet fetched and the S3 requests.
    cost_source: str = "cost_explorer"
    export_bytes_read: int | None = None
    export_s3_requests: int | None = None
