"""`credentials check-age | validate | rotate` against the embedded AWS (IAM keys of a real
IAM user in a member account, stored in Secrets Manager)."""

from __future__ import annotations

import json
from datetime import timedelta

import boto3
import pytest
from typer.testing import CliRunner

import cli.workflows.credential_validation
import cli.workflows.rotation
from cli.main import app
from lambdas.dal.access_keys import AccessKeys
from lambdas.dal.aws import AwsCredentials
from lambdas.dal.clients_table import ClientsTable
from lambdas.models.client import parse_client
from lambdas.models.exceptions import DependencyError, UnauthorizedError

runner = CliRunner()


def stored_secret(client) -> dict[str, str]:
    value = boto3.client("secretsmanager").get_secret_value(SecretId=client.credentials.secret_name)
    return json.loads(value["SecretString"])


def keys_of(secret: dict[str, str]) -> list[str]:
    """The user's keys as IAM lists them, asked with the stored key."""
    credentials = AwsCredentials(secret["access_key_id"], secret["secret_access_key"])
    return sorted(key.access_key_id for key in AccessKeys(credentials).list())


def test_check_age_classifies_by_iam_create_date(stored_key_client, frozen_clock, tmp_path):
    client, key_id = stored_key_client
    created = AccessKeys(AwsCredentials(**stored_secret(client))).current().created
    for days, status in ((59, "OK"), (61, "WARNING"), (81, "CRITICAL")):
        frozen_clock(created + timedelta(days=days, hours=1))
        report = tmp_path / f"ages-{days}.json"

        result = runner.invoke(app, ["credentials", "check-age", "--warn-days", "60", "--critical-days", "80",
                                     "--report", str(report)])  # fmt: skip

        document = json.loads(report.read_text())
        [key] = document["keys"]
        assert (key["client_id"], key["age_days"], key["status"]) == ("initech-keys", days, status)
        # The link signer's key, provisioned with the environment, is as old and a system key: its limits
        # are 30 and 50 days (tests/integration/test_cli_link_signer.py), so the verdict is CRITICAL.
        [signer] = document["system_keys"]
        assert (signer["use"], signer["status"]) == ("signing", "CRITICAL")
        assert (document["status"], result.exit_code) == ("CRITICAL", 1), result.output
        assert key_id not in report.read_text() and key["access_key"].startswith(key_id[:4])  # masked, never whole


def test_check_age_refuses_inverted_limits(platform):
    result = runner.invoke(app, ["credentials", "check-age", "--warn-days", "80", "--critical-days", "60"])
    assert result.exit_code == 2
    assert "--critical-days" in result.output


def test_validate_stored_keys_reads_only_its_own_account(stored_key_client, frozen_clock):
    client, _ = stored_key_client
    # The key's user lives in 444444444441; ask for an account it cannot see as well.
    ClientsTable("cost-reporting-clients-local").put(
        client.model_copy(update={"account_ids": ["444444444441", "444444444442"]})
    )

    result = runner.invoke(app, ["credentials", "validate", "--client-id", client.client_id, "--format", "json"])

    assert result.exit_code == 1, result.output
    checks = {check["name"]: check for check in json.loads(result.stdout)["checks"]}
    assert checks["identity"]["detail"].startswith("arn:aws:iam::444444444441:user/cost-reporting-reader")
    assert checks["cost explorer"]["readable"] == ["444444444441"]
    assert checks["cost explorer"]["unreadable"] == ["444444444442"]
    assert checks["cost explorer"]["status"] == "WARNING"


def test_validate_a_role_client_sees_every_account_of_its_payer(platform, demo_records, frozen_clock):
    umbrella = parse_client(next(r for r in demo_records if r["client_id"] == "umbrella-media"))
    ClientsTable(platform.clients_table).put(umbrella)

    result = runner.invoke(app, ["credentials", "validate", "--client-id", "umbrella-media", "--format", "json"])

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    explorer = next(check for check in document["checks"] if check["name"] == "cost explorer")
    assert explorer["readable"] == umbrella.account_ids and explorer["unreadable"] == []
    assert document["status"] == "OK"
    plan = next(check for check in document["checks"] if check["name"] == "cost explorer plan")
    # A monthly report: services by month, record types by month and by day; and the month-close one.
    assert (plan["requests_per_report"], plan["usd_per_month"], plan["budget"]) == (3, "0.06", 200)


