"""`backup ...`: a full backup of an environment's data in one file, validated and restorable.

A backup is a gzip tar holding:

- `clients.json`: every client record, exactly the output of `client export-all` (so it can
  also be fed to `client import`);
- `executions.jsonl`: the execution history, one DynamoDB item per line in DynamoDB's typed
  JSON (lossless: numbers stay the decimal strings DynamoDB holds);
- `suppressions.jsonl`: the recipients SES reported bouncing or complaining, cleared ones included
  (typed JSON like the history): a restored environment must not mail them again;
- `configuration.json`: the environment's resource names and table keys;
- `manifest.json`: format, type, source environment, time, and per file its sha256, size and
  record count;
- `manifest.sig`: the manifest's HMAC by the environment's KMS backup key (cli/signing.py): a
  backup is restored only if KMS verifies it, so a rewritten file (and its rewritten checksum) is
  refused.

Archived reports stay in the versioned S3 bucket (not replicated by the stack; docs/deploy.md
shows how a deployer adds it); idempotency records are short-lived by design and not backed up.
`backup restore` is recorded in the audit trail.
"""

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

import typer

from cli.context import (
    EXIT_FINDINGS,
    EnvironmentOption,
    FormatOption,
    OutputFormat,
    OutputOption,
    console,
    environment_config,
    errors,
    fail,
    finish,
    now,
    readable,
    to_json,
    tracked,
    writable,
    write_atomically,
)
from cli.probes.resources import problem, table_check
from cli.readers.clients import clients_table
from cli.render.checks import report_checks
from cli.reviews.checks import Check, Status
from cli.workflows import audit_trail, signing
from cli.workflows.client_records import canonical, export_document, export_records, validate_records
from infrastructure.config import TABLES, EnvironmentConfig
from lambdas.dal.dynamo import from_item
from lambdas.dal.executions_table import ExecutionsTable
from lambdas.dal.suppressions import SuppressionsTable
from lambdas.models.client import parse_client
from lambdas.models.exceptions import InvalidInputError
from lambdas.models.execution import ExecutionRecord
from lambdas.models.ses_events import Suppression

app = typer.Typer(help="Back up, validate and restore an environment's data.", no_args_is_help=True)

BACKUP_FORMAT, BACKUP_VERSION = "cost-reporting-backup", 1
MANIFEST, CLIENTS, EXECUTIONS, CONFIGURATION = "manifest.json", "clients.json", "executions.jsonl", "configuration.json"
SUPPRESSIONS = "suppressions.jsonl"
MAX_MEMBER_BYTES = 2 * 1024**3  # refuse absurd members rather than exhaust memory


class BackupType(StrEnum):
    full = "full"  # clients, suppressions, execution history, configuration
    clients = "clients"  # clients, suppressions and configuration


# -- what goes in ---------------------------------------------------------------------------------


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


# -- what comes out -------------------------------------------------------------------------------


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


# -- commands -------------------------------------------------------------------------------------


DEFAULT_DIRECTORY = Path("backups")  # gitignored: a backup made from the repository stays out of git


@app.command("create")
def create(
    output: Path | None = typer.Option(
        None, "--output", help="The backup file to write (FILE.tar.gz); default backups/backup_YYYYMMDD_HHMMSS.tar.gz."
    ),
    kind: BackupType = typer.Option(BackupType.full, "--type", help="full (clients + history) or clients."),
    full: bool = typer.Option(False, "--full", help="The same as --type full (the users' runbook writes it so)."),
    environment: str = EnvironmentOption,
) -> None:
    """Back up client records, suppressions, execution history and configuration, with checksums."""
    if full and kind is not BackupType.full:
        fail("--full: give --full or --type clients, not both")
    at = now()
    output = output or DEFAULT_DIRECTORY / f"backup_{at:%Y%m%d_%H%M%S}.tar.gz"
    writable(output)
    config = environment_config(environment)
    files, counts, problems = snapshot(config, kind)
    manifest = build_manifest(files, counts, config, kind, at)
    manifest_bytes = to_json(manifest).encode()
    try:
        signature = signing.sign(config, manifest_bytes)
    except Exception as error:
        fail(f"{config.backup_key_alias}: cannot sign the backup ({problem(error)}); nothing written", EXIT_FINDINGS)
    write_atomically(output, tar_bytes({MANIFEST: manifest_bytes, signing.SIGNATURE: signature, **files}, at))
    summary = ", ".join(f"{name} {entry['records']}" for name, entry in manifest["files"].items())
    console.print(f"Wrote {output}: {kind.value} backup of {config.environment} ({summary}).")
    for line in problems:
        errors.print(f"[yellow]invalid stored client, backed up as stored:[/] {line}", highlight=False)
    finish(f"{len(problems)} stored client record(s) invalid (backed up as stored)" if problems else "")


