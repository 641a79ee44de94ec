"""`ops audit-report`'s document: who read which client's costs, and every change recorded."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime
from typing import Any

from cli.documents.kpis import meta
from cli.documents.security_audit import REFUSED_KINDS
from cli.probes import sources
from cli.readers import tables
from cli.reviews.access import readers, requester
from cli.reviews.periods import Window
from cli.workflows import audit_trail as audit
from infrastructure.config import EnvironmentConfig


def audit_document(config: EnvironmentConfig, window: Window, at: datetime) -> dict[str, Any]:
    start, end = window.start_at, window.end_at
    events, unreadable = audit.events_between(config, start, end)
    changes = [e.model_dump(mode="json") for e in events if e.action.startswith(("client.", "backup."))]
    rotations = [e.model_dump(mode="json") for e in events if e.action == "credentials.rotate"]
    group = f"/aws/lambda/{config.worker_function}"
    access = sources.log_events(group, "ACCESS", start, end)
    refused = sources.log_events(group, "UNAUTHORIZED", start, end)
    access_by: dict[str, Counter[str]] = defaultdict(Counter)
    for event in access.value or []:
        access_by[str(event.get("client_id", "?"))][str(event.get("requester", "?"))] += 1
    runs = tables.runs_between(config, start, end)
    runs_by: dict[str, Counter[str]] = defaultdict(Counter)
    for run in runs:
        runs_by[run.client_id][requester(run)] += 1
    unauthorized = [
        {
            "at": e["timestamp"],
            "client_id": e.get("client_id"),
            "run_id": e.get("run_id"),
            "requester": e.get("requester"),
            "message": e.get("message"),
        }
        for e in refused.value or []
    ]
    refused_runs = [
        {"at": r.started_at, "client_id": r.client_id, "run_id": r.run_id, "error": r.error}
        for r in runs
        if r.error_kind in REFUSED_KINDS
    ]
    by_actor = Counter(e.actor for e in events)
    return {
        **meta(config, at, "audit"),
        "period": window.as_dict(),
        "changes": changes,
        "rotations": rotations,
        "changes_by_actor": dict(sorted(by_actor.items())),
        "unreadable_audit_objects": unreadable,
        "access": {
            "log_events": access.counted(),
            "by_client": {client: dict(sorted(c.items())) for client, c in sorted(access_by.items())},
            "runs_by_client": {client: dict(sorted(c.items())) for client, c in sorted(runs_by.items())},
            "readers": readers(runs, access.value or []),
            "note": "every run reads its client's cost data: runs are recorded for the whole period; worker log "
            "lines are kept by CloudWatch Logs (events older than 14 days are not accepted, and the CLI's "
            "manual runs log to the operator's terminal, not to CloudWatch)",
        },
        "unauthorized": {
            "log_events": refused.counted(),
            "events": unauthorized,
            "refused_runs": refused_runs,
        },
    }
