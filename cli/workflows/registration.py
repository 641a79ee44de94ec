"""Registering clients: one, or a whole file all or nothing, with the onboarding of their credentials."""

from __future__ import annotations

from typing import Any

from cli.context import EXIT_FINDINGS, fail, now, tracked
from cli.readers.clients import clients_table, require_record, stored_records
from cli.workflows import onboarding
from infrastructure.config import EnvironmentConfig
from lambdas.dal.aws import error_code
from lambdas.dal.clients_table import ClientsTable
from lambdas.models.client import Client, parse_client
from lambdas.models.exceptions import InvalidInputError


def onboard(config: EnvironmentConfig, clients: list[Client], stored: dict[str, dict[str, Any]]) -> None:
    """Every onboarding check of every client (cli/workflows/onboarding.py) first, then the tags: a refusal
    changes nothing. `stored`: the table's records by client id (for external ids)."""
    onboarding.check_external_ids(clients, stored)
    for client in clients:
        onboarding.check_export(config, client)
    to_tag = [(client.client_id, onboarding.check_secrets(config, client)) for client in clients]
    for client_id, names in to_tag:
        onboarding.tag_secrets(client_id, names)


def register(table: ClientsTable, client: Client) -> Client:
    """Write a new client, stamped with its registration time; refuse an existing id."""
    stamp = now()
    client = client.model_copy(update={"created_at": client.created_at or stamp, "updated_at": stamp})
    try:
        table.put(client, must_exist=False)
    except Exception as error:
        if error_code(error) == "ConditionalCheckFailedException":
            fail(f"client_id: client {client.client_id!r} already exists (use `client update`)")
        raise
    return client


def write_all_or_nothing(table: ClientsTable, clients: list[Client], replaced: dict[str, dict[str, Any]]) -> None:
    """Write in batches; if a batch fails, put back what was there before, so the table ends as
    it started. The records were all validated before this is called."""
    attempted: list[Client] = []
    try:
        for start in tracked(range(0, len(clients), BATCH), "Importing", total=-(-len(clients) // BATCH)):
            batch = clients[start : start + BATCH]
            attempted.extend(batch)  # a failed batch may be partly written: undo it too
            table.put_all(batch)
    except Exception as error:
        try:
            table.delete_all([c.client_id for c in attempted if c.client_id not in replaced])
            table.put_all([parse_client(replaced[c.client_id]) for c in attempted if c.client_id in replaced])
        except Exception:
            ids = ", ".join(c.client_id for c in attempted[:10])
            fail(f"import failed ({type(error).__name__}) and so did its undo: check {ids}", EXIT_FINDINGS)
        fail(f"import failed ({type(error).__name__}: {error}); nothing was kept", EXIT_FINDINGS)


BATCH = 25  # one BatchWriteItem per batch


def change(
    config: EnvironmentConfig,
    client_id: str,
    changes: dict[str, Any],
    record: dict[str, Any] | None = None,
    *,
    onboarding_checks: bool = True,
) -> Client:
    """Merge `changes` into the stored record (`record`, when the caller has just read it), validate,
    check what onboarding checks (not for a pause or resume: those must always work), write."""
    table = clients_table(config)
    record = record if record is not None else require_record(table, client_id)
    merged = {**record, **changes, "updated_at": now().isoformat()}
    try:
        client = parse_client(merged, onboarding=True)
    except InvalidInputError as error:
        fail(str(error))
    if onboarding_checks:
        onboard(config, [client], stored_records(table))
    table.put(client, must_exist=True)
    return client
