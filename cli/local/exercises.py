"""The training exercises (`training ...`, cli/commands/training.py): what each one breaks, how it is
checked, and the runbook's commands that fix it.

Each breaks one thing the way it breaks in production, through the platform's own code, on a
client of its own (`training-...`, with the accounts and role of the demo's acme-retail, so that
its reports have data): a refused credential, a bounced recipient, a stale client, a damaged
backup, a failing schedule. Setting one up again starts it afresh.
"""

from __future__ import annotations

import contextlib
import io
import json
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from cli.context import settings, to_json, write_atomically
from cli.readers.clients import clients_table
from cli.reviews.checks import Check, Status, is_stale
from cli.workflows.backup import MANIFEST, BackupType, backup_checks, build_manifest, read_backup, snapshot, tar_bytes
from emulator.client_roles import CE_READ_ACTIONS, trust_policy
from emulator.dataset import demo_clients
from infrastructure.config import EnvironmentConfig
from lambdas.dal.aws import AwsCredentials, client_with, platform_client
from lambdas.dal.credentials import CredentialProvider
from lambdas.dal.executions_table import ExecutionsTable
from lambdas.dal.suppressions import SuppressionsTable
from lambdas.models.client import parse_client
from lambdas.models.events import ReportJob
from lambdas.models.exceptions import InvalidInputError, PlatformError
from lambdas.models.ses_events import Suppression
from lambdas.observability import logs_to
from lambdas.orchestration.dependencies import dependencies_from
from lambdas.orchestration.run import ReportRun

BASE = "acme-retail"  # whose accounts and role the training clients read (the demo dataset's)
DAMAGED_BACKUP = Path("backups/training-damaged.tar.gz")
STALE_DAYS = 3


Step = tuple[str, int | None]  # a command of this CLI (without `python cli/main.py`), the exit code it ends with


@dataclass(frozen=True)
class Exercise:
    name: str
    title: str
    situation: str
    runbook: str  # the sections of docs/operations.md to follow
    setup: Callable[[EnvironmentConfig, datetime], str]
    check: Callable[[EnvironmentConfig, datetime], list[Check]]
    solution: Callable[[datetime], list[Step]]  # the runbook's commands that fix it, in order
    shown: tuple[str, ...] = ()  # the solution as printed, where it varies by day (else the solution's)

    def steps_shown(self, at: datetime) -> list[str]:
        return list(self.shown) or [command for command, _ in self.solution(at)]


def _record(client_id: str, **changes: Any) -> dict[str, Any]:
    base = next(c for c in demo_clients() if c["client_id"] == BASE)
    record = {
        **base,
        "client_id": client_id,
        "name": f"Training: {client_id.removeprefix('training-')}",
        "recipients": [f"finance@{client_id}.example", f"cto@{client_id}.example"],
        "budget": None,
        "attach_xlsx": False,
        "credentials": {"type": "role", "role_arn": ROLE["role_arn"], "external_id": external_id(client_id)},
    }
    return {key: value for key, value in {**record, **changes}.items() if value is not None}


def _fresh(config: EnvironmentConfig, record: dict[str, Any]) -> None:
    """The exercise's client as new: its record, no runs, no suppressions (and the training clients'
    role in the base client's payer account, trusting each of their external ids)."""
    _client_role(ROLE["role_arn"], [external_id(client_id) for client_id in TRAINING_CLIENTS])
    table = clients_table(config)
    client_id = record["client_id"]
    executions = ExecutionsTable(config.executions_table)
    executions.delete(client_id, [run.run_id for run in executions.history(client_id, limit=500)])
    suppressions = SuppressionsTable(config.suppressions_table)
    for suppression in suppressions.list(client_id):
        suppressions.forget(client_id, suppression.email)
    table.put(parse_client(record))


def _client_check(config: EnvironmentConfig, client_id: str) -> tuple[Check, Any]:
    try:
        client = parse_client(clients_table(config).get_record(client_id))
    except InvalidInputError as error:
        return Check(f"record of {client_id}", Status.CRITICAL, f"invalid: {error}"), None
    except PlatformError:
        return Check(f"record of {client_id}", Status.CRITICAL, "missing: run `training setup` first"), None
    return Check(f"record of {client_id}", Status.OK, "valid"), client


def _last_run(config: EnvironmentConfig, client_id: str) -> Check:
    runs = ExecutionsTable(config.executions_table).history(client_id, limit=1)
    if not runs:
        return Check("latest run", Status.WARNING, "no run yet")
    run = runs[0]
    status = Status.OK if run.status == "succeeded" else Status.CRITICAL
    return Check(
        "latest run", status, f"{run.run_id}: {run.status}" + (f" ({run.error_kind})" if run.error_kind else "")
    )


# -- 1. a refused credential ---------------------------------------------------------------------

# The role the client moves the trainee back to: in the base client's payer account, trusting its own
# external id (each client's external id is its own: the base client's cannot be reused).
_BASE_ROLE = next(c for c in demo_clients() if c["client_id"] == BASE)["credentials"]["role_arn"]
TRAINING_CLIENTS = ("training-refused", "training-bounce", "training-stale", "training-schedule")


