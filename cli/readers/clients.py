"""The client table as the commands read it: one client, every record, the Cost Explorer each is
expected to need."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from cli.context import EXIT_FINDINGS, fail, now, tracked
from cli.reviews.checks import Status, age_in_days, key_age_status
from cli.reviews.key_ages import KeyAge, mask_key
from infrastructure.config import EnvironmentConfig
from lambdas.dal.access_keys import AccessKeys
from lambdas.dal.clients_table import ClientsTable
from lambdas.dal.cost_cache import CostCache
from lambdas.dal.credentials import CredentialProvider
from lambdas.logic.credential_scope import credential_scope
from lambdas.logic.periods import window_for
from lambdas.logic.planner import ExpectedCost, expected_cost
from lambdas.models.client import Client, StoredKeyCredentials, parse_client
from lambdas.models.exceptions import ClientNotFoundError, InvalidInputError, PlatformError


def clients_table(config: EnvironmentConfig) -> ClientsTable:
    return ClientsTable(config.clients_table)


def require_record(table: ClientsTable, client_id: str) -> dict[str, Any]:
    try:
        return table.get_record(client_id)
    except ClientNotFoundError as error:
        fail(str(error))


def require_client(table: ClientsTable, client_id: str) -> Client:
    """The client, validated; an unknown id is bad input, a broken stored record a finding."""
    record = require_record(table, client_id)
    try:
        return parse_client(record)
    except InvalidInputError as error:
        fail(f"stored record of {client_id} is invalid: {error}", EXIT_FINDINGS)


def stored_records(table: ClientsTable) -> dict[str, dict[str, Any]]:
    return {str(record.get("client_id")): record for record in table.records()}


def cost_explorer_estimate(config: EnvironmentConfig, client: Client) -> ExpectedCost:
    """The client's expected Cost Explorer requests per report and USD a month, from what its
    credentials' answers showed (kept with the cost cache), else the planner's assumptions."""
    density = CostCache(config.cost_cache_table).density_of(credential_scope(client))
    as_of = now().date()
    return expected_cost(client, window_for(client.schedule, as_of, settled=as_of), density)


def stored_key_clients(table: ClientsTable) -> tuple[list[Client], int]:
    """Clients with stored keys (valid records), and how many use roles."""
    stored, roles = [], 0
    for record in table.records():
        try:
            client = parse_client(record)
        except InvalidInputError:
            continue  # `client list` shows invalid records; they have no usable key to age
        if isinstance(client.credentials, StoredKeyCredentials):
            stored.append(client)
        else:
            roles += 1
    return sorted(stored, key=lambda c: c.client_id), roles


def key_ages(table: ClientsTable, warn_days: int, critical_days: int, at: datetime) -> tuple[list[KeyAge], int]:
    clients, roles = stored_key_clients(table)
    ages = [key_age(c, warn_days, critical_days, at) for c in tracked(clients, "Reading key ages", len(clients))]
    return ages, roles


def key_age(client: Client, warn_days: int, critical_days: int, at: datetime) -> KeyAge:
    """The age of a stored-keys client's key, from IAM, classified against the limits."""
    if not isinstance(client.credentials, StoredKeyCredentials):
        raise TypeError(f"{client.client_id} has no stored keys")
    secret = client.credentials.secret_name
    try:
        credentials = CredentialProvider().for_client(client)
        key = AccessKeys(credentials).current()
    except PlatformError as error:
        return KeyAge(client.client_id, secret, Status.WARNING, f"age unknown: {error}")
    masked = mask_key(credentials.access_key_id)
    if key is None:
        return KeyAge(client.client_id, secret, Status.CRITICAL, "IAM does not list the stored key", masked)
    age = age_in_days(key.created, at)
    status = key_age_status(age, warn_days, critical_days)
    detail = {Status.OK: "within limits", Status.WARNING: "rotate soon", Status.CRITICAL: "rotate now"}[status]
    return KeyAge(client.client_id, secret, status, detail, masked, key.created, age)
