"""`client ...`: register, change, pause, remove, export and import clients.

Every record is validated with the same model the worker uses (`parse_client`, with the full
recipient check of onboarding) before anything is written; a bad record is one line naming the
record and the field, exit 2, nothing changed.
Exports are deterministic (sorted, canonical JSON) so an export, imported into an empty table
and exported again, is byte-identical.

`client suppressions` and `client unsuppress` show and clear the recipients SES reported as
bouncing or complaining (the feedback handler records them; the worker leaves them out).
"""

from __future__ import annotations

from datetime import UTC
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from cli.context import (
    confirm,
    emit,
    environment_config,
    fail,
    findings,
    finish,
    now,
    to_json,
    tracked,
    writable,
    write_atomically,
)
from cli.options import EnvironmentOption, FormatOption, OutputFormat, OutputOption
from cli.readers.clients import clients_table, cost_explorer_estimate, require_record, stored_records
from cli.render.clients import details_table, runs_table, summary_row, suppressions_table
from cli.render.console import Table, console, errors
from cli.workflows import audit_trail, export_checks, onboarding
from cli.workflows.client_records import (
    canonical,
    credentials_from_flags,
    export_changes,
    export_document,
    export_from_flags,
    export_records,
    fields_from_flags,
    record_from_file,
    records_from_file,
    validate_records,
)
from cli.workflows.registration import change, onboard, register, write_all_or_nothing
from lambdas.dal.executions_table import ExecutionsTable
from lambdas.dal.suppressions import SuppressionsTable
from lambdas.models.client import parse_client
from lambdas.models.exceptions import InvalidInputError

app = typer.Typer(help="Register and manage clients.", no_args_is_help=True)


class ListFormat(StrEnum):
    table = "table"
    json = "json"
    detailed = "detailed"


# -- list and show -------------------------------------------------------------------------------


@app.command("list")
def list_clients(
    fmt: ListFormat = typer.Option(ListFormat.table, "--format", help="table, json or detailed (adds last runs)."),
    output: Path | None = OutputOption,
    status: str = typer.Option("", "--status", help="Only clients with this status: active or paused."),
    schedule: str = typer.Option("", "--schedule", help="Only clients on this schedule: daily, weekly, monthly."),
    environment: str = EnvironmentOption,
) -> None:
    """List the registered clients."""
    if status not in ("", "active", "paused"):
        fail(f"--status: must be active or paused, not {status!r}")
    if schedule not in ("", "daily", "weekly", "monthly"):
        fail(f"--schedule: must be daily, weekly or monthly, not {schedule!r}")
    writable(output)
    config = environment_config(environment)
    table = clients_table(config)
    entries: list[tuple[dict[str, Any], str | None]] = []
    for record in sorted(table.records(), key=lambda r: str(r.get("client_id", ""))):
        if (status and record.get("status", "active") != status) or (schedule and record.get("schedule") != schedule):
            continue
        try:
            entries.append((canonical(parse_client(record)), None))
        except InvalidInputError as error:
            entries.append((record, str(error)))
    detailed = fmt is ListFormat.detailed
    columns = ["client", "name", "schedule", "status", "accounts", "credentials", "recipients"]
    if detailed:  # room for the runs: counts are in the JSON
        columns = ["client", "schedule", "status", "credentials", "last run", "last success (UTC)"]
    view = Table(*columns, title=f"{len(entries)} client(s)")
    documents = []
    executions = ExecutionsTable(config.executions_table) if detailed else None
    for record, problem in tracked(entries, "Reading run history", total=len(entries)) if detailed else entries:
        document = dict(record, **({"invalid": problem} if problem else {}))
        row = summary_row(record, problem)
        if executions is not None:
            client_id = str(record.get("client_id", ""))
            history = executions.history(client_id, limit=1)
            last = history[0] if history else None
            success = last if last and last.status == "succeeded" else executions.last_succeeded(client_id)
            finished = success.finished_at if success else None
            document["last_run"] = last.model_dump(mode="json", exclude_none=True) if last else None
            document["last_success"] = finished.isoformat() if finished else None
            row = [row[0], row[2], row[3], row[5]]
            row += [
                f"{last.as_of} {last.status}" if last else "-",
                f"{finished:%Y-%m-%d %H:%M}" if finished else "never",
            ]
        documents.append(document)
        view.add_row(*row)
    emit({"environment": config.environment, "count": len(documents), "clients": documents}, view, fmt, output)