def test_validate_proves_the_role_refuses_a_wrong_external_id_and_a_role_that_does_not_is_critical(
    platform, demo_records, frozen_clock
):
    """The embedded STS honours the role's trust policy (emulator/iam_enforcement.py): the demo
    client's role, as docs/deploy.md writes it, refuses any other external id. The same role with the
    condition dropped (a client's mistake) accepts a made-up id: `credentials validate` says CRITICAL."""
    from moto.iam.models import iam_backends

    from emulator.client_roles import trust_policy

    acme = parse_client(demo_records[0])
    ClientsTable(platform.clients_table).put(acme)
    sts = boto3.client("sts")
    with pytest.raises(Exception, match="AccessDenied"):
        sts.assume_role(RoleArn=acme.credentials.role_arn, RoleSessionName="probe", ExternalId="someone-elses-id-0001")

    good = runner.invoke(app, ["credentials", "validate", "--client-id", "acme-retail", "--format", "json"])

    assert good.exit_code == 0, good.output
    check = next(c for c in json.loads(good.stdout)["checks"] if c["name"] == "external id")
    assert (check["status"], check["detail"]) == ("OK", "the role refuses a wrong external id")

    careless = trust_policy([acme.credentials.external_id])
    del careless["Statement"][0]["Condition"]
    iam_backends[acme.credentials.account_id]["aws"].update_assume_role_policy(
        "CostReportingReadOnly", json.dumps(careless)
    )

    bad = runner.invoke(app, ["credentials", "validate", "--client-id", "acme-retail", "--format", "json"])

    assert bad.exit_code == 1
    check = next(c for c in json.loads(bad.stdout)["checks"] if c["name"] == "external id")
    assert check["status"] == "CRITICAL" and "accepts a wrong external id" in check["detail"]


def test_validate_warns_when_the_clients_expected_requests_pass_its_budget(platform, demo_records, frozen_clock):
    record = next(r for r in demo_records if r["client_id"] == "umbrella-media")
    many = [f"9{n:011d}" for n in range(1, 301)]
    ClientsTable(platform.clients_table).put(
        parse_client({**record, "schedule": "daily", "account_ids": many, "max_ce_requests": 10})
    )

    result = runner.invoke(app, ["credentials", "validate", "--client-id", "umbrella-media", "--format", "json"])

    plan = next(check for check in json.loads(result.stdout)["checks"] if check["name"] == "cost explorer plan")
    assert plan["status"] == "WARNING" and plan["requests_per_report"] > 10
    assert "above its budget of 10" in plan["detail"]
    shown = json.loads(
        runner.invoke(app, ["client", "show", "--client-id", "umbrella-media", "--format", "json"]).stdout
    )
    assert shown["cost_explorer"]["requests_per_report"] == plan["requests_per_report"]
    assert shown["cost_explorer"]["learned"] is False


def test_rotate_replaces_the_key_everywhere(stored_key_client, frozen_clock):
    client, old_key = stored_key_client

    result = runner.invoke(app, ["credentials", "rotate", "--client-id", client.client_id])

    assert result.exit_code == 0, result.output
    secret = stored_secret(client)
    assert secret["access_key_id"] != old_key
    assert keys_of(secret) == [secret["access_key_id"]]  # the old key is gone from IAM
    record = ClientsTable("cost-reporting-clients-local").get(client.client_id)
    assert record.credentials.rotated_at == frozen_clock()
    assert secret["secret_access_key"] not in result.output and old_key not in result.output
    again = runner.invoke(app, ["credentials", "validate", "--client-id", client.client_id])
    assert again.exit_code == 0, again.output


