"""The audit trail: every client change and credential rotation made through the CLI is recorded
(who, when, which client, which fields, never values), read back by `ops audit-report`; an event
that cannot be written is said, not swallowed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

import cli.context
from cli.main import app
from infrastructure.config import for_environment
from lambdas.dal.aws import error_code
from lambdas.dal.clients_table import ClientsTable
from lambdas.models.client import parse_client

runner = CliRunner()
CONFIG = for_environment("local")
ROLE = ["--role-arn", "arn:aws:iam::111111111110:role/CostReportingReadOnly", "--external-id", "new-co-7f3a-e1d0-42b9"]
NEW = ["--client-id", "new-co", "--name", "New Co", "--account-id", "111111111111", "--recipient",
       "finance@new.example", *ROLE]  # fmt: skip


def at(monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr(cli.context, "clock", lambda: moment)


def test_every_change_is_recorded_with_who_and_which_fields(stored_key_client, demo_records, monkeypatch, tmp_path):
    client, _ = stored_key_client
    start = datetime(2026, 11, 3, 10, tzinfo=UTC)
    steps = [
        ["client", "add", *NEW],
        ["client", "update", "--client-id", "new-co", "--external-id", "secret-external-id-7f3a", "--budget", "10"],
        ["credentials", "rotate", "--client-id", client.client_id, "--dry-run"],  # changes nothing: not recorded
        ["credentials", "rotate", "--client-id", client.client_id],
        ["client", "remove", "--client-id", "new-co", "--yes"],
    ]
    for number, step in enumerate(steps):
        at(monkeypatch, start + timedelta(hours=number))
        assert runner.invoke(app, step).exit_code == 0, step
    records = tmp_path / "import.json"
    records.write_text(json.dumps(demo_records[:2]))
    at(monkeypatch, start + timedelta(days=1))
    assert runner.invoke(app, ["client", "import", "--input", str(records)]).exit_code == 0
    at(monkeypatch, datetime(2026, 12, 1, 9, tzinfo=UTC))

    result = runner.invoke(app, ["ops", "audit-report", "--period", "monthly", "--format", "json"])

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    events = document["changes"] + document["rotations"]
    summary = sorted((e["at"][:13], e["action"], e["client_id"], tuple(e["fields"])) for e in events)
    assert summary == [
        ("2026-11-03T10", "client.add", "new-co", ()),
        ("2026-11-03T11", "client.update", "new-co", ("budget", "credentials")),
        ("2026-11-03T13", "credentials.rotate", client.client_id, ()),
        ("2026-11-03T14", "client.remove", "new-co", ()),
        ("2026-11-04T10", "client.import", "*", ()),
    ]
    imported = next(e for e in events if e["action"] == "client.import")
    assert imported["clients"] == sorted(r["client_id"] for r in demo_records[:2])
    assert imported["detail"] == "2 added, 0 replaced"
    identity = boto3.client("sts").get_caller_identity()["Arn"]
    assert {e["actor"] for e in events} == {identity} and all(e["operator"] for e in events)
    assert "secret-external-id-7f3a" not in result.stdout
    rotation = next(e for e in events if e["action"] == "credentials.rotate")
    assert rotation["outcome"] == "done" and "deleted the old key" in rotation["detail"]
    assert document["unauthorized"]["refused_runs"] == []


def test_a_change_whose_event_cannot_be_written_says_so_and_exits_1(platform, demo_records, frozen_clock):
    s3 = boto3.client("s3")
    s3.delete_bucket(Bucket=CONFIG.audit_bucket)  # the audit trail's bucket is gone (nothing recorded yet)

    result = runner.invoke(app, ["client", "add", *NEW])

    assert result.exit_code == 1
    assert "client.add of new-co was made, but its audit event was not recorded" in result.output
    assert parse_client(ClientsTable(CONFIG.clients_table).get_record("new-co")).name == "New Co"


def test_the_audit_trail_is_append_only_an_event_cannot_be_deleted_or_rewritten(platform, frozen_clock):
    """S3 Object Lock (governance mode) on the audit bucket, as the stack deploys it: deleting an
    event's version is refused; a new object under the same key leaves the locked version in place.
    Only an explicit bypass of governance retention (its own IAM permission, logged by CloudTrail)
    could remove it."""
    assert runner.invoke(app, ["client", "add", *NEW]).exit_code == 0
    s3 = boto3.client("s3")
    [version] = s3.list_object_versions(Bucket=CONFIG.audit_bucket)["Versions"]
    head = s3.head_object(Bucket=CONFIG.audit_bucket, Key=version["Key"], VersionId=version["VersionId"])
    assert head["ObjectLockMode"] == "GOVERNANCE"

    with pytest.raises(ClientError) as refused:
        s3.delete_object(Bucket=CONFIG.audit_bucket, Key=version["Key"], VersionId=version["VersionId"])
    s3.put_object(Bucket=CONFIG.audit_bucket, Key=version["Key"], Body=b'{"forged": true}')

    assert error_code(refused.value) == "AccessDenied"
    kept = s3.get_object(Bucket=CONFIG.audit_bucket, Key=version["Key"], VersionId=version["VersionId"])
    assert json.loads(kept["Body"].read())["action"] == "client.add"
    assert not any(key.startswith("audit/") for key in _assets_keys(s3))  # nothing in the reports' bucket


def _assets_keys(s3) -> list[str]:
    return [obj["Key"] for obj in s3.list_objects_v2(Bucket=CONFIG.assets_bucket).get("Contents", [])]