@app.command("show")
def show(
    client_id: str = typer.Option(..., "--client-id", help="The client to show."),
    fmt: ListFormat = typer.Option(ListFormat.table, "--format", help="table or json."),
    environment: str = EnvironmentOption,
) -> None:
    """One client's record and its latest runs."""
    config = environment_config(environment)
    record = require_record(clients_table(config), client_id)
    runs = ExecutionsTable(config.executions_table).history(client_id, limit=5)
    expected = None
    try:
        client = parse_client(record)
        record, problem = canonical(client), None
        # A Data Export client's costs are no Cost Explorer requests: no estimate to show.
        expected = cost_explorer_estimate(config, client) if client.cost_source == "cost_explorer" else None
    except InvalidInputError as error:
        problem = str(error)
    if fmt is ListFormat.json:
        runs_json = [run.model_dump(mode="json", exclude_none=True) for run in runs]
        estimate = None
        if expected is not None:
            estimate = {
                "requests_per_report": expected.per_report,
                "usd_per_month": str(expected.usd_per_month),
                "learned": expected.learned,
            }
        emit({"client": record, "invalid": problem, "cost_explorer": estimate, "runs": runs_json}, None, fmt, None)
        return
    console.print(details_table(client_id, record, expected, problem))
    console.print(runs_table(runs))


# -- add, update, pause, resume, remove ----------------------------------------------------------


NameOption = typer.Option(None, "--name", help="Display name shown in the report.")
AccountOption = typer.Option(None, "--account-id", help="An AWS account to report on (repeat the flag).")
RecipientOption = typer.Option(None, "--recipient", help="An email recipient (repeat the flag).")
ScheduleOption = typer.Option(None, "--schedule", help="daily, weekly or monthly.")
CurrencyOption = typer.Option(None, "--currency", help="ISO 4217 code, e.g. USD.")
MetricOption = typer.Option(None, "--metric", help="UnblendedCost, AmortizedCost or NetAmortizedCost.")
BudgetOption = typer.Option(None, "--budget", help="Monthly budget, a decimal amount.")
LocaleOption = typer.Option(None, "--locale", help="e.g. en_US, de_DE.")
RoleOption = typer.Option(None, "--role-arn", help="Read-only role in the client's payer account.")
ExternalIdOption = typer.Option(None, "--external-id", help="External id the role's trust policy requires.")
SecretOption = typer.Option(None, "--secret-name", help="Secrets Manager secret holding stored access keys.")
CostSourceOption = typer.Option(None, "--cost-source", help="cost_explorer (the default) or data_exports.")
ExportBucketOption = typer.Option(None, "--export-bucket", help="Data Export: the S3 bucket it is delivered to.")
ExportPrefixOption = typer.Option(None, "--export-prefix", help="Data Export: its S3 path prefix (no slashes around).")
ExportNameOption = typer.Option(None, "--export-name", help="Data Export: the export's name.")
ExportFormatOption = typer.Option(None, "--export-format", help="Data Export: focus_1_2 (default) or cur_2_0.")
ExportAccessOption = typer.Option(
    None, "--export-access", help="Data Export: client_role (default: the client's role reads it) or replicated."
)


@app.command("add")
def add(
    client_id: str | None = typer.Option(None, "--client-id", help="Identifier: lower-case letters, digits, -."),
    name: str | None = NameOption,
    account_ids: list[str] | None = AccountOption,
    recipients: list[str] | None = RecipientOption,
    role_arn: str | None = RoleOption,
    external_id: str | None = ExternalIdOption,
    secret_name: str | None = SecretOption,
    schedule: str | None = ScheduleOption,
    currency: str | None = CurrencyOption,
    metric: str | None = MetricOption,
    budget: str | None = BudgetOption,
    locale: str | None = LocaleOption,
    cost_source: str | None = CostSourceOption,
    export_bucket: str | None = ExportBucketOption,
    export_prefix: str | None = ExportPrefixOption,
    export_name: str | None = ExportNameOption,
    export_format: str | None = ExportFormatOption,
    export_access: str | None = ExportAccessOption,
    from_file: Path | None = typer.Option(None, "--from-file", help="A JSON client record (flags override it)."),
    environment: str = EnvironmentOption,
) -> None:
    """Register a new client (from flags, or a JSON record with --from-file). A client read from a
    Data Export (--cost-source data_exports and the --export-* flags) has its export checked once
    it is written: what the check finds is reported, the client stays registered."""
    record = record_from_file(from_file) if from_file else {}
    record.update(fields_from_flags(name, account_ids, recipients, schedule, currency, metric, budget, locale))
    export = export_from_flags(export_bucket, export_prefix, export_name, export_format, export_access)
    record.update(export_changes(cost_source, export, record.get("data_export")))
    if client_id:
        record["client_id"] = client_id
    credentials = credentials_from_flags(role_arn, external_id, secret_name)
    if credentials:
        record["credentials"] = {"type": "role", **credentials} if "type" not in credentials else credentials
    record, generated = onboarding.with_external_id(record)
    try:
        client = parse_client(record, onboarding=True)
    except InvalidInputError as error:
        fail(str(error))
    config = environment_config(environment)
    table = clients_table(config)
    onboard(config, [client], stored_records(table))
    client = register(table, client)
    accounts = len(client.account_ids)
    console.print(f"Added client [bold]{client.client_id}[/] ({client.schedule}, {accounts} account(s)).")
    if generated:
        console.print(f"External id (give it to the client for its role's trust policy): {generated}", highlight=False)
    audit_trail.record(config, "client.add", client.client_id)
    if client.data_export is not None:
        finish(export_checks.after_registration(client, waiting_for_role=generated is not None))


