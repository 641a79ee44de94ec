"""`client ...` against the embedded AWS: every change validated first, bad input changes nothing."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from typer.testing import CliRunner

from cli.main import app
from lambdas.dal.clients_table import ClientsTable
from lambdas.models.client import parse_client

runner = CliRunner()

ROLE = ["--role-arn", "arn:aws:iam::111111111110:role/CostReportingReadOnly", "--external-id", "new-co-7f3a-e1d0-42b9"]
NEW = ["--client-id", "new-co", "--name", "New Co", "--account-id", "111111111111", "--account-id", "111111111112",
       "--recipient", "finance@new.example", *ROLE]  # fmt: skip


def stored(platform) -> dict[str, dict]:
    return {record["client_id"]: record for record in ClientsTable(platform.clients_table).records()}


@pytest.fixture
def registered(platform, demo_records):
    table = ClientsTable(platform.clients_table)
    for record in demo_records:
        table.put(parse_client(record))
    return demo_records


def test_add_from_flags_then_show_update_pause_resume_remove(platform, frozen_clock):
    added = runner.invoke(app, ["client", "add", *NEW, "--schedule", "weekly", "--budget", "1200.50"])
    assert added.exit_code == 0, added.output
    record = stored(platform)["new-co"]
    assert record["account_ids"] == ["111111111111", "111111111112"]
    assert record["budget"] == "1200.50" and record["schedule"] == "weekly"
    assert record["created_at"].startswith("2026-11-27T09:00")

    shown = runner.invoke(app, ["client", "show", "--client-id", "new-co", "--format", "json"])
    assert json.loads(shown.stdout)["client"]["name"] == "New Co"

    updated = runner.invoke(
        app, ["client", "update", "--client-id", "new-co", "--external-id", "rotated-id-1-c3e8d2f1"]
    )
    assert updated.exit_code == 0, updated.output
    credentials = stored(platform)["new-co"]["credentials"]
    assert credentials == {"type": "role", "role_arn": ROLE[1], "external_id": "rotated-id-1-c3e8d2f1"}

    assert runner.invoke(app, ["client", "pause", "--client-id", "new-co"]).exit_code == 0
    table = ClientsTable(platform.clients_table)
    assert list(table.due("weekly")) == []
    assert runner.invoke(app, ["client", "resume", "--client-id", "new-co"]).exit_code == 0
    assert list(table.due("weekly")) == ["new-co"]

    refused = runner.invoke(app, ["client", "remove", "--client-id", "new-co"], input="n\n")
    assert refused.exit_code == 1 and "new-co" in stored(platform)
    removed = runner.invoke(app, ["client", "remove", "--client-id", "new-co"], input="y\n")
    assert removed.exit_code == 0 and "new-co" not in stored(platform)


def test_add_from_file_and_refuse_a_duplicate(platform, demo_records, tmp_path):
    path = tmp_path / "client.json"
    path.write_text(json.dumps(demo_records[0]))
    assert runner.invoke(app, ["client", "add", "--from-file", str(path)]).exit_code == 0

    again = runner.invoke(app, ["client", "add", "--from-file", str(path)])

    assert again.exit_code == 2
    assert f"client {demo_records[0]['client_id']!r} already exists" in again.output


MISSING_DIR = f"/nonexistent-{uuid.uuid4().hex}/dir"  # not /nonexistent: another process on the machine made it
BAD_INPUT = [
    (["client", "add", *NEW[:-4], "--role-arn", "arn:aws:iam::1:role/x", "--external-id", "x1"], "role_arn"),
    (["client", "add", *NEW, "--schedule", "hourly"], "schedule:"),
    (["client", "add", *NEW, "--recipient", "not-an-email"], "recipients.1:"),
    (["client", "add", *NEW, "--budget", "-5"], "budget:"),
    (["client", "add", *NEW[:-4], "--secret-name", "elsewhere/keys"], "credentials: secret_name elsewhere/keys"),
    (["client", "add", *NEW[:-4], "--secret-name", "cost-reporting-dev/clients/new-co"], "is not client new-co's"),
    (["client", "add", *NEW[:-4], "--secret-name", "cost-reporting-local/clients/acme-retail"], "credentials: secret"),
    (["client", "add", *NEW[:-4], "--secret-name", "cost-reporting-local/clients/new-co"], "no secret"),
    (["client", "add", *NEW[:-2], "--external-id", "short-id"], "credentials.external_id: 8 characters"),
    (["client", "add", *NEW[:-2], "--external-id", "acme-retail-7f3a"], "already the external id of client acme-re"),
    (["client", "update", "--client-id", "nobody", "--name", "X"], "no client 'nobody'"),
    (["client", "update", "--client-id", "acme-retail"], "nothing to change"),
    (["client", "update", "--client-id", "acme-retail", "--currency", "XYZ"], "currency:"),
    (["client", "list", "--status", "sleeping"], "--status"),
    (["client", "remove", "--client-id", "nobody", "--yes"], "no client 'nobody'"),
    (["client", "export-all", "--output", f"{MISSING_DIR}/clients.json"], f"directory {MISSING_DIR} does not"),
]


def test_bad_input_is_one_line_exit_2_and_changes_nothing(registered, platform):
    before = stored(platform)
    for arguments, message in BAD_INPUT:  # one environment for all cases: each must leave it as it was
        result = runner.invoke(app, arguments)

        assert result.exit_code == 2, (arguments, result.output)
        assert message in result.output, arguments
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert stored(platform) == before, arguments


def test_list_formats_and_output_file(registered, platform, tmp_path):
    table = runner.invoke(app, ["client", "list"])
    assert table.exit_code == 0
    assert all(record["client_id"] in table.stdout for record in registered)

    as_json = runner.invoke(app, ["client", "list", "--format", "json", "--schedule", "daily"])
    assert [c["client_id"] for c in json.loads(as_json.stdout)["clients"]] == ["acme-retail", "globex-health"]

    runner.invoke(app, ["report", "run", "--client-id", "acme-retail", "--as-of", "2026-11-27"])
    output = tmp_path / "client_status.json"
    detailed = runner.invoke(app, ["client", "list", "--format", "detailed", "--output", str(output)])
    assert detailed.exit_code == 0, detailed.output
    document = json.loads(output.read_text())
    acme = next(c for c in document["clients"] if c["client_id"] == "acme-retail")
    assert acme["last_run"]["status"] == "succeeded" and acme["last_success"]
    assert next(c for c in document["clients"] if c["client_id"] == "initech-labs")["last_run"] is None


def test_export_then_import_into_an_empty_table_is_byte_identical(registered, platform, wipe_aws, tmp_path):
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    runner.invoke(app, ["client", "update", "--client-id", "initech-labs", "--budget", "1000.10"])
    assert runner.invoke(app, ["client", "export-all", "--output", str(first)]).exit_code == 0

    wipe_aws()
    assert runner.invoke(app, ["local", "bootstrap"]).exit_code == 0
    assert stored(platform) == {}
    imported = runner.invoke(app, ["client", "import", "--input", str(first)])
    assert imported.exit_code == 0, imported.output
    assert runner.invoke(app, ["client", "export-all", "--output", str(second)]).exit_code == 0

    assert second.read_bytes() == first.read_bytes()
    assert len(json.loads(first.read_text())["clients"]) == len(registered)


def test_import_with_one_bad_record_imports_none(platform, demo_records, tmp_path):
    records = [dict(record) for record in demo_records]
    records[2]["recipients"] = ["finance@initech.example", "oops"]
    path = tmp_path / "clients.json"
    path.write_text(json.dumps(records))

    result = runner.invoke(app, ["client", "import", "--input", str(path)])

    assert result.exit_code == 2
    assert "record 3 (client_id 'initech-labs'): recipients.1:" in result.output
    assert stored(platform) == {}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"clients": []}', "expected a list of client records"),
        ('{"format": "cost-reporting-clients", "version": 9, "clients": []}', "version 9 is not supported"),
        ("[1, 2]", "record 1: record: must be a JSON object"),
    ],
)
def test_import_refuses_malformed_files(platform, tmp_path, content, message):
    path = tmp_path / "clients.json"
    path.write_text(content)
    result = runner.invoke(app, ["client", "import", "--input", str(path)])
    assert result.exit_code == 2
    assert message in result.output


def test_import_duplicates_dry_run_and_replace(registered, platform, tmp_path):
    path = tmp_path / "clients.json"
    changed = [dict(registered[0], name="Acme Retail Group")]
    path.write_text(json.dumps([*changed, changed[0]]))
    assert "appears more than once" in runner.invoke(app, ["client", "import", "--input", str(path)]).output

    path.write_text(json.dumps(changed))
    clash = runner.invoke(app, ["client", "import", "--input", str(path)])
    assert clash.exit_code == 2 and "already exist (acme-retail); use --replace" in clash.output
    dry = runner.invoke(app, ["client", "import", "--input", str(path), "--replace", "--dry-run"])
    assert dry.exit_code == 0 and "would add 0, replace 1" in dry.output
    assert stored(platform)["acme-retail"]["name"] == "Acme Retail"

    assert runner.invoke(app, ["client", "import", "--input", str(path), "--replace"]).exit_code == 0
    assert stored(platform)["acme-retail"]["name"] == "Acme Retail Group"


def test_a_write_failure_mid_import_undoes_what_was_written(platform, demo_records, tmp_path, monkeypatch):
    role = demo_records[0]["credentials"]
    records = [
        dict(
            demo_records[0],
            client_id=f"client-{n:03d}",
            credentials=dict(role, external_id=f"client-{n:03d}-7f3a-e1d0"),
        )
        for n in range(60)
    ]
    path = tmp_path / "clients.json"
    path.write_text(json.dumps(records))
    original, calls = ClientsTable.put_all, []

    def fail_third_batch(self, clients):
        calls.append(len(clients))
        if len(calls) == 3:
            raise RuntimeError("DynamoDB went away")
        original(self, clients)

    monkeypatch.setattr(ClientsTable, "put_all", fail_third_batch)

    result = runner.invoke(app, ["client", "import", "--input", str(path)])

    assert result.exit_code == 1
    assert "nothing was kept" in result.output
    assert stored(platform) == {}


def test_stored_keys_must_be_encrypted_with_the_projects_key_in_a_deployed_environment(platform):
    """docs/deploy.md promises client keys under the project's key: a secret created without
    --kms-key-id (the AWS managed key) or with another key is refused, naming the fix."""
    from emulator.provision import provision
    from infrastructure.config import for_environment

    dev = for_environment("dev")
    provision(dev)
    kms, secrets = boto3.client("kms"), boto3.client("secretsmanager")
    project = kms.create_key(Description="project")["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=dev.kms_alias, TargetKeyId=project)
    other = kms.create_key(Description="another")["KeyMetadata"]["KeyId"]
    keys = json.dumps({"access_key_id": "AKIAEXAMPLE000000001", "secret_access_key": "x" * 40})
    secrets.create_secret(Name=f"{dev.secrets_prefix}managed", SecretString=keys)
    secrets.create_secret(Name=f"{dev.secrets_prefix}other", SecretString=keys, KmsKeyId=other)
    secrets.create_secret(Name=f"{dev.secrets_prefix}project", SecretString=keys, KmsKeyId=dev.kms_alias)
    table = ClientsTable(dev.clients_table)

    def add(client_id: str):
        flags = ["--client-id", client_id, "--name", client_id, "--account-id", "111111111111",
                 "--recipient", "finance@new.example", "--secret-name", f"{dev.secrets_prefix}{client_id}"]  # fmt: skip
        return runner.invoke(app, ["client", "add", "-e", "dev", *flags])

    managed, wrong, right = add("managed"), add("other"), add("project")

    assert managed.exit_code == 2 and "is encrypted with the AWS managed key, not alias/" in managed.stderr
    assert f"--kms-key-id {dev.kms_alias}" in managed.stderr
    assert wrong.exit_code == 2 and f"is encrypted with {other}, not {dev.kms_alias}" in wrong.stderr
    assert right.exit_code == 0, right.output
    assert [record["client_id"] for record in table.records()] == ["project"]


WEBHOOK_SECRET = "cost-reporting-local/clients/new-co/slack"


def _with_webhook(tmp_path, platform, url: str):
    secret = WEBHOOK_SECRET
    boto3.client("secretsmanager").create_secret(Name=secret, SecretString=url)
    record = {
        "client_id": "new-co",
        "name": "New Co",
        "account_ids": ["111111111111"],
        "recipients": ["finance@new.example"],
        "credentials": {"type": "role", "role_arn": ROLE[1]},  # no external id: the platform makes one
        "webhooks": [{"kind": "slack", "secret_name": secret}],
    }
    path = tmp_path / "new-co.json"
    path.write_text(json.dumps(record))
    return path


@pytest.mark.parametrize(
    "url", ["https://10.0.0.5/services/T/B/x", "https://169.254.169.254/latest", "https://example.com/services/x"]
)
def test_onboarding_refuses_a_webhook_outside_the_slack_and_teams_hosts(platform, tmp_path, url):
    dev_like = ["-e", "local"]
    result = runner.invoke(
        app, ["client", "add", "--from-file", str(_with_webhook(tmp_path, platform, url)), *dev_like]
    )

    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "webhooks.0.secret_name: the webhook URL in" in result.output
    assert "is not a slack webhook host" in result.output and "/services/" not in result.output  # no secret shown
    assert stored(platform) == {}


def test_onboarding_tags_the_clients_secrets_and_makes_its_external_id(platform, tmp_path):
    path = _with_webhook(tmp_path, platform, "https://hooks.slack.com/services/T000/B000/XXXX")

    result = runner.invoke(app, ["client", "add", "--from-file", str(path)])

    assert result.exit_code == 0, result.output
    external_id = stored(platform)["new-co"]["credentials"]["external_id"]
    assert len(external_id) == 32 and external_id in result.output
    tags = boto3.client("secretsmanager").describe_secret(SecretId="cost-reporting-local/clients/new-co/slack")["Tags"]
    assert {"Key": "client_id", "Value": "new-co"} in tags


def test_onboarding_refuses_a_secret_tagged_as_another_clients(platform, tmp_path):
    secrets = boto3.client("secretsmanager")
    secrets.create_secret(
        Name="cost-reporting-local/clients/new-co",
        SecretString=json.dumps({"access_key_id": "AKIAEXAMPLE000000001", "secret_access_key": "x" * 40}),
        Tags=[{"Key": "client_id", "Value": "globex-health"}],
    )

    result = runner.invoke(app, ["client", "add", *NEW[:-4], "--secret-name", "cost-reporting-local/clients/new-co"])

    assert result.exit_code == 2
    assert "is tagged as client globex-health's secret, not new-co's" in result.output
    assert stored(platform) == {}
