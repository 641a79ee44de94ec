"""A backup file: what it holds (clients, suppressions, run history, configuration), its signed
manifest, how it is read back and checked, and what a restore writes."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from cli.context import fail, readable, to_json, tracked
from cli.readers.clients import clients_table
from cli.reviews.checks import Check, Status
from cli.workflows import signing
from cli.workflows.client_records import canonical, export_document, export_records
from infrastructure.config import TABLES, EnvironmentConfig
from lambdas.dal.dynamo import from_item
from lambdas.dal.executions_table import ExecutionsTable
from lambdas.dal.suppressions import SuppressionsTable
from lambdas.models.client import parse_client
from lambdas.models.exceptions import InvalidInputError
from lambdas.models.execution import ExecutionRecord
from lambdas.models.ses_events import Suppression

BACKUP_FORMAT, BACKUP_VERSION = "cost-reporting-backup", 1


MANIFEST, CLIENTS, EXECUTIONS, CONFIGURATION = "manifest.json", "clients.json", "executions.jsonl", "configuration.json"


SUPPRESSIONS = "suppressions.jsonl"


MAX_MEMBER_BYTES = 2 * 1024**3  # refuse absurd members rather than exhaust memory


class BackupType(StrEnum):
    full = "full"  # clients, suppressions, execution history, configuration
    clients = "clients"  # clients, suppressions and configuration


def configuration_document(config: EnvironmentConfig) -> dict[str, Any]:
    names = {
        name: getattr(config, name)
        for name, member in sorted(vars(type(config)).items())
        if isinstance(member, property) and isinstance(getattr(config, name), str)
    }
    tables = {attribute: {"name": getattr(config, attribute), **asdict(spec)} for attribute, spec in TABLES.items()}
    return {"environment": config.environment, "names": names, "tables": tables}


def execution_key(item: dict[str, Any]) -> tuple[str, str]:
    return item["client_id"]["S"], item["run_id"]["S"]


def suppression_key(item: dict[str, Any]) -> tuple[str, str]:
    return item["client_id"]["S"], item["email"]["S"]


def typed_jsonl(items: list[dict[str, Any]], key: Callable[[dict[str, Any]], tuple[str, str]]) -> str:
    """DynamoDB typed items, one a line, in key order: the same table gives the same bytes."""
    lines = (json.dumps(item, sort_keys=True, separators=(",", ":")) for item in sorted(items, key=key))
    return "".join(line + "\n" for line in lines)


def executions_jsonl(items: list[dict[str, Any]]) -> str:
    return typed_jsonl(items, execution_key)


def suppression_items(config: EnvironmentConfig) -> list[dict[str, Any]]:
    """Every item of the suppressions table as DynamoDB holds it, cleared ones included."""
    return list(SuppressionsTable(config.suppressions_table).items())


def snapshot(config: EnvironmentConfig, kind: BackupType) -> tuple[dict[str, bytes], dict[str, int], list[str]]:
    """The files of a backup of the environment as it is now, their record counts, and the
    stored client records that do not validate (backed up as stored, never dropped)."""
    records, problems = export_records(clients_table(config))
    files = {CLIENTS: to_json(export_document(records)).encode()}
    counts = {CLIENTS: len(records)}
    suppressed = suppression_items(config)
    files[SUPPRESSIONS] = typed_jsonl(suppressed, suppression_key).encode()
    counts[SUPPRESSIONS] = len(suppressed)
    if kind is BackupType.full:
        items = list(tracked(ExecutionsTable(config.executions_table).items(), "Reading execution history"))
        files[EXECUTIONS] = executions_jsonl(items).encode()
        counts[EXECUTIONS] = len(items)
    files[CONFIGURATION] = to_json(configuration_document(config)).encode()
    counts[CONFIGURATION] = 1
    return files, counts, problems


def build_manifest(
    files: dict[str, bytes], counts: dict[str, int], config: EnvironmentConfig, kind: BackupType, at: datetime
) -> dict[str, Any]:
    return {
        "format": BACKUP_FORMAT,
        "version": BACKUP_VERSION,
        "type": kind.value,
        "environment": config.environment,
        "created_at": at.isoformat(),
        "files": {
            name: {"sha256": hashlib.sha256(body).hexdigest(), "bytes": len(body), "records": counts[name]}
            for name, body in sorted(files.items())
        },
    }


def tar_bytes(files: dict[str, bytes], at: datetime) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(body), int(at.timestamp()), 0o600
            archive.addfile(info, io.BytesIO(body))
    return buffer.getvalue()


@dataclass
class Backup:
    manifest: dict[str, Any]
    files: dict[str, bytes]
    unexpected: list[str]
    manifest_bytes: bytes = b""  # exactly what was signed
    signature: bytes | None = None

    @property
    def client_records(self) -> list[Any]:
        data = json.loads(self.files[CLIENTS])
        return list(data["clients"]) if isinstance(data, dict) else []

    @property
    def execution_items(self) -> list[dict[str, Any]]:
        return self._jsonl(EXECUTIONS)

    @property
    def suppression_items(self) -> list[dict[str, Any]]:
        return self._jsonl(SUPPRESSIONS)

    def _jsonl(self, name: str) -> list[dict[str, Any]]:
        body = self.files.get(name, b"").decode()
        return [json.loads(line) for line in body.splitlines() if line.strip()]


def read_backup(path: Path, flag: str = "--input") -> Backup:
    """Open a backup; a file that is not one at all is bad input (exit 2)."""
    readable(path, flag)
    files: dict[str, bytes] = {}
    unexpected: list[str] = []
    known = {MANIFEST, CLIENTS, EXECUTIONS, SUPPRESSIONS, CONFIGURATION, signing.SIGNATURE}
    try:
        with tarfile.open(path, mode="r:gz") as archive:
            for member in archive.getmembers():
                # Read known regular files into memory only: nothing is extracted to disk, so a
                # hostile member name cannot write anywhere.
                if member.name not in known or not member.isfile() or member.size > MAX_MEMBER_BYTES:
                    unexpected.append(member.name)
                    continue
                extracted = archive.extractfile(member)
                files[member.name] = extracted.read() if extracted else b""
    except (tarfile.TarError, EOFError, OSError) as error:
        fail(f"{flag}: {path} is not a readable backup (gzip tar): {error}")
    if MANIFEST not in files:
        fail(f"{flag}: {path} has no {MANIFEST}: not a backup of this platform")
    manifest_bytes, signature = files.pop(MANIFEST), files.pop(signing.SIGNATURE, None)
    try:
        manifest = json.loads(manifest_bytes)
    except ValueError:
        fail(f"{flag}: {MANIFEST} is not valid JSON")
    if not isinstance(manifest, dict) or manifest.get("format") != BACKUP_FORMAT:
        fail(f"{flag}: {MANIFEST} is not a {BACKUP_FORMAT} manifest")
    return Backup(manifest, files, unexpected, manifest_bytes, signature)


def backup_checks(backup: Backup) -> list[Check]:
    """Checksums, counts and every record's schema."""
    manifest = backup.manifest
    checks: list[Check] = []
    if manifest.get("version") != BACKUP_VERSION:
        return [Check("manifest", Status.CRITICAL, f"version {manifest.get('version')!r} is not supported")]
    listed: dict[str, Any] = manifest.get("files") or {}
    checks.append(
        Check(
            "manifest",
            Status.OK,
            f"{manifest.get('type')} backup of {manifest.get('environment')}, {manifest.get('created_at')}",
        )
    )
    for name, expected in sorted(listed.items()):
        body = backup.files.get(name)
        if body is None:
            checks.append(Check(name, Status.CRITICAL, "listed in the manifest but missing"))
            continue
        digest = hashlib.sha256(body).hexdigest()
        if digest != expected.get("sha256") or len(body) != expected.get("bytes"):
            checks.append(Check(name, Status.CRITICAL, "checksum mismatch: the file was changed or damaged"))
            continue
        checks.append(_content_check(backup, name, expected.get("records")))
    for name in sorted(set(backup.files) - set(listed)):
        checks.append(Check(name, Status.CRITICAL, "present but not in the manifest"))
    for name in backup.unexpected:
        checks.append(Check(name, Status.WARNING, "unexpected member, ignored"))
    if CLIENTS not in listed:
        checks.append(Check(CLIENTS, Status.CRITICAL, "the manifest lists no client records"))
    elif SUPPRESSIONS not in listed:  # a backup made before suppressions were backed up
        detail = "not in this backup: after a restore, addresses SES reported bouncing would be mailed again"
        checks.append(Check(SUPPRESSIONS, Status.WARNING, detail))
    return checks