def external_id(client_id: str) -> str:
    return f"{client_id}-external-id"


ROLE = {"role_arn": f"{_BASE_ROLE}Training", "external_id": external_id("training-refused")}


def _client_role(role_arn: str, external_ids: list[str]) -> None:
    """What the client does when it moves the platform back to a role: deploys the read-only role in
    its payer account, trusting the platform with its external id (the embedded AWS enforces it)."""
    account, name = role_arn.split(":")[4], role_arn.rsplit("/", 1)[-1]
    admin = platform_client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="training-client"
    )["Credentials"]
    iam = client_with("iam", AwsCredentials(admin["AccessKeyId"], admin["SecretAccessKey"], admin["SessionToken"]))
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust_policy(external_ids)))
    iam.update_assume_role_policy(RoleName=name, PolicyDocument=json.dumps(trust_policy(external_ids)))
    iam.put_role_policy(
        RoleName=name,
        PolicyName="CostExplorerReadOnly",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": CE_READ_ACTIONS, "Resource": "*"}]}
        ),
    )


def _setup_refused(config: EnvironmentConfig, at: datetime) -> str:
    revoked = {"type": "stored_keys", "secret_name": f"{config.secrets_prefix}training-refused/revoked"}
    _fresh(config, _record("training-refused", credentials=revoked))
    return "training-refused now reads its costs with stored keys that no longer exist: every run is refused"


def _check_refused(config: EnvironmentConfig, at: datetime) -> list[Check]:
    record, client = _client_check(config, "training-refused")
    if client is None:
        return [record]
    try:
        CredentialProvider().for_client(client)
    except PlatformError as error:
        return [record, Check("credentials", Status.CRITICAL, f"refused: {error}")]
    return [record, Check("credentials", Status.OK, f"obtained ({client.credentials.type})")]


# -- 2. a bounced recipient ----------------------------------------------------------------------


def _setup_bounce(config: EnvironmentConfig, at: datetime) -> str:
    _fresh(config, _record("training-bounce"))
    bounce = Suppression(
        client_id="training-bounce",
        email="cto@training-bounce.example",
        reason="bounce",
        recorded_at=at - timedelta(hours=3),
        detail="Permanent/General 5.1.1 (training)",
    )
    SuppressionsTable(config.suppressions_table).add(bounce)
    return "SES reported a permanent bounce for cto@training-bounce.example: it receives no report"


def _check_bounce(config: EnvironmentConfig, at: datetime) -> list[Check]:
    record, client = _client_check(config, "training-bounce")
    if client is None:
        return [record]
    suppressed = {s.email for s in SuppressionsTable(config.suppressions_table).list("training-bounce")}
    held = sorted(address for address in client.recipients if address.lower() in suppressed)
    if held:
        return [record, Check("recipients", Status.CRITICAL, f"suppressed, sent nothing: {', '.join(held)}")]
    return [record, Check("recipients", Status.OK, f"{len(client.recipients)} recipient(s), none suppressed")]


# -- 3. a stale client ---------------------------------------------------------------------------


def _stale_days(at: datetime) -> list[date]:
    return [at.date() - timedelta(days=offset) for offset in range(STALE_DAYS, 0, -1)]


def _setup_stale(config: EnvironmentConfig, at: datetime) -> str:
    registered = at - timedelta(days=STALE_DAYS)
    _fresh(config, _record("training-stale", created_at=registered.isoformat()))
    return f"training-stale was registered {STALE_DAYS} days ago while the schedule was down: it has no report"


def _check_stale(config: EnvironmentConfig, at: datetime) -> list[Check]:
    record, client = _client_check(config, "training-stale")
    if client is None:
        return [record]
    runs = ExecutionsTable(config.executions_table).history("training-stale", limit=100)
    covered = {r.as_of for r in runs if r.status == "succeeded"}
    missing = [f"{day}" for day in _stale_days(at) if day not in covered]
    last = max((r.finished_at for r in runs if r.status == "succeeded" and r.finished_at), default=None)
    checks = [record]
    stale = is_stale(client.schedule, last, client.created_at, at)
    checks.append(Check("freshness", Status.WARNING if stale else Status.OK, "stale" if stale else "reported"))
    detail = f"no report for {', '.join(missing)}" if missing else "every day since registration reported"
    checks.append(Check("days without a report", Status.WARNING if missing else Status.OK, detail))
    return checks


# -- 4. a damaged backup -------------------------------------------------------------------------


def _setup_backup(config: EnvironmentConfig, at: datetime) -> str:
    files, counts, _ = snapshot(config, BackupType.clients)
    manifest = build_manifest(files, counts, config, BackupType.clients, at)
    damaged = dict(files)
    damaged["clients.json"] = files["clients.json"].replace(b'"client_id"', b'"client_Id"', 1)
    write_atomically(DAMAGED_BACKUP, tar_bytes({MANIFEST: to_json(manifest).encode(), **damaged}, at))
    return f"{DAMAGED_BACKUP}, last night's backup, was damaged on its way to storage"


