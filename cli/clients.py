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

import json
from datetime import UTC
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer
from rich.text import Text

from cli import audit as audit_trail
from cli import onboarding
from cli.context import (
    EXIT_FINDINGS,
    EnvironmentOption,
    FormatOption,
    OutputFormat,
    OutputOption,
    Table,
    confirm,
    console,
    emit,
    environment_config,
    errors,
    fail,
    findings,
    now,
    readable,
    styled,
    to_json,
    tracked,
    writable,
    write_atomically,
)
from infrastructure.config import EnvironmentConfig
from lambdas.dal.aws import error_code
from lambdas.dal.clients_table import ClientsTable
from lambdas.dal.cost_cache import CostCache
from lambdas.dal.executions_table import ExecutionsTable
from lambdas.dal.suppressions import SuppressionsTable
from lambdas.logic.credential_scope import credential_scope
from lambdas.logic.periods import window_for
from lambdas.logic.planner import ExpectedCost, expected_cost
from lambdas.models.client import Client, parse_client
from lambdas.models.exceptions import ClientNotFoundError, InvalidInputError

app = typer.Typer(help="Register and manage clients.", no_args_is_help=True)

EXPORT_FORMAT = "cost-reporting-clients"
EXPORT_VERSION = 1
BATCH = 25  # one BatchWriteItem per batch
# Input files are read whole: a bound keeps a wrong file from exhausting memory. One client record
# is a few KB (DynamoDB holds at most 400 KB per item); an import of 100,000 clients is about 100 MB.
MAX_RECORD_BYTES = 1024**2
MAX_IMPORT_BYTES = 128 * 1024**2


class ListFormat(StrEnum):
    table = "table"
    json = "json"
    detailed = "detailed"


# -- shared with the other command groups ---------------------------------------------------------


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


def canonical(client: Client) -> dict[str, Any]:
    """The one JSON form of a client: what the table stores and what exports hold."""
    return client.model_dump(mode="json", exclude_none=True)


def export_document(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "clients": sorted(records, key=lambda record: str(record.get("client_id", ""))),
    }


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


def onboard(config: EnvironmentConfig, clients: list[Client], stored: dict[str, dict[str, Any]]) -> None:
    """Every onboarding check of every client (cli/onboarding.py) first, then the tags: a refusal
    changes nothing. `stored`: the table's records by client id (for external ids)."""
    onboarding.check_external_ids(clients, stored)
    to_tag = [(client.client_id, onboarding.check_secrets(config, client)) for client in clients]
    for client_id, names in to_tag:
        onboarding.tag_secrets(client_id, names)


def stored_records(table: ClientsTable) -> dict[str, dict[str, Any]]:
    return {str(record.get("client_id")): record for record in table.records()}


# -- list and show -------------------------------------------------------------------------------


def _summary_row(record: dict[str, Any], problem: str | None) -> list[str | Text]:
    credentials = record.get("credentials") or {}
    return [
        str(record.get("client_id", "?")),
        str(record.get("name", "")),
        str(record.get("schedule", "")),
        styled(f"invalid: {problem}", "red") if problem else str(record.get("status", "")),
        str(len(record.get("account_ids") or [])),
        str(credentials.get("type", "")) if isinstance(credentials, dict) else "",
        str(len(record.get("recipients") or [])),
    ]


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
        row = _summary_row(record, problem)
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
        expected = cost_explorer_estimate(config, client)
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
    details = Table("field", "value", title=f"client {client_id}", show_header=False)
    for key, value in record.items():
        details.add_row(key, value if isinstance(value, str) else json.dumps(value, default=str))
    if expected is not None:
        details.add_row("Cost Explorer requests", expected.describe())
    if problem:
        details.add_row(styled("invalid", "red"), problem)
    console.print(details)
    history = Table("run", "status", "delivery", "finished", "total", "error", title="latest runs")
    for run in runs:
        total = f"{run.total} {run.currency}" if run.total is not None else "-"
        finished = run.finished_at.isoformat(timespec="seconds") if run.finished_at else "-"
        history.add_row(run.run_id, run.status, run.delivery or "-", finished, total, run.error or "")
    console.print(history)