def _content_check(backup: Backup, name: str, records: Any) -> Check:
    try:
        if name == CLIENTS:
            count = len(backup.client_records)
            for number, record in enumerate(backup.client_records, start=1):
                try:
                    parse_client(record)
                except InvalidInputError as error:
                    return Check(name, Status.CRITICAL, f"record {number}: {error}")
        elif name == EXECUTIONS:
            items = backup.execution_items
            for item in items:
                ExecutionRecord.model_validate(from_item(item))
            count = len(items)
        elif name == SUPPRESSIONS:
            items = backup.suppression_items
            for item in items:
                Suppression.model_validate(from_item(item))
            count = len(items)
        else:
            json.loads(backup.files[name])
            count = 1
    except (ValueError, KeyError, TypeError) as error:
        return Check(name, Status.CRITICAL, f"unreadable: {type(error).__name__}")
    if count != records:
        return Check(name, Status.CRITICAL, f"{count} record(s), the manifest says {records}")
    return Check(name, Status.OK, f"{count} record(s), sha256 matches")


def missing_suppressions(config: EnvironmentConfig, backed_up: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The backed-up suppressions to write: those the environment lacks, and those recording a
    newer bounce or complaint than the live item. A live item as new or newer stays: it may be an
    operator's clearing, or a bounce after the backup."""
    live = {suppression_key(item): item for item in suppression_items(config)}

    def newer(item: dict[str, Any]) -> bool:
        current = live.get(suppression_key(item))
        return current is None or item["recorded_at"]["S"] > current["recorded_at"]["S"]

    return [item for item in backed_up if newer(item)]


def differs(live: dict[str, Any], restored: dict[str, Any]) -> bool:
    try:
        return canonical(parse_client(live)) != restored
    except InvalidInputError:
        return True
