"""Which secrets belong to which client: the one rule the model, onboarding, the worker and the
stack's IAM policy share.

A client's secrets (stored access keys, chat webhook URLs) live under `<prefix><client_id>` or below
it, the prefix being the environment's (`cost-reporting/clients/` in production,
`cost-reporting-ENV/clients/` elsewhere: infrastructure/config.py `secrets_prefix`). Each is tagged
`client_id=<client_id>` at onboarding, and the worker reads them only through a session tagged with
the client it runs for: IAM then refuses any other client's secret, whatever a record says.
"""

from __future__ import annotations

# The tag on each client secret, and the session tag of the worker's reads (infrastructure/policies.py).
SECRET_OWNER_TAG = "client_id"  # noqa: S105 - a tag key, not a password

# Every client's secrets (stored keys, webhook URLs) live under `<environment's prefix><client_id>`
# or below it; the prefix ends with this segment (infrastructure/config.py `secrets_prefix`).
CLIENT_SECRETS_SEGMENT = "/clients/"


def secret_belongs_to(client_id: str, secret_name: str, prefix: str = "") -> bool:
    """Is `secret_name` the client's own: `<prefix><client_id>` or `<prefix><client_id>/...`?

    With the environment's `prefix` (onboarding, the worker) the check is exact. Without it (the
    model, which does not know the environment) the prefix is whatever comes before the first
    `/clients/`: a record can then never name another client's secret, only its own in some
    environment."""
    if prefix:
        if not secret_name.startswith(prefix):
            return False
        rest = secret_name[len(prefix) :]
    else:
        head, found, rest = secret_name.partition(CLIENT_SECRETS_SEGMENT)
        if not (head and found):
            return False
    return rest == client_id or (rest.startswith(client_id + "/") and len(rest) > len(client_id) + 1)


def own_secret_rule(client_id: str) -> str:
    return f"must be the client's own, <prefix>{client_id} or <prefix>{client_id}/... (prefix ending in clients/)"
