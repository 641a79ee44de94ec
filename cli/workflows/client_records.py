"""Client records in files (`client add --from-file`, `client import`, backups): read strictly,
validated all at once, written canonically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cli.context import fail, readable, tracked
from lambdas.dal.clients_table import ClientsTable
from lambdas.models.client import Client, parse_client
from lambdas.models.exceptions import InvalidInputError


def canonical(client: Client) -> dict[str, Any]:
    """The one JSON form of a client: what the table stores and what exports hold."""
    return client.model_dump(mode="json", exclude_none=True)


def export_document(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "clients": sorted(records, key=lambda record: str(record.get("client_id", ""))),
    }


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, value in pairs:
        if key in data:  # json.loads would silently keep the last one
            raise ValueError(f"key {key!r} appears twice in one object")
        data[key] = value
    return data


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def read_json(path: Path, flag: str, max_bytes: int) -> Any:
    """A JSON file's data, or one line naming what is wrong with the file (nothing changed)."""
    size = readable(path, flag).stat().st_size
    if size > max_bytes:
        fail(f"{flag}: {path} is {size / 1024**2:.1f} MB, larger than the {max_bytes // 1024**2} MB limit")
    try:
        text = path.read_bytes().decode("utf-8-sig")  # a byte order mark from a Windows editor is harmless
    except UnicodeDecodeError:
        fail(f"{flag}: {path} is not UTF-8 text")
    try:
        return json.loads(text, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except RecursionError:
        fail(f"{flag}: {path} is nested too deeply to hold client records")
    except ValueError as error:
        fail(f"{flag}: {path} is not valid JSON ({error})")


def records_from_file(path: Path, flag: str = "--input") -> list[Any]:
    """The records of an export document or of a plain JSON list."""
    data = read_json(path, flag, MAX_IMPORT_BYTES)
    if isinstance(data, dict) and data.get("format") == EXPORT_FORMAT:
        if data.get("version") != EXPORT_VERSION:
            fail(f"{flag}: export version {data.get('version')!r} is not supported (expected {EXPORT_VERSION})")
        data = data.get("clients")
    if not isinstance(data, list):
        fail(f"{flag}: expected a list of client records or a `client export-all` file")
    return data


def validate_records(records: list[Any], flag: str = "--input") -> list[Client]:
    """Every record valid and every id unique, or one line naming the first bad record."""
    clients: list[Client] = []
    seen: set[str] = set()
    for number, record in enumerate(records, start=1):
        label = f"record {number}"
        if isinstance(record, dict) and isinstance(record.get("client_id"), str):
            label += f" (client_id {record['client_id']!r})"
        try:
            client = parse_client(record, onboarding=True)
        except InvalidInputError as error:
            fail(f"{flag}: {label}: {error}")
        if client.client_id in seen:
            fail(f"{flag}: {label}: client_id appears more than once in the file")
        seen.add(client.client_id)
        clients.append(client)
    return clients


EXPORT_FORMAT = "cost-reporting-clients"


EXPORT_VERSION = 1


MAX_IMPORT_BYTES = 128 * 1024**2


def export_records(table: ClientsTable) -> tuple[list[dict[str, Any]], list[str]]:
    """Every stored record in canonical form, and a line per record that does not validate
    (exported as stored: an export must never drop data)."""
    records: list[dict[str, Any]] = []
    problems: list[str] = []
    for record in tracked(table.records(), "Reading clients"):
        try:
            records.append(canonical(parse_client(record)))
        except InvalidInputError as error:
            problems.append(f"{record.get('client_id', '?')}: {error}")
            records.append(record)
    return records, problems


# Input files are read whole: a bound keeps a wrong file from exhausting memory. One client record
# is a few KB (DynamoDB holds at most 400 KB per item); an import of 100,000 clients is about 100 MB.
MAX_RECORD_BYTES = 1024**2


def record_from_file(path: Path) -> dict[str, Any]:
    data = read_json(path, "--from-file", MAX_RECORD_BYTES)
    if not isinstance(data, dict):
        fail("--from-file: expected one client record (a JSON object)")
    return data


def fields_from_flags(
    name: str | None,
    account_ids: list[str] | None,
    recipients: list[str] | None,
    schedule: str | None,
    currency: str | None,
    metric: str | None,
    budget: str | None,
    locale: str | None,
) -> dict[str, Any]:
    values = {
        "name": name,
        "account_ids": account_ids or None,
        "recipients": recipients or None,
        "schedule": schedule,
        "currency": currency,
        "metric": metric,
        "budget": budget,
        "locale": locale,
    }
    return {key: value for key, value in values.items() if value is not None}


def export_from_flags(
    bucket: str | None, prefix: str | None, export_name: str | None, fmt: str | None, access: str | None
) -> dict[str, Any]:
    """The `data_export` fields the --export-* flags give (the model's names: bucket, prefix,
    export_name, format, access); empty when none is given."""
    values = {"bucket": bucket, "prefix": prefix, "export_name": export_name, "format": fmt, "access": access}
    return {key: value for key, value in values.items() if value is not None}


def export_changes(cost_source: str | None, export: dict[str, Any], current: Any) -> dict[str, Any]:
    """The record's changes for --cost-source and the --export-* flags: the flags' fields over the
    `current` export's (the file's, or the stored record's), so one flag changes one field."""
    changes: dict[str, Any] = {} if cost_source is None else {"cost_source": cost_source}
    if export:
        changes["data_export"] = {**(current if isinstance(current, dict) else {}), **export}
    return changes


def credentials_from_flags(role_arn: str | None, external_id: str | None, secret_name: str | None) -> dict[str, Any]:
    if secret_name and (role_arn or external_id):
        fail("--secret-name: give either a role (--role-arn, --external-id) or stored keys (--secret-name)")
    if secret_name:
        return {"type": "stored_keys", "secret_name": secret_name}
    return {k: v for k, v in {"role_arn": role_arn, "external_id": external_id}.items() if v}
