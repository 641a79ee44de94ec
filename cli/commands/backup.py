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
- `manifest.sig`: the manifest's HMAC by the environment's KMS backup key (cli/workflows/signing.py): a
  backup is restored only if KMS verifies it, so a rewritten file (and its rewritten checksum) is
  refused.

Archived reports stay in the versioned S3 bucket (not replicated by the stack; docs/deploy.md
shows how a deployer adds it); idempotency records are short-lived by design and not backed up.
`backup restore` is recorded in the audit trail.
"""

from __future__ import annotations

from pathlib import Path

import typer

from cli.aws_errors import problem
from cli.context import (
    EXIT_FINDINGS,
    environment_config,
    fail,
    finish,
    now,
    report_checks,
    to_json,
    tracked,
    writable,
    write_atomically,
)
from cli.options import EnvironmentOption, FormatOption, OutputFormat, OutputOption
from cli.probes.resources import table_check
from cli.readers.clients import clients_table
from cli.render.console import console, errors
from cli.reviews.checks import Status
from cli.workflows import audit_trail, signing
from cli.workflows.backup import (
    MANIFEST,
    Backup,
    BackupType,
    backup_checks,
    build_manifest,
    differs,
    missing_suppressions,
    read_backup,
    snapshot,
    tar_bytes,
)
from cli.workflows.client_records import canonical, validate_records
from infrastructure.config import EnvironmentConfig
from lambdas.dal.executions_table import ExecutionsTable
from lambdas.dal.suppressions import SuppressionsTable

app = typer.Typer(help="Back up, validate and restore an environment's data.", no_args_is_help=True)


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
    config = environment_config(environment, output=output)
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
    accepted = _restorable(backup, config, input_file, accept_unverifiable)
    clients = validate_records(backup.client_records, str(input_file))
    items = backup.execution_items
    suppressed = missing_suppressions(config, backup.suppression_items)
    table = clients_table(config)
    live = {str(record.get("client_id")): record for record in table.records()}
    changed = [c for c in clients if c.client_id not in live or differs(live[c.client_id], canonical(c))]
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


def _restorable(backup: Backup, config: EnvironmentConfig, input_file: Path, accept_unverifiable: bool) -> bool:
    """Refuse (exit 1) a backup that does not validate or an environment without its tables; whether
    an unverifiable signature (its key gone) was accepted."""
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
    return accepted
