"""`credentials ...`: key ages, validation, rotation of clients' credentials and of the link signer's key.

The steps live in cli/workflows (rotation.py, link_signer.py, credential_validation.py); this
module holds the commands.

Where key age comes from: IAM's CreateDate of the access key the secret holds, read with that
key itself (iam:ListAccessKeys on its own user). It is the age of the exact key in use and
cannot drift: `rotated_at` in the client record is only as true as whoever last wrote it (and
is absent for keys onboarded by hand), and a secret's version date changes whenever the secret
is rewritten without a new key. A key whose age cannot be read is a WARNING, never "fine".

Rotation of stored keys: read the current key, create a second key for the same IAM user
(with the current key), validate it (same identity; Cost Explorer reads the same accounts),
store it as the secret's new current version, stamp `rotated_at`, delete the old key with the
new one. Until the new key is stored the old one stays untouched; a failure at any step says
which step failed and what state each key is in.

The link signer's key (a system key: the platform's own IAM user whose key signs the reports'
links, docs/deploy.md) goes through the same steps with the operator's credentials, since the
key itself may only read reports: its age is IAM's CreateDate of the key its secret holds; a new
key is proven the way it is used (S3 serves a GET it presigned); and the old key, which signed
the links of the last 7 days' emails, is kept until those links expire (`--finish` then deletes
it), unless `--revoke-old` deletes it at once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import typer
from rich.text import Text

from cli.context import (
    EXIT_FINDINGS,
    emit,
    environment_config,
    fail,
    findings,
    finish,
    now,
    report_checks,
    settings,
    writable,
)
from cli.options import EnvironmentOption, FormatOption, OutputFormat, OutputOption
from cli.readers.clients import clients_table, cost_explorer_estimate, key_ages, require_client
from cli.render.console import Table, console, styled
from cli.reviews.checks import Status
from cli.reviews.key_ages import CRITICAL_DAYS, SYSTEM_CRITICAL_DAYS, SYSTEM_WARN_DAYS, WARN_DAYS
from cli.workflows import audit_trail
from cli.workflows.credential_validation import reads_cost_explorer, validate
from cli.workflows.link_signer import link_signer_ages
from cli.workflows.rotation import Rotation, RotationStopped, SignerRotation, finish_signer_rotation
from lambdas.models.client import RoleCredentials

app = typer.Typer(help="Credential ages, validation and rotation.", no_args_is_help=True)


# -- key age -------------------------------------------------------------------------------------


@app.command("check-age")
def check_age(
    warn_days: int = typer.Option(WARN_DAYS, "--warn-days", help="WARNING from this age in days."),
    critical_days: int = typer.Option(CRITICAL_DAYS, "--critical-days", help="CRITICAL from this age in days."),
    report: Path | None = typer.Option(None, "--report", help="Also write the findings as JSON to FILE."),
    fmt: OutputFormat = FormatOption,
    environment: str = EnvironmentOption,
) -> None:
    """Age of every stored access key against the rotation limits (roles have no keys to age): the
    clients' (--warn-days, --critical-days) and the link signer's, a system key (WARNING from day 30,
    CRITICAL from day 50: the runbook rotates system keys every 60 days)."""
    if warn_days < 1 or critical_days <= warn_days:
        fail("--critical-days: must be greater than --warn-days, and both positive")
    writable(report, "--report")
    config = environment_config(environment)
    at = now()
    ages, roles = key_ages(clients_table(config), warn_days, critical_days, at)
    system = link_signer_ages(config, at)
    overall = max([age.status for age in ages] + [key.status for key in system], default=Status.OK)
    view = Table("client", "key", "created", "age (days)", "status", "detail", title=f"stored keys: {overall.name}")
    for age in ages:
        view.add_row(age.client_id, age.access_key, *_when(age.created, age.age_days), _status(age.status), age.detail)
    view.add_section()
    for key in system:
        name = f"({key.name}, {key.use})"
        view.add_row(name, key.access_key, *_when(key.created, key.age_days), _status(key.status), key.detail)
    document = {
        "environment": config.environment,
        "checked_at": at.isoformat(),
        "warn_days": warn_days,
        "critical_days": critical_days,
        "system_warn_days": SYSTEM_WARN_DAYS,
        "system_critical_days": SYSTEM_CRITICAL_DAYS,
        "status": overall.name,
        "role_clients": roles,
        "keys": [age.as_dict() for age in ages],
        "system_keys": [key.as_dict() for key in system],
    }
    emit(document, view, fmt, report)
    if fmt is OutputFormat.table:
        console.print(
            f"{len(ages)} stored key(s), {roles} role client(s) (temporary credentials, nothing to age); "
            f"system keys: WARNING from {SYSTEM_WARN_DAYS} days, CRITICAL from {SYSTEM_CRITICAL_DAYS}."
        )
    flagged = [f"{a.client_id} ({a.status.name})" for a in ages if a.status is not Status.OK]
    flagged += [f"{k.name} {k.use} key ({k.status.name})" for k in system if k.status is not Status.OK]
    finish(f"{len(flagged)} key(s) near or past their limit: {', '.join(flagged)}" if flagged else "")


def _when(created: datetime | None, age_days: int | None) -> tuple[str, str]:
    return (created.date().isoformat() if created else "-", str(age_days) if age_days is not None else "-")


def _status(status: Status) -> Text:
    return styled(status.name, status.style)


# -- validation ----------------------------------------------------------------------------------


@app.command("validate")
def validate_command(
    client_id: str = typer.Option(..., "--client-id", help="The client whose credentials to try."),
    fmt: OutputFormat = FormatOption,
    output: Path | None = OutputOption,
    verbose: bool = typer.Option(False, "--verbose", help="Show the audit log lines (on stderr)."),
    environment: str = EnvironmentOption,
) -> None:
    """Obtain the client's credentials and report for which accounts they read Cost Explorer (when the
    client's runs read it), and whether they read the client's Data Export (when it names one)."""
    writable(output)
    config = environment_config(environment)
    client = require_client(clients_table(config), client_id)
    at = now()
    expected = cost_explorer_estimate(config, client)
    result = validate(client, at, verbose=verbose, expected=expected, platform_bucket=settings(config).assets_bucket)
    if fmt is OutputFormat.table and reads_cost_explorer(client):
        accounts = Table("account", "Cost Explorer", title=f"{client_id}: accounts")
        for account in client.account_ids:
            accounts.add_row(
                account, styled("readable", "green") if account in result.readable else styled("not readable", "red")
            )
        console.print(accounts)
    meta = {"environment": config.environment, "client_id": client_id, "checked_at": at.isoformat()}
    report_checks(result.checks, title=f"credentials of {client_id}", fmt=fmt, output=output, meta=meta)


# -- rotation ------------------------------------------------------------------------------------


@app.command("rotate")
def rotate(
    client_id: str | None = typer.Option(None, "--client-id", help="The client whose keys to rotate."),
    link_signer: bool = typer.Option(
        False, "--link-signer", help="Rotate the link signer's key (the system key that signs report links)."
    ),
    finish: bool = typer.Option(
        False, "--finish", help="With --link-signer: delete the retired key once the links it signed have expired."
    ),
    revoke_old: bool = typer.Option(
        False, "--revoke-old", help="With --link-signer: delete the old key at once (compromised): its links stop."
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Check every precondition; change nothing."),
    environment: str = EnvironmentOption,
) -> None:
    """Rotate a client's stored access keys (roles: nothing to rotate, the role is validated), or the
    link signer's key."""
    if (client_id is None) == (not link_signer):
        fail("--client-id or --link-signer: give exactly one")
    if not link_signer and (finish or revoke_old):
        fail(f"{'--finish' if finish else '--revoke-old'}: only with --link-signer")
    if finish and revoke_old:
        fail("--finish and --revoke-old: give one")
    config = environment_config(environment)
    at = now()
    if client_id is None:  # --link-signer
        subject = config.link_signer_user
        work: Callable[[], list[str]] = (
            (lambda: finish_signer_rotation(config, at, dry_run=dry_run))
            if finish
            else SignerRotation(config, at, dry_run=dry_run, revoke_old=revoke_old).run
        )
    else:
        client = require_client(clients_table(config), client_id)
        subject = client_id
        if isinstance(client.credentials, RoleCredentials):
            console.print(f"{client_id} uses a role: its credentials are temporary, there is nothing to rotate.")
            result = validate(client, at)
            meta = {"environment": config.environment, "client_id": client_id, "checked_at": at.isoformat()}
            report_checks(result.checks, title=f"role of {client_id}", fmt=OutputFormat.table, output=None, meta=meta)
        work = Rotation(config, at, dry_run=dry_run, client=client).run
    try:
        steps = work()
    except RotationStopped as stopped:
        for step in stopped.done:  # what had already happened: the state the keys are in
            console.print(f"  {step}")
        if not dry_run:
            detail = "; ".join([*stopped.done, f"stopped at {stopped}"])
            audit_trail.record(config, "credentials.rotate", subject, outcome="stopped", detail=detail)
        fail(f"rotation of {subject} stopped at {stopped}", EXIT_FINDINGS)
    for step in steps:
        console.print(f"  {step}")
    done = "Finished the rotation of" if finish else "Rotated"
    console.print(f"{'Dry run of the rotation' if dry_run else done} {subject}: done.")
    if not dry_run:
        audit_trail.record(config, "credentials.rotate", subject, detail="; ".join(steps))
    warnings = [step for step in steps if step.startswith("WARNING")]
    if warnings:  # `finish` is this command's --finish flag here
        findings(f"{subject}: {'; '.join(warnings)}")
