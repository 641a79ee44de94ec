"""The clients' side of the embedded AWS: each client of the cost dataset has deployed the read-only
role of docs/deploy.md in its payer account, trusting the platform's account with its external id
(clients behind one payer share the role, which lists each of their ids). The platform's own
disaster (a reset of moto) does not touch the clients' accounts: `EmbeddedAWS` puts the roles back.

Written straight into moto's IAM (no request, no credentials of the clients' accounts needed); the
trust policy is then enforced by emulator/iam_enforcement.py.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID

CE_READ_ACTIONS = [
    "ce:GetCostAndUsage",
    "ce:GetCostForecast",
    "ce:GetDimensionValues",
    "ce:GetTags",
    "ce:GetCostCategories",
]


def trust_policy(external_ids: list[str], platform_account: str = DEFAULT_ACCOUNT_ID) -> dict[str, Any]:
    """docs/deploy.md's trust: the platform only, and only with one of the clients' external ids."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{platform_account}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": sorted(set(external_ids))}},
            }
        ],
    }


def ensure_client_roles(records: list[dict[str, Any]], platform_account: str = DEFAULT_ACCOUNT_ID) -> int:
    """Create (or update) the role of every role-based client record; return how many roles."""
    from moto.iam.models import iam_backends

    ids: dict[str, list[str]] = defaultdict(list)
    for record in records:
        credentials = record.get("credentials") or {}
        if credentials.get("type") == "role":
            ids[str(credentials["role_arn"])].append(str(credentials["external_id"]))
    for role_arn, external_ids in ids.items():
        _, partition, _, _, account, resource = role_arn.split(":", 5)
        backend = iam_backends[account][partition]
        name = resource.split("/")[-1]
        trust = json.dumps(trust_policy(external_ids, platform_account))
        try:
            backend.get_role(name)
            backend.update_assume_role_policy(name, trust)
        except Exception:  # moto's IAMNotFoundException: not there yet
            backend.create_role(
                role_name=name,
                assume_role_policy_document=trust,
                path="/",
                permissions_boundary=None,
                description="Cost Explorer read access for the cost reporting platform",
                tags=[],
                max_session_duration="3600",
            )
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": CE_READ_ACTIONS, "Resource": "*"}],
        }
        backend.put_role_policy(name, "CostExplorerReadOnly", json.dumps(policy))
    return len(ids)
