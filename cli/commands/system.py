"""`system ...`: the daily health check (its checks: cli/documents/health.py), `assess-damage`
(cli/probes/recovery.py) and `validate-recovery` (cli/documents/recovery_validation.py).

`health-check` runs, in this order: the tables and the bucket; SES sending status, quota and
reputation; alarms of the environment in ALARM; the dead-letter queue and the jobs queue;
clients whose last successful report is older than their schedule allows; stored keys near
their age limits; recipients SES reported bouncing or complaining. `--post-deployment` adds
every resource of `deploy validate` and the Lambda errors, throttles and failed runs of the last
hour; `--comprehensive` adds those and obtains every active client's credentials (no Cost
Explorer request: those are paid).
Thresholds: cli/reviews/checks.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from cli.context import emit_and_finish, environment_config, fail, now, report_checks, writable
from cli.documents.health import health_checks
from cli.documents.recovery_validation import evidence_checks, recovery_checks
from cli.options import EnvironmentOption, FormatOption, OutputFormat, OutputOption
from cli.probes.recovery import RTO, Assessed, assessment
from cli.render.console import Table, styled
from cli.reviews.checks import Status, listed
from cli.workflows.backup import read_backup
from infrastructure.config import EnvironmentConfig

app = typer.Typer(help="Health checks, damage assessment and recovery validation.", no_args_is_help=True)


# -- commands ------------------------------------------------------------------------------------


@app.command("health-check")
def health_check(
    comprehensive: bool = typer.Option(False, "--comprehensive", help="Also every resource and client credential."),
    post_deployment: bool = typer.Option(False, "--post-deployment", help="Also every resource and the last hour."),
    fmt: OutputFormat = FormatOption,
    output: Path | None = OutputOption,
    environment: str = EnvironmentOption,
) -> None:
    """Is the platform healthy? Each check OK / WARNING / CRITICAL; exit 0 only if all are OK."""
    config = environment_config(environment, output=output)
    at = now()
    checks = health_checks(config, at, post_deployment=post_deployment, comprehensive=comprehensive)
    meta = {"environment": config.environment, "checked_at": at.isoformat()}
    report_checks(checks, title=f"health of {config.environment}", fmt=fmt, output=output, meta=meta)


@app.command("assess-damage")
def assess_damage(
    comprehensive: bool = typer.Option(
        False, "--comprehensive", help="Exact item counts (a paid scan), every client record and secret."
    ),
    fmt: OutputFormat = FormatOption,
    output: Path | None = OutputOption,
    environment: str = EnvironmentOption,
) -> None:
    """Disaster recovery, the first 15 minutes: what exists, what is missing or damaged, what holds
    data and where it is restorable from, in the order to restore, with the runbook's RTO (exit 1
    when anything is missing or damaged)."""
    config = environment_config(environment, output=output)
    at = now()
    assessed = Assessed(assessment(config, comprehensive=comprehensive))
    rows = [item.as_dict(order) for order, item in enumerate(assessed.items, start=1)]
    document = {
        "environment": config.environment,
        "assessed_at": at,
        "scope": "comprehensive" if comprehensive else "quick",
        "rto": RTO,
        "items": rows,
        "damaged": [item.name for item in assessed.damaged],
    }
    table = Table("#", "item", "status", "state", "holds", "restore from", "RTO", title=_title(config, assessed))
    for row, item in zip(rows, assessed.items, strict=True):
        table.add_row(
            str(row["order"]),
            item.name,
            styled(item.status.name, item.status.style),
            item.state,
            item.holds,
            item.restore_from,
            f"{RTO[item.tier]} ({item.tier})",
        )
    damaged = [f"{item.name} ({item.state})" for item in assessed.damaged]
    shortfall = f"{len(damaged)} of {len(rows)} part(s) missing or damaged: {listed(damaged)}" if damaged else ""
    emit_and_finish(document, table, fmt, output, shortfall)


def _title(config: EnvironmentConfig, assessed: Assessed) -> str:
    worst = max((item.status for item in assessed.items), default=Status.OK)
    return f"damage assessment of {config.environment}: {worst.name}, in the order to restore"


@app.command("validate-recovery")
def validate_recovery(
    input_file: Path | None = typer.Option(None, "--input", help="The backup that was restored."),
    comprehensive: bool = typer.Option(
        False, "--comprehensive", help="Check against the environment's own evidence; no backup file needed."
    ),
    fmt: OutputFormat = FormatOption,
    output: Path | None = OutputOption,
    environment: str = EnvironmentOption,
) -> None:
    """After a restore: every resource is healthy and every record is there (exit 1 if not).

    With --input, against the backup restored; with --comprehensive, against the archive, the run
    history, the suppressions and the audit trail, with no backup file at hand; or both."""
    if input_file is None and not comprehensive:
        fail("--input: give the backup that was restored, or --comprehensive to check without one")
    writable(output)
    backup = read_backup(input_file) if input_file is not None else None
    config = environment_config(environment)
    at = now()
    checks = recovery_checks(config, backup) if backup is not None else []
    if comprehensive:
        seen = {check.name for check in checks}
        checks += [check for check in evidence_checks(config, at) if check.name not in seen]
    meta: dict[str, Any] = {
        "environment": config.environment,
        "backup": str(input_file) if input_file else None,
        "comprehensive": comprehensive,
        "checked_at": at.isoformat(),
    }
    report_checks(checks, title=f"recovery of {config.environment}", fmt=fmt, output=output, meta=meta)
