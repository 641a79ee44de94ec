"""`credentials check-age` and `credentials rotate --link-signer` for the link signer's key (a system
key, rotated every 60 days) against the embedded AWS: IAM's keys of the provisioned signer user, its
secret, and real HTTP GETs of links it presigned."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from typer.testing import CliRunner

import cli.workflows.audit_trail
import cli.workflows.link_signer
import cli.workflows.rotation
from cli.main import app
from cli.workflows.audit_trail import events_between
from infrastructure.config import for_environment
from lambdas.dal.archive import ReportArchive
from lambdas.dal.aws import AwsCredentials
from lambdas.dal.secrets_store import SecretsStore
from tests.integration.conftest import AS_OF
from tests.integration.runs import register, run
from tests.reliability.conftest import quick_backoff  # noqa: F401 - fixture of the fault suite
from tests.reliability.faults import Faults
from tests.security.sigv4 import s3_answer

runner = CliRunner()
CONFIG = for_environment("local")
ROTATE = ["credentials", "rotate", "--link-signer"]


@pytest.fixture
def no_pause(monkeypatch):
    monkeypatch.setattr(cli.workflows.rotation, "sleep", lambda seconds: None)


@pytest.fixture
def faults(platform):
    injected = Faults()
    yield injected
    injected.close()


def stored() -> AwsCredentials:
    value = boto3.client("secretsmanager").get_secret_value(SecretId=CONFIG.link_signer_secret)["SecretString"]
    return AwsCredentials(**json.loads(value))


def iam_keys() -> list[str]:
    listed = boto3.client("iam").list_access_keys(UserName=CONFIG.link_signer_user)["AccessKeyMetadata"]
    return sorted(key["AccessKeyId"] for key in listed)


def created_at(access_key_id: str):
    listed = boto3.client("iam").list_access_keys(UserName=CONFIG.link_signer_user)["AccessKeyMetadata"]
    return next(key["CreateDate"] for key in listed if key["AccessKeyId"] == access_key_id)


def signs_and_is_served(credentials: AwsCredentials) -> bool:
    """What a recipient's browser does with a link signed by this key (cli.workflows.link_signer.probe_link)."""
    try:
        cli.workflows.link_signer.probe_link(CONFIG, credentials)
    except cli.workflows.link_signer.RotationStopped:
        return False
    return True


def check_age(*options: str) -> tuple[int, dict]:
    result = runner.invoke(app, ["credentials", "check-age", "--format", "json", *options])
    return result.exit_code, json.loads(result.stdout)


def report_link(client_id: str) -> str:
    outcome = run(client_id, AS_OF)
    assert outcome.status == "succeeded" and outcome.report is not None, outcome.error
    return str(outcome.report.archive_url)


def signer_of(link: str) -> str:
    return parse_qs(urlsplit(link).query)["X-Amz-Credential"][0].split("/")[0]


def test_check_age_holds_the_signer_key_to_the_system_key_limits(platform, frozen_clock):
    key = stored()
    created = created_at(key.access_key_id)
    for days, status, code in ((29, "OK", 0), (31, "WARNING", 1), (51, "CRITICAL", 1)):
        frozen_clock(created + timedelta(days=days, hours=1))

        exit_code, document = check_age()

        assert (exit_code, document["status"]) == (code, status)
        assert document["keys"] == []  # no client on stored keys: the verdict is the signer's
        [signer] = document["system_keys"]
        assert (signer["name"], signer["user"], signer["use"]) == ("link-signer", CONFIG.link_signer_user, "signing")
        assert (signer["age_days"], signer["status"]) == (days, status)
        assert signer["secret_name"] == CONFIG.link_signer_secret
        assert signer["access_key"].startswith(key.access_key_id[:4]) and key.access_key_id not in json.dumps(document)
    assert (document["system_warn_days"], document["system_critical_days"]) == (30, 50)


def test_health_check_and_security_audit_flag_an_old_signer_key(platform, frozen_clock):
    created = created_at(stored().access_key_id)
    for days, status, severity in ((31, "WARNING", "MEDIUM"), (51, "CRITICAL", "HIGH")):
        frozen_clock(created + timedelta(days=days, hours=1))

        health = runner.invoke(app, ["system", "health-check", "--format", "json"])
        audit = runner.invoke(app, ["ops", "security-audit", "--weekly", "--format", "json"])

        [check] = [c for c in json.loads(health.stdout)["checks"] if c["name"] == "link signer key"]
        assert check["status"] == status and check["detail"].startswith("signing ")
        assert health.exit_code == 1
        document = json.loads(audit.stdout)
        [finding] = [f for f in document["findings"] if f["resource"] == CONFIG.link_signer_user]
        assert finding["severity"] == severity
        assert finding["fix"] == "python cli/main.py credentials rotate --link-signer"
        assert f"({days} days)" in finding["finding"]
        assert [key["age_days"] for key in document["credential_ages"]["system"]] == [days]