def test_rotate_dry_run_changes_nothing(stored_key_client, frozen_clock):
    client, old_key = stored_key_client

    result = runner.invoke(app, ["credentials", "rotate", "--client-id", client.client_id, "--dry-run"])

    assert result.exit_code == 0, result.output
    assert "would create a new key" in result.output
    assert stored_secret(client)["access_key_id"] == old_key
    assert keys_of(stored_secret(client)) == [old_key]


def _fail_store(self, secret_name, credentials):
    raise DependencyError(f"Secrets Manager: storing {secret_name} failed (InternalServiceError)")


def _new_key_sees_nothing(original):
    def visible(credentials, at):
        return set() if credentials.access_key_id != first_key[0] else original(credentials, at)

    first_key: list[str] = []
    return visible, first_key


@pytest.mark.parametrize("step", ["validate", "store"])
def test_a_failure_between_create_and_delete_leaves_the_old_key_working(
    stored_key_client, frozen_clock, monkeypatch, step
):
    client, old_key = stored_key_client
    monkeypatch.setattr(cli.workflows.rotation, "sleep", lambda seconds: None)
    if step == "store":
        monkeypatch.setattr(cli.workflows.rotation.SecretsStore, "put_keys", _fail_store)
    else:
        visible, first = _new_key_sees_nothing(cli.workflows.credential_validation.visible_accounts)
        first.append(old_key)
        monkeypatch.setattr(cli.workflows.rotation, "visible_accounts", visible)

    result = runner.invoke(app, ["credentials", "rotate", "--client-id", client.client_id])

    assert result.exit_code == 1
    assert f"stopped at {step}:" in result.output
    assert "the new key was deleted; the old key is still stored and working" in result.output
    secret = stored_secret(client)
    assert secret["access_key_id"] == old_key
    assert keys_of(secret) == [old_key]  # the new key was removed, the old one is active
    # The patches only touch the new key and the secret's writes: the old key validates as before.
    assert runner.invoke(app, ["credentials", "validate", "--client-id", client.client_id]).exit_code == 0


def test_a_failed_delete_leaves_the_new_key_stored_and_says_so(stored_key_client, frozen_clock, monkeypatch):
    client, old_key = stored_key_client
    original_delete = AccessKeys.delete

    def refuse_old(self, access_key_id):
        if access_key_id == old_key:
            raise UnauthorizedError("iam:DeleteAccessKey refused for this key (AccessDenied)")
        original_delete(self, access_key_id)

    monkeypatch.setattr(AccessKeys, "delete", refuse_old)

    result = runner.invoke(app, ["credentials", "rotate", "--client-id", client.client_id])

    assert result.exit_code == 1
    assert "stopped at delete:" in result.output and "the new key is stored and working" in result.output
    secret = stored_secret(client)
    assert secret["access_key_id"] != old_key
    assert keys_of(secret) == sorted([old_key, secret["access_key_id"]])


def test_a_user_with_two_keys_is_refused_before_anything_changes(stored_key_client, frozen_clock):
    client, old_key = stored_key_client
    AccessKeys(AwsCredentials(**stored_secret(client))).create()

    result = runner.invoke(app, ["credentials", "rotate", "--client-id", client.client_id])

    assert result.exit_code == 1
    assert "already has two keys" in result.output
    assert stored_secret(client)["access_key_id"] == old_key


def test_rotate_a_role_client_validates_the_role(platform, demo_records, frozen_clock):
    ClientsTable(platform.clients_table).put(parse_client(demo_records[0]))

    result = runner.invoke(app, ["credentials", "rotate", "--client-id", demo_records[0]["client_id"]])

    assert result.exit_code == 0, result.output
    assert "nothing to rotate" in result.output
    assert "assumed arn:aws:iam::111111111110:role/CostReportingReadOnly" in result.output


def test_unknown_client_is_bad_input(platform):
    for command in (["rotate"], ["validate"]):
        result = runner.invoke(app, ["credentials", *command, "--client-id", "nobody"])
        assert result.exit_code == 2
        assert "client_id: no client 'nobody'" in result.output
