"""The idempotency table: Powertools' persistence layer writes and reads it for the worker
(lambdas/handlers/worker.py); the operations CLI only describes and counts it, as every table."""

from __future__ import annotations

from lambdas.dal.dynamo import PlatformTable


class IdempotencyTable(PlatformTable):
    """The records are Powertools' own: nothing but `PlatformTable`'s questions is asked here."""