def test_check_age_warns_when_the_signer_cannot_be_read(platform, frozen_clock):
    boto3.client("secretsmanager").delete_secret(SecretId=CONFIG.link_signer_secret, ForceDeleteWithoutRecovery=True)

    exit_code, document = check_age()

    assert exit_code == 1
    [signer] = document["system_keys"]
    assert signer["status"] == "WARNING" and signer["detail"].startswith("age unknown:")


@pytest.mark.usefixtures("no_pause")
def test_rotation_replaces_the_key_keeps_the_old_one_while_its_links_live_then_finish_deletes_it(
    platform, demo_records, frozen_clock
):
    acme = register(demo_records[0])
    old = stored()
    old_link = report_link(acme.client_id)
    assert signer_of(old_link) == old.access_key_id
    rotated_at = frozen_clock()

    result = runner.invoke(app, ROTATE)

    assert result.exit_code == 0, result.output
    for step in ("works: S3 served a link it signed", "created", "new key validates", "stored in", "kept the old key"):
        assert step in result.output
    new = stored()
    assert new.access_key_id != old.access_key_id
    assert iam_keys() == sorted([old.access_key_id, new.access_key_id])  # the old key still serves its links
    assert signs_and_is_served(new) and signs_and_is_served(old)
    assert new.secret_access_key not in result.output and old.access_key_id not in result.output
    # Reports from now on are signed with the new key, for 7 days; the old link's signature still holds.
    new_link = report_link(acme.client_id)
    assert signer_of(new_link) == new.access_key_id and "X-Amz-Expires=604800" in new_link
    old_signed_at = datetime.strptime(parse_qs(urlsplit(old_link).query)["X-Amz-Date"][0], "%Y%m%dT%H%M%SZ")
    assert s3_answer(old_link, old.secret_access_key, old_signed_at.replace(tzinfo=UTC) + timedelta(days=6)) == "served"
    _, document = check_age()
    retired = [key for key in document["system_keys"] if key["use"] == "retired"]
    assert [(key["status"], key["detail"].split(" until")[0]) for key in retired] == [
        ("OK", "serves the links it signed")
    ]

    # While the old key's links live, neither a finish nor another rotation touches it.
    finish = runner.invoke(app, [*ROTATE, "--finish"])
    assert finish.exit_code == 1 and "serves the links it signed until" in finish.output
    again = runner.invoke(app, ROTATE)
    assert again.exit_code == 1 and "still serves the links it signed until" in again.output
    assert iam_keys() == sorted([old.access_key_id, new.access_key_id]) and stored() == new

    # Once they have expired (7 days after the new key was stored, and a run's length): the weekly check
    # says so, and the finish deletes the old key.
    stored_at = SecretsStore().current_since(CONFIG.link_signer_secret)
    frozen_clock(stored_at + timedelta(days=7, minutes=14))
    assert runner.invoke(app, [*ROTATE, "--finish"]).exit_code == 1  # a run may still sign with it
    frozen_clock(stored_at + timedelta(days=7, minutes=16))
    _, document = check_age()
    [retired] = [key for key in document["system_keys"] if key["use"] == "retired"]
    assert retired["status"] == "WARNING" and "--finish" in retired["detail"]
    finish = runner.invoke(app, [*ROTATE, "--finish"])
    assert finish.exit_code == 0, finish.output
    assert "deleted the retired key" in finish.output
    assert iam_keys() == [new.access_key_id] and stored() == new
    assert signs_and_is_served(new)

    events, _ = events_between(CONFIG, rotated_at - timedelta(days=1), stored_at + timedelta(days=8))
    signer_events = [e for e in events if e.client_id == CONFIG.link_signer_user]
    # The rotation, the two refusals at the same moment, the early finish, the finish.
    assert sorted(e.outcome for e in signer_events) == ["done", "done", "stopped", "stopped", "stopped"]
    assert all(e.action == "credentials.rotate" for e in signer_events)


@pytest.mark.usefixtures("no_pause")
def test_a_retired_key_is_cleared_by_the_next_rotation_once_its_links_have_expired(platform, frozen_clock):
    first = stored()
    rotated_at = frozen_clock()
    assert runner.invoke(app, ROTATE).exit_code == 0
    second = stored()
    frozen_clock(rotated_at + timedelta(days=60))

    result = runner.invoke(app, ROTATE)

    assert result.exit_code == 0, result.output
    assert "deleted the retired key" in result.output and "its links have expired" in result.output
    third = stored()
    assert iam_keys() == sorted([second.access_key_id, third.access_key_id])
    assert first.access_key_id not in iam_keys()


def test_dry_run_changes_nothing(platform, frozen_clock):
    before = stored()

    result = runner.invoke(app, [*ROTATE, "--dry-run"])

    assert result.exit_code == 0, result.output
    assert "would create a new key, prove it on a presigned GET" in result.output
    assert stored() == before and iam_keys() == [before.access_key_id]
    assert ReportArchive(platform.assets_bucket).list("reports/") == []  # the probe object is gone again