def _check_backup(config: EnvironmentConfig, at: datetime) -> list[Check]:
    if not DAMAGED_BACKUP.is_file():
        return [Check(str(DAMAGED_BACKUP), Status.CRITICAL, "missing: make a new backup there")]
    try:
        with tarfile.open(DAMAGED_BACKUP, "r:gz") as archive:
            archive.getmembers()
    except (tarfile.TarError, OSError) as error:
        return [Check(str(DAMAGED_BACKUP), Status.CRITICAL, f"not a backup: {error}")]
    flagged = [c for c in backup_checks(read_backup(DAMAGED_BACKUP)) if c.status is not Status.OK]
    if flagged:
        return [Check(str(DAMAGED_BACKUP), Status.CRITICAL, f"{flagged[0].name}: {flagged[0].detail}")]
    return [Check(str(DAMAGED_BACKUP), Status.OK, "validates: manifest, checksums, every record")]


# -- 5. a failing schedule -----------------------------------------------------------------------


def _setup_schedule(config: EnvironmentConfig, at: datetime) -> str:
    _fresh(config, _record("training-schedule", budget="12000.00"))
    clients_table(config).edit_by_hand("training-schedule", "budget", "twelve thousand")  # `client update` refuses it
    job = ReportJob.scheduled("training-schedule", "daily", at.date())
    with logs_to(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):  # the worker's logs, not the trainee's
        ReportRun(dependencies_from(settings(config)), requester="worker").run(job)
    return "training-schedule's record was edited by hand: today's scheduled run failed, and so will every one"


def _check_schedule(config: EnvironmentConfig, at: datetime) -> list[Check]:
    record, _ = _client_check(config, "training-schedule")
    return [record, _last_run(config, "training-schedule")]


# -- the exercises ---------------------------------------------------------------------------------

EXERCISES: dict[str, Exercise] = {
    exercise.name: exercise
    for exercise in (
        Exercise(
            "refused-credential",
            "A refused credential",
            "The daily check and the worker's logs show UNAUTHORIZED for training-refused. Asked, the client "
            "says it deleted the access key it had given you and moved you back to its role: "
            f"{ROLE['role_arn']}, external id {ROLE['external_id']}.",
            "Incident response (UNAUTHORIZED in the logs); Onboarding a client (role)",
            _setup_refused,
            _check_refused,
            lambda at: [
                ("credentials validate --client-id training-refused -e local", 1),
                (
                    f"client update --client-id training-refused --role-arn {ROLE['role_arn']} "
                    f"--external-id {ROLE['external_id']} -e local",
                    0,
                ),
                ("credentials validate --client-id training-refused -e local", 0),
            ],
        ),
        Exercise(
            "bounced-recipient",
            "A bounced recipient",
            "The daily check lists a suppressed recipient of training-bounce. The client says the address "
            "cto@training-bounce.example was retired: its reports go to cto.office@training-bounce.example now.",
            "Daily health check, step 4 (Email delivery); Incident response (SES reputation WARNING)",
            _setup_bounce,
            _check_bounce,
            lambda at: [
                ("client suppressions --client-id training-bounce -e local", 0),
                (
                    "client update --client-id training-bounce --recipient finance@training-bounce.example "
                    "--recipient cto.office@training-bounce.example -e local",
                    0,
                ),
            ],
        ),
        Exercise(
            "stale-client",
            "A stale client",
            f"training-stale was registered {STALE_DAYS} days ago, while the schedule was down: the daily check "
            "says it is stale. Give it the reports of every day it missed.",
            "Daily health check, step 6 (Record and escalate: a stale client)",
            _setup_stale,
            _check_stale,
            lambda at: [
                ("ops client-health --days 7 -e local", None),
                *((f"report run --client-id training-stale --as-of {day} -e local", 0) for day in _stale_days(at)),
            ],
            (
                "ops client-health --days 7 -e local",
                "report run --client-id training-stale --as-of DAY -e local   # once for each day it lists",
            ),
        ),
        Exercise(
            "damaged-backup",
            "A damaged backup",
            f"Last night's backup, {DAMAGED_BACKUP}, was damaged on its way to storage. Find out what is wrong "
            "with it and put a sound backup in its place.",
            "Backup and recovery (Manual backups)",
            _setup_backup,
            _check_backup,
            lambda at: [
                (f"backup validate --input {DAMAGED_BACKUP}", 1),
                (f"backup create --type clients --output {DAMAGED_BACKUP} -e local", 0),
                (f"backup validate --input {DAMAGED_BACKUP}", 0),
            ],
        ),
        Exercise(
            "failing-schedule",
            "A failing schedule",
            "training-schedule's scheduled run failed this morning, and fails every day: find why in its "
            "history, fix the cause and give it today's report. (Its budget is USD 12,000 a month.)",
            "Daily health check, step 6; Incident response (a stale client)",
            _setup_schedule,
            _check_schedule,
            lambda at: [
                ("report history --client-id training-schedule -e local", 0),
                ("client update --client-id training-schedule --budget 12000 -e local", 0),
                ("report run --client-id training-schedule -e local", 0),
            ],
        ),
    )
}