@app.command("update")
def update(
    client_id: str = typer.Option(..., "--client-id", help="The client to change."),
    name: str | None = NameOption,
    account_ids: list[str] | None = AccountOption,
    recipients: list[str] | None = RecipientOption,
    role_arn: str | None = RoleOption,
    external_id: str | None = ExternalIdOption,
    secret_name: str | None = SecretOption,
    schedule: str | None = ScheduleOption,
    currency: str | None = CurrencyOption,
    metric: str | None = MetricOption,
    budget: str | None = BudgetOption,
    locale: str | None = LocaleOption,
    cost_source: str | None = CostSourceOption,
    export_bucket: str | None = ExportBucketOption,
    export_prefix: str | None = ExportPrefixOption,
    export_name: str | None = ExportNameOption,
    export_format: str | None = ExportFormatOption,
    export_access: str | None = ExportAccessOption,
    from_file: Path | None = typer.Option(None, "--from-file", help="JSON with the fields to change."),
    environment: str = EnvironmentOption,
) -> None:
    """Change some fields of a client; the rest stay as they are. Lists are replaced whole; an
    --export-* flag changes that field of the client's Data Export, the others stay."""
    changes = record_from_file(from_file) if from_file else {}
    if changes.get("client_id", client_id) != client_id:
        fail("client_id: cannot be changed; add a new client and remove the old one")
    changes.update(fields_from_flags(name, account_ids, recipients, schedule, currency, metric, budget, locale))
    credentials = credentials_from_flags(role_arn, external_id, secret_name)
    export = export_from_flags(export_bucket, export_prefix, export_name, export_format, export_access)
    config = environment_config(environment)
    record = require_record(clients_table(config), client_id) if export else None  # the export's other fields
    changes.update(export_changes(cost_source, export, changes.get("data_export", (record or {}).get("data_export"))))
    if credentials.get("type") == "stored_keys":
        changes["credentials"] = credentials
    elif credentials:  # a role: a new external id alone keeps the role, and the other way round
        record = record if record is not None else require_record(clients_table(config), client_id)
        current = record.get("credentials") or {}
        changes["credentials"] = {**(current if current.get("type") == "role" else {}), "type": "role", **credentials}
    if not changes:
        fail("nothing to change: give at least one field flag or --from-file")
    changes, generated = onboarding.with_external_id(changes)
    client = change(config, client_id, changes, record)
    console.print(f"Updated client [bold]{client.client_id}[/]: {', '.join(sorted(changes))}.")
    if generated:
        console.print(f"External id (give it to the client for its role's trust policy): {generated}", highlight=False)
    audit_trail.record(config, "client.update", client_id, fields=changes)
    if client.data_export is not None and ({"cost_source", "data_export", "credentials"} & set(changes)):
        finish(export_checks.after_registration(client, waiting_for_role=generated is not None))


def _set_status(environment: str, client_id: str, status: str, action: audit_trail.Action, done: str) -> None:
    config = environment_config(environment)
    change(config, client_id, {"status": status}, onboarding_checks=False)
    console.print(done)
    audit_trail.record(config, action, client_id, fields=["status"])


@app.command("pause")
def pause(
    client_id: str = typer.Option(..., "--client-id", help="The client to pause."),
    environment: str = EnvironmentOption,
) -> None:
    """Stop a client's scheduled reports (manual runs still work)."""
    done = f"Paused {client_id}: the dispatcher no longer queues its scheduled runs."
    _set_status(environment, client_id, "paused", "client.pause", done)


@app.command("resume")
def resume(
    client_id: str = typer.Option(..., "--client-id", help="The client to resume."),
    environment: str = EnvironmentOption,
) -> None:
    """Resume a paused client's scheduled reports."""
    done = f"Resumed {client_id}: its next scheduled run goes out as usual."
    _set_status(environment, client_id, "active", "client.resume", done)


