"""`ops client-health`'s document: each client's health, those needing attention first."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from typing import Any

from cli.context import tracked
from cli.documents.kpis import meta
from cli.readers import tables
from cli.readers.clients import clients_table, key_age
from cli.reviews.checks import is_stale
from cli.reviews.client_health import attention_order, client_health
from cli.reviews.key_ages import CRITICAL_DAYS, WARN_DAYS
from cli.reviews.periods import Window
from infrastructure.config import EnvironmentConfig
from lambdas.dal.executions_table import ExecutionsTable
from lambdas.dal.suppressions import SuppressionsTable
from lambdas.models.client import Client, RoleCredentials, parse_client
from lambdas.models.exceptions import InvalidInputError


def _credential(client: Client, at: datetime) -> dict[str, Any]:
    if isinstance(client.credentials, RoleCredentials):
        return {"type": "role", "status": None, "age_days": None, "detail": "temporary credentials: nothing to age"}
    age = key_age(client, WARN_DAYS, CRITICAL_DAYS, at)
    return {"type": "stored_keys", "status": age.status.name, "age_days": age.age_days, "detail": age.detail}


def client_health_document(config: EnvironmentConfig, window: Window, at: datetime) -> dict[str, Any]:
    suppressed = defaultdict(list)
    for suppression in SuppressionsTable(config.suppressions_table).every_client(cleared=True):
        suppressed[suppression.client_id].append(suppression)
    entries, invalid = [], []
    executions = ExecutionsTable(config.executions_table)
    records = sorted(clients_table(config).records(), key=lambda r: str(r.get("client_id", "")))
    for record in tracked(records, "Reading client health", len(records)):
        try:
            client = parse_client(record)
        except InvalidInputError as error:
            invalid.append({"client_id": record.get("client_id", "?"), "problem": str(error)})
            continue
        runs = tables.client_runs_since(config, client.client_id, window.start - timedelta(days=40))
        last = next((r for r in runs if r.status == "succeeded"), None) or executions.last_succeeded(client.client_id)
        stale = is_stale(
            client.schedule, (last.finished_at or last.started_at) if last else None, client.created_at, at
        )
        entries.append(
            client_health(
                client_id=client.client_id,
                name=client.name,
                schedule=client.schedule,
                status=client.status,
                registered=client.created_at,
                runs_newest_first=runs,
                suppressed=suppressed.get(client.client_id, []),
                recipients=len(client.recipients),
                credential=_credential(client, at),
                stale=stale and client.active,
                window=window,
                at=at,
                last_success=last,
            )
        )
    entries.sort(key=attention_order)
    counts = Counter(entry["health"] for entry in entries)
    return {
        **meta(config, at, "client-health"),
        "period": window.as_dict(),
        "summary": {
            "clients": len(entries),
            **{level: counts.get(level, 0) for level in ("CRITICAL", "WARNING", "OK")},
        },
        "clients": entries,
        "invalid_records": invalid,
    }