@pytest.mark.usefixtures("no_pause", "quick_backoff")
@pytest.mark.parametrize("step", ["validate-identity", "validate-link", "validate-probe", "store"])
def test_a_failure_between_create_and_store_leaves_the_old_key_stored_and_working(
    platform, frozen_clock, faults, monkeypatch, step
):
    old = stored()
    original = ReportArchive.presigned_url
    if step == "validate-identity":  # what STS answers while a new key has not propagated yet
        faults.fail("sts", "GetCallerIdentity", "InvalidClientTokenId", status=403)
    elif step == "validate-link":  # S3 refuses the new key's link: aim it at an object that is not there

        def refused_for_new_keys(self, key, signer=None, expires_in=None):
            if signer is not None and signer.access_key_id != old.access_key_id:
                key = "reports/_no-such-object"
            return original(self, key, signer, expires_in)

        monkeypatch.setattr(ReportArchive, "presigned_url", refused_for_new_keys)
    elif step == "validate-probe":  # S3 fails to keep the probe object after the old key was proven
        probes = itertools.count()  # the first probe (the current key's) goes through, the new key's fails
        faults.fail(
            "s3",
            "PutObject",
            "InternalError",
            status=500,
            when=lambda r: "_link-signer-probe" in r.url and next(probes) > 0,
        )
    else:
        faults.fail("secrets-manager", "PutSecretValue", "InternalServiceError", status=500)

    result = runner.invoke(app, ROTATE)

    assert result.exit_code == 1, result.output
    assert f"stopped at {step.split('-')[0]}:" in result.output
    assert "the new key was deleted; the old key is still stored and working" in result.output
    if step == "validate-link":
        assert "S3 refused a GET signed with the key (HTTP 404 NoSuchKey)" in result.output
    faults.clear()
    if step == "validate-link":
        monkeypatch.setattr(ReportArchive, "presigned_url", original)
    assert stored() == old and iam_keys() == [old.access_key_id]
    assert signs_and_is_served(old)


@pytest.mark.usefixtures("no_pause")
def test_revoke_old_deletes_the_old_key_at_once(platform, frozen_clock):
    old = stored()

    result = runner.invoke(app, [*ROTATE, "--revoke-old"])

    assert result.exit_code == 0, result.output
    assert "deleted the old key" in result.output and "the links it signed stop working" in result.output
    new = stored()
    assert iam_keys() == [new.access_key_id] != [old.access_key_id]


@pytest.mark.usefixtures("no_pause")
def test_a_failed_delete_leaves_the_new_key_stored_and_says_so(platform, frozen_clock, faults):
    old = stored()
    faults.fail("iam", "DeleteAccessKey", "AccessDenied", status=403)

    result = runner.invoke(app, [*ROTATE, "--revoke-old"])

    assert result.exit_code == 1
    assert "stopped at delete:" in result.output and "the new key is stored and working" in result.output
    new = stored()
    assert new != old and iam_keys() == sorted([old.access_key_id, new.access_key_id])
    assert signs_and_is_served(new)


@pytest.mark.usefixtures("no_pause")
def test_a_stored_key_iam_no_longer_has_is_replaced(platform, frozen_clock):
    """The signer's key was deleted by hand: links fail now, and the rotation is the repair."""
    old = stored()
    boto3.client("iam").delete_access_key(UserName=CONFIG.link_signer_user, AccessKeyId=old.access_key_id)
    assert check_age()[1]["system_keys"][0]["status"] == "CRITICAL"

    result = runner.invoke(app, ROTATE)

    assert result.exit_code == 1, result.output  # done, with a warning to read
    assert "WARNING: IAM does not list the stored key" in result.output
    assert "was no longer in IAM: nothing to keep" in result.output
    new = stored()
    assert iam_keys() == [new.access_key_id] and signs_and_is_served(new)


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["credentials", "rotate"], "--client-id or --link-signer"),
        (["credentials", "rotate", "--link-signer", "--client-id", "acme"], "--client-id or --link-signer"),
        (["credentials", "rotate", "--client-id", "acme", "--finish"], "--finish: only with --link-signer"),
        (["credentials", "rotate", "--client-id", "acme", "--revoke-old"], "--revoke-old: only with --link-signer"),
        ([*ROTATE, "--finish", "--revoke-old"], "--finish and --revoke-old"),
    ],
)
def test_bad_flags_are_one_line_and_change_nothing(platform, arguments, named):
    before = stored()

    result = runner.invoke(app, arguments)

    assert result.exit_code == 2
    assert named in result.output and len(result.output.strip().splitlines()) == 1
    assert stored() == before and iam_keys() == [before.access_key_id]


def test_local_bootstrap_creates_the_signer_and_run_again_keeps_its_key(platform):
    """`local bootstrap` (emulator/provision.py) makes the signer as the stack does; a second run
    leaves the key in use alone."""
    before = stored()
    policy = boto3.client("iam").get_user_policy(UserName=CONFIG.link_signer_user, PolicyName="ReadReports")

    result = runner.invoke(app, ["local", "bootstrap"])

    assert result.exit_code == 0, result.output
    assert stored() == before and iam_keys() == [before.access_key_id]
    assert policy["PolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{platform.assets_bucket}/reports/*"}
    ]
    assert platform.link_signer_secret == CONFIG.link_signer_secret