def cost_explorer_estimate(config: EnvironmentConfig, client: Client) -> ExpectedCost:
    """The client's expected Cost Explorer requests per report and USD a month, from what its
    credentials' answers showed (kept with the cost cache), else the planner's assumptions."""
    density = CostCache(config.cost_cache_table).density_of(credential_scope(client))
    as_of = now().date()
    return expected_cost(client, window_for(client.schedule, as_of, settled=as_of), density)


# -- add, update, pause, resume, remove ----------------------------------------------------------


def _from_file(path: Path) -> dict[str, Any]:
    data = read_json(path, "--from-file", MAX_RECORD_BYTES)
    if not isinstance(data, dict):
        fail("--from-file: expected one client record (a JSON object)")
    return data


def _flags(
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


def _credentials_flags(role_arn: str | None, external_id: str | None, secret_name: str | None) -> dict[str, Any]:
    if secret_name and (role_arn or external_id):
        fail("--secret-name: give either a role (--role-arn, --external-id) or stored keys (--secret-name)")
    if secret_name:
        return {"type": "stored_keys", "secret_name": secret_name}
    return {k: v for k, v in {"role_arn": role_arn, "external_id": external_id}.items() if v}


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
    from_file: Path | None = typer.Option(None, "--from-file", help="A JSON client record (flags override it)."),
    environment: str = EnvironmentOption,
) -> None:
    """Register a new client (from flags, or a JSON record with --from-file)."""
    record = _from_file(from_file) if from_file else {}
    record.update(_flags(name, account_ids, recipients, schedule, currency, metric, budget, locale))
    if client_id:
        record["client_id"] = client_id
    credentials = _credentials_flags(role_arn, external_id, secret_name)
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


def _change(
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
    from_file: Path | None = typer.Option(None, "--from-file", help="JSON with the fields to change."),
    environment: str = EnvironmentOption,
) -> None:
    """Change some fields of a client; the rest stay as they are. Lists are replaced whole."""
    changes = _from_file(from_file) if from_file else {}
    if changes.get("client_id", client_id) != client_id:
        fail("client_id: cannot be changed; add a new client and remove the old one")
    changes.update(_flags(name, account_ids, recipients, schedule, currency, metric, budget, locale))
    credentials = _credentials_flags(role_arn, external_id, secret_name)
    config = environment_config(environment)
    record = None
    if credentials.get("type") == "stored_keys":
        changes["credentials"] = credentials
    elif credentials:  # a role: a new external id alone keeps the role, and the other way round
        record = require_record(clients_table(config), client_id)
        current = record.get("credentials") or {}
        changes["credentials"] = {**(current if current.get("type") == "role" else {}), "type": "role", **credentials}
    if not changes:
        fail("nothing to change: give at least one field flag or --from-file")
    changes, generated = onboarding.with_external_id(changes)
    client = _change(config, client_id, changes, record)
    console.print(f"Updated client [bold]{client.client_id}[/]: {', '.join(sorted(changes))}.")
    if generated:
        console.print(f"External id (give it to the client for its role's trust policy): {generated}", highlight=False)
    audit_trail.record(config, "client.update", client_id, fields=changes)


def _set_status(environment: str, client_id: str, status: str, action: audit_trail.Action, done: str) -> None:
    config = environment_config(environment)
    _change(config, client_id, {"status": status}, onboarding_checks=False)
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
    view = Table("email", "reason", "recorded (UTC)", "detail", "run", title=f"{client_id}: {len(found)} suppressed")
    for entry in found:
        view.add_row(
            entry.email, entry.reason, f"{entry.recorded_at:%Y-%m-%d %H:%M}", entry.detail, entry.run_id or "-"
        )
    document = {
        "environment": config.environment,
        "client_id": client_id,
        "suppressed": [entry.model_dump(mode="json", exclude={"cleared_at", "cleared_by"}) for entry in found],
    }
    emit(document, view, fmt, output)


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