@app.command("validate")
def validate(
    input_file: Path = typer.Option(..., "--input", help="The backup file."),
    fmt: OutputFormat = FormatOption,
    output: Path | None = OutputOption,
    environment: str = EnvironmentOption,
) -> None:
    """Check a backup without restoring it: its signature (KMS, in the environment's account),
    manifest, checksums, every record's schema. Nothing is written anywhere."""
    writable(output)
    backup = read_backup(input_file)
    environment_config(environment)  # where KMS is reached (the local emulator, or the AWS account)
    checks = [signing.verify(backup.manifest_bytes, backup.signature).check, *backup_checks(backup)]
    meta = {"backup": str(input_file), "manifest": backup.manifest}
    report_checks(checks, title=f"backup {input_file.name}", fmt=fmt, output=output, meta=meta)


@app.command("restore")
def restore(
    input_file: Path = typer.Option(..., "--input", help="The backup file."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be written; write nothing."),
    accept_unverifiable: bool = typer.Option(
        False,
        "--accept-unverifiable",
        help="Restore a backup whose signing key no longer exists (never one whose signature KMS refuses).",
    ),
    environment: str = EnvironmentOption,
) -> None:
    """Restore a backup into an environment (provisioned first: `cdk deploy` or `local bootstrap`).

    Clients in the backup are written as they were; clients and runs that are not in the backup
    are kept. Restoring the same backup twice changes nothing the second time.
    """
    backup = read_backup(input_file)
    config = environment_config(environment)
    verdict = signing.verify(backup.manifest_bytes, backup.signature)
    accepted = verdict.unverifiable and accept_unverifiable
    checks = [*([] if accepted else [verdict.check]), *backup_checks(backup)]
    problems = [check for check in checks if check.status is Status.CRITICAL]
    if problems:
        fail(f"{input_file} does not validate ({problems[0].name}: {problems[0].detail}); nothing restored", 1)
    tables = [
        table_check(getattr(config, name)) for name in ("clients_table", "executions_table", "suppressions_table")
    ]
    missing = [check for check in tables if check.status is not Status.OK]
    if missing:
        fail(f"{missing[0].name}: {missing[0].detail}; provision the environment first, nothing restored", 1)
    clients = validate_records(backup.client_records, str(input_file))
    items = backup.execution_items
    suppressed = missing_suppressions(config, backup.suppression_items)
    table = clients_table(config)
    live = {str(record.get("client_id")): record for record in table.records()}
    changed = [c for c in clients if c.client_id not in live or _differs(live[c.client_id], canonical(c))]
    kept = sorted(set(live) - {c.client_id for c in clients})
    source = backup.manifest.get("environment")
    if source != config.environment:
        console.print(f"Note: the backup is of {source}; restoring into {config.environment}.")
    plan = (
        f"{len(changed)} client(s) to write ({len(clients) - len(changed)} already identical), "
        f"{len(suppressed)} suppressed recipient(s), {len(items)} execution record(s), "
        f"{len(kept)} live client(s) not in the backup kept"
    )
    if dry_run:
        console.print(f"Dry run: {plan}. Nothing written.")
        return
    table.put_all(changed)
    if suppressed:  # before any run could mail an address that bounced
        SuppressionsTable(config.suppressions_table).put_items(suppressed)
    executions = ExecutionsTable(config.executions_table)
    for start in tracked(range(0, len(items), 500), "Restoring execution history", total=-(-len(items) // 500)):
        executions.put_items(items[start : start + 500])
    console.print(f"Restored {input_file} into {config.environment}: {plan}.")
    trust = "signature unverifiable (key gone), accepted by the operator" if accepted else "signature verified"
    audit_trail.record(
        config,
        "backup.restore",
        "*",
        clients=[client.client_id for client in changed],
        detail=f"{input_file.name} ({source}, {backup.manifest.get('created_at')}): {plan}; {trust}",
    )
    console.print(f"Next: python cli/main.py system validate-recovery --input {input_file} -e {config.environment}")


def missing_suppressions(config: EnvironmentConfig, backed_up: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The backed-up suppressions to write: those the environment lacks, and those recording a
    newer bounce or complaint than the live item. A live item as new or newer stays: it may be an
    operator's clearing, or a bounce after the backup."""
    live = {suppression_key(item): item for item in suppression_items(config)}

    def newer(item: dict[str, Any]) -> bool:
        current = live.get(suppression_key(item))
        return current is None or item["recorded_at"]["S"] > current["recorded_at"]["S"]

    return [item for item in backed_up if newer(item)]


def _differs(live: dict[str, Any], restored: dict[str, Any]) -> bool:
    try:
        return canonical(parse_client(live)) != restored
    except InvalidInputError:
        return True
