"""What one run came to: its status, delivery, Cost Explorer use, and (for the CLI and the
demo) the report and its files. `summary()` is what the idempotency store keeps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lambdas.models.report import Report


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
