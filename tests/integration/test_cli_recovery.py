"""`system assess-damage` and `system validate-recovery --comprehensive` on the embedded AWS: the
first 15 minutes of disaster recovery, and a restored environment checked with no backup file."""

from __future__ import annotations

import json

import boto3
from typer.testing import CliRunner

from cli.main import app
from cli.probes.recovery import RTO, TABLE_TIERS
from infrastructure.config import TABLES, for_environment
from lambdas.dal.clients_table import ClientsTable

runner = CliRunner()
CONFIG = for_environment("local")


def assess(*flags: str) -> tuple[int, dict]:
    result = runner.invoke(app, ["system", "assess-damage", "--format", "json", *flags])
    return result.exit_code, json.loads(result.stdout)


def test_every_table_has_a_tier():
    assert set(TABLE_TIERS) == set(TABLES)


def test_a_whole_environment_is_assessed_in_the_order_to_restore(populated):
    code, document = assess("--comprehensive")

    assert code == 0, document["damaged"]
    items = {item["name"]: item for item in document["items"]}
    assert [item["order"] for item in document["items"]] == list(range(1, len(items) + 1))
    clients = items[f"table {CONFIG.clients_table}"]
    assert (clients["holds"], clients["rto"], clients["tier"]) == ("5 client records", "1 hour", "critical")
    assert clients["restore_from"].startswith("point-in-time recovery since")
    assert items[f"table {CONFIG.executions_table}"]["holds"] == "2 runs"
    assert items[f"table {CONFIG.executions_table}"]["rto"] == RTO["standard"]
    assert items[f"table {CONFIG.cost_cache_table}"]["restore_from"].startswith("nothing to restore")
    bucket = items[f"bucket {CONFIG.assets_bucket}"]
    assert bucket["state"] == "versioning Enabled" and bucket["holds"].endswith("archived object(s)")
    assert items["SES identity example.com"]["status"] == "OK"
    names = list(items)  # the key and the stack before the tables, the tables before the data's users
    assert names.index(f"KMS key {CONFIG.kms_alias}") < names.index(f"table {CONFIG.clients_table}")
    assert names.index(f"table {CONFIG.clients_table}") < names.index(f"queue {CONFIG.jobs_queue}")


def test_a_damaged_environment_names_each_loss_and_where_to_restore_it_from(populated):
    boto3.client("dynamodb").delete_table(TableName=CONFIG.suppressions_table)
    boto3.client("secretsmanager").delete_secret(SecretId=CONFIG.link_signer_secret, RecoveryWindowInDays=7)

    result = runner.invoke(app, ["system", "assess-damage"])
    code, document = assess()

    assert code == result.exit_code == 1
    items = {item["name"]: item for item in document["items"]}
    lost = items[f"table {CONFIG.suppressions_table}"]
    assert (lost["status"], lost["state"], lost["rto"]) == ("CRITICAL", "missing", "1 hour")
    assert "list-backups --backup-type SYSTEM" in lost["restore_from"] and "backup restore" in lost["restore_from"]
    signer = items["link signer key"]
    assert signer["status"] == "CRITICAL" and signer["state"].startswith("deleted on")
    assert signer["restore_from"] == f"aws secretsmanager restore-secret --secret-id {CONFIG.link_signer_secret}"
    assert document["damaged"] == [f"table {CONFIG.suppressions_table}", "link signer key"]
    assert result.output.strip().splitlines()[-1].startswith("findings: 2 of ")


def test_recovery_is_checked_without_a_backup_file(populated):
    assert runner.invoke(app, ["client", "remove", "--client-id", "umbrella-media", "--yes"]).exit_code == 0
    ClientsTable(populated.clients_table).delete("acme-retail")  # lost, not removed: it has reports and runs

    result = runner.invoke(app, ["system", "validate-recovery", "--comprehensive", "--format", "json"])

    assert result.exit_code == 1
    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    known = checks["client records known"]
    assert (known["status"], known["missing"], known["removed"]) == ("CRITICAL", ["acme-retail"], ["umbrella-media"])
    assert checks["client records valid"]["status"] == "OK"
    assert checks[f"table {CONFIG.clients_table}"]["status"] == "OK"


def test_a_stored_key_clients_missing_secret_fails_the_recovery(populated, stored_key_client):
    client, _ = stored_key_client
    secret = client.credentials.secret_name
    boto3.client("secretsmanager").delete_secret(SecretId=secret, ForceDeleteWithoutRecovery=True)

    result = runner.invoke(app, ["system", "validate-recovery", "--comprehensive", "--format", "json"])

    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    assert checks["secrets clients name"]["status"] == "CRITICAL"
    assert f"secret of initech-keys: {secret} (missing)" in checks["secrets clients name"]["detail"]


def test_validate_recovery_needs_a_backup_or_comprehensive(platform):
    result = runner.invoke(app, ["system", "validate-recovery"])
    assert result.exit_code == 2 and "--input: give the backup that was restored, or --comprehensive" in result.output
