"""Who cached cost cells belong to, and which clients share a payer: the same role (or the same
stored keys) is the same scope. Pure: the dispatcher groups clients by it without loading the
cache's adapter, and the cache keys every item with it (lambdas/dal/cost_cache.py)."""

from __future__ import annotations

import hashlib

from lambdas.models.client import Client, RoleCredentials


def credential_scope(client: Client) -> str:
    """Who the cells belong to: the same role (or the same stored keys) = the same scope.

    The role, not the external id: Cost Explorer shows whoever assumes a role the same data, and a
    run reads the cache only after it has assumed the role itself (with its own external id), so a
    client that cannot assume the role never reaches the cells fetched through it.
    """
    if isinstance(client.credentials, RoleCredentials):
        identity = f"role|{client.credentials.role_arn}"
    else:
        identity = f"keys|{client.credentials.secret_name}"
    return hashlib.sha256(identity.encode()).hexdigest()[:24]