@app.command("remove")
def remove(
    client_id: str = typer.Option(..., "--client-id", help="The client to remove."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation."),
    environment: str = EnvironmentOption,
) -> None:
    """Remove a client. Its execution history and archived reports are kept (audits)."""
    config = environment_config(environment)
    table = clients_table(config)
    record = require_record(table, client_id)
    confirm(f"Remove client {client_id} ({record.get('name', '')})?", yes)
    table.delete(client_id)
    console.print(f"Removed {client_id}. History and archived reports stay; stored-key secrets are not deleted.")
    audit_trail.record(config, "client.remove", client_id)


# -- export and import ---------------------------------------------------------------------------


@app.command("export-all")
def export_all(
    output: Path = typer.Option(..., "--output", help="The JSON file to write."),
    environment: str = EnvironmentOption,
) -> None:
    """Write every client record to one JSON file (the input of `client import`)."""
    writable(output)
    config = environment_config(environment)
    records, problems = export_records(clients_table(config))
    write_atomically(output, to_json(export_document(records)))
    console.print(f"Exported {len(records)} client(s) to {output}.")
    if problems:
        for line in problems:
            errors.print(f"[yellow]invalid stored record, exported as stored:[/] {line}", highlight=False)
        findings(f"{len(problems)} stored client record(s) invalid (exported as stored)")


@app.command("import")
def import_clients(
    input_file: Path = typer.Option(..., "--input", help="A `client export-all` file or a JSON list of records."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate and show what would change; write nothing."),
    replace: bool = typer.Option(False, "--replace", help="Overwrite clients that already exist."),
    environment: str = EnvironmentOption,
) -> None:
    """Import client records: every record is validated first; one bad record imports none."""
    records = records_from_file(input_file)
    with_ids = [
        onboarding.with_external_id(record) if isinstance(record, dict) else (record, None) for record in records
    ]
    clients = validate_records([record for record, _ in with_ids])
    config = environment_config(environment)
    table = clients_table(config)
    existing = stored_records(table)
    clashes = [client.client_id for client in clients if client.client_id in existing]
    if clashes and not replace:
        fail(f"--input: {len(clashes)} client(s) already exist ({', '.join(clashes[:5])}); use --replace")
    new = len(clients) - len(clashes)
    if dry_run:
        onboarding.check_external_ids(clients, existing)
        for client in clients:
            onboarding.check_export(config, client)
            onboarding.check_secrets(config, client)
        console.print(f"Dry run: {len(clients)} valid record(s); would add {new}, replace {len(clashes)}.")
        return
    onboard(config, clients, existing)
    write_all_or_nothing(table, clients, {cid: existing[cid] for cid in clashes})
    console.print(f"Imported {len(clients)} client(s): {new} added, {len(clashes)} replaced.")
    for client, (_, generated) in zip(clients, with_ids, strict=True):
        if generated:
            console.print(f"{client.client_id}: external id generated (give it to the client): {generated}")
    imported = [c.client_id for c in clients]
    detail = f"{new} added, {len(clashes)} replaced"
    audit_trail.record(config, "client.import", "*", clients=imported, detail=detail)


# -- recipient suppressions ----------------------------------------------------------------------


@app.command("suppressions")
def suppressions(
    client_id: str = typer.Option(..., "--client-id", help="The client whose suppressed recipients to list."),
    fmt: OutputFormat = FormatOption,
    output: Path | None = OutputOption,
    environment: str = EnvironmentOption,
) -> None:
    """Recipients SES reported bouncing or complaining: no report of the client goes to them until
    an operator clears them with `client unsuppress`."""
    writable(output)
    config = environment_config(environment)
    require_record(clients_table(config), client_id)
    found = sorted(SuppressionsTable(config.suppressions_table).list(client_id), key=lambda s: s.email)
    document = {
        "environment": config.environment,
        "client_id": client_id,
        "suppressed": [entry.model_dump(mode="json", exclude={"cleared_at", "cleared_by"}) for entry in found],
    }
    emit(document, suppressions_table(client_id, found), fmt, output)


@app.command("unsuppress")
def unsuppress(
    client_id: str = typer.Option(..., "--client-id", help="The client the recipient belongs to."),
    email: str = typer.Option(..., "--email", help="The suppressed address (any case)."),
    environment: str = EnvironmentOption,
) -> None:
    """Let a suppressed recipient receive the client's reports again (once the client fixed the
    address or the mailbox): from the next run on. The bounce or complaint stays on record (the
    operations report keeps counting it) and a newer one suppresses the address again."""
    config = environment_config(environment)
    require_record(clients_table(config), client_id)
    address = email.strip().lower()
    cleared = SuppressionsTable(config.suppressions_table).clear(client_id, address, at=now(), by=audit_trail.actor())
    if cleared is None:
        fail(f"--email: {address} is not suppressed for {client_id}")
    # The address is not an audit fact (the suppressions item keeps it, with cleared_by): the
    # event names what was cleared by its reason and SES time.
    audit_trail.record(
        config,
        "client.unsuppress",
        client_id,
        fields=["suppression"],
        detail=f"{cleared.reason} recorded {cleared.recorded_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        + (f" (run {cleared.run_id})" if cleared.run_id else ""),
    )
    console.print(f"Cleared {address} for {client_id}: it receives the next report.")
