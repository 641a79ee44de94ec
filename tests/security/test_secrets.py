"""Secrets stay in Secrets Manager. A full run of a stored-keys client with a Slack webhook, every
CLI command an operator runs on it (rotation included), and the failure paths: no log line, no
exception or recorded error, no report file, email, chat message, table item, backup or command
output holds a secret value, nor its URL-encoded, escaped or base64 form."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

import cli.workflows.rotation
from cli.main import app
from lambdas.dal.archive import ReportArchive
from lambdas.dal.aws import platform_client
from lambdas.dal.clients_table import ClientsTable
from lambdas.models.client import parse_client
from lambdas.models.events import ReportJob
from lambdas.models.settings import get_settings
from lambdas.observability import REDACTED, logger, redact
from tests.integration.conftest import AS_OF
from tests.integration.helpers import sent_messages
from tests.reliability.test_redelivery import deliver
from tests.security.conftest import _Webhook
from tests.security.leaks import archive_members, forms, leaks, mime_parts

runner = CliRunner()


def secret_keys(client: Any) -> dict[str, str]:
    answer = platform_client("secretsmanager").get_secret_value(SecretId=client.credentials.secret_name)
    return json.loads(answer["SecretString"])


def everything_stored(platform: Any) -> dict[str, str | bytes]:
    """Every item of every table, every archived object and every sent message (parts decoded)."""
    places: dict[str, str | bytes] = {}
    dynamodb = platform_client("dynamodb")
    for table in dynamodb.list_tables()["TableNames"]:
        items = dynamodb.scan(TableName=table)["Items"]
        places[f"table {table}"] = json.dumps(items, default=str)
        for item in items:  # the cost cache keeps zlib-compressed cells
            for value in item.values():
                if "B" in value:
                    places[f"table {table} binary"] = _inflate(value["B"])
    archive = ReportArchive(platform.assets_bucket)
    for key in archive.list(""):
        places[f"s3 {key}"] = archive.get(key)
    for number, message in enumerate(sent_messages(platform_endpoint())):
        for part, body in mime_parts(message["raw"]).items():
            places[f"email {number} {part}"] = body
    return places


def platform_endpoint() -> str:
    import os

    return os.environ["AWS_ENDPOINT_URL"]


def _inflate(data: bytes) -> bytes:
    import zlib

    try:
        return zlib.decompress(data)
    except zlib.error:
        return data


@pytest.fixture
def keyed_client(stored_key_client, webhook, platform):
    """The stored-keys client, with a Slack webhook whose URL is in Secrets Manager."""
    client, _ = stored_key_client
    url, _ = webhook
    secret_name = f"{client.credentials.secret_name}/slack"
    platform_client("secretsmanager").create_secret(
        Name=secret_name,
        SecretString=json.dumps({"url": url}),
        Tags=[{"Key": "client_id", "Value": client.client_id}],  # as onboarding tags it
    )
    client = parse_client(
        dict(client.model_dump(mode="json"), webhooks=[{"kind": "slack", "secret_name": secret_name}])
    )
    ClientsTable(platform.clients_table).put(client)
    return client


def test_no_secret_reaches_a_log_an_error_a_file_a_message_or_an_output(
    platform, keyed_client, webhook, logs, caplog, capsys, frozen_clock, tmp_path, monkeypatch
):
    url, posted = webhook
    caplog.set_level(logging.DEBUG)  # even with the root logger at DEBUG (Lambda's log level controls)
    logger.setLevel("DEBUG")
    monkeypatch.setattr(cli.workflows.rotation, "sleep", lambda seconds: None)
    secrets = {secret_keys(keyed_client)["secret_access_key"], url, url.rsplit("/", 3)[-1]}
    outputs: dict[str, str | bytes] = {}

    job = ReportJob.scheduled(keyed_client.client_id, keyed_client.schedule, AS_OF)
    assert deliver(job)[0] == {"batchItemFailures": []}
    assert len(sent_messages(platform_endpoint())) == 1 and len(posted) == 1

    export, backup = tmp_path / "clients.json", tmp_path / "backup.tar.gz"
    commands = [
        ["report", "run", "--client-id", keyed_client.client_id, "--as-of", AS_OF.isoformat(), "--verbose"],
        ["report", "run", "--client-id", keyed_client.client_id, "--dry-run", "--output", str(tmp_path / "out")],
        ["report", "history", "--client-id", keyed_client.client_id, "--format", "json"],
        ["client", "show", "--client-id", keyed_client.client_id, "--format", "json"],
        ["client", "list", "--format", "detailed"],
        ["client", "export-all", "--output", str(export)],
        ["backup", "create", "--type", "full", "--output", str(backup)],
        ["credentials", "check-age", "--format", "json"],
        ["credentials", "validate", "--client-id", keyed_client.client_id, "--format", "json"],
        ["system", "health-check", "--comprehensive", "--format", "json"],
        ["credentials", "rotate", "--client-id", keyed_client.client_id],
        ["credentials", "validate", "--client-id", keyed_client.client_id],
    ]
    for arguments in commands:
        result = runner.invoke(app, arguments)
        assert result.exit_code in (0, 1), (arguments, result.output)
        outputs[" ".join(arguments[:2])] = result.output
    rotated = secret_keys(keyed_client)["secret_access_key"]
    assert rotated not in secrets  # the rotation stored a new key: it must not leak either
    secrets.add(rotated)
    outputs["export"] = export.read_bytes()
    outputs.update({f"backup {name}": body for name, body in archive_members(backup.read_bytes()).items()})
    for path in (tmp_path / "out").rglob("*"):
        if path.is_file():
            outputs[f"file {path.name}"] = path.read_bytes()

    # Failure paths: a secret that is not the expected JSON, a webhook answering with its own URL.
    platform_client("secretsmanager").put_secret_value(
        SecretId=keyed_client.credentials.secret_name, SecretString=f"keys: {rotated}"
    )
    _Webhook.answer = (400, url.encode())
    broken = ReportJob(run_id=f"{AS_OF.isoformat()}.manual-broken", client_id=keyed_client.client_id, as_of=AS_OF)
    assert deliver(broken)[0] == {"batchItemFailures": []}
    failed = runner.invoke(app, ["report", "run", "--client-id", keyed_client.client_id, "--as-of", "2026-11-27"])
    assert failed.exit_code == 1
    outputs["report run (broken secret)"] = failed.output

    captured = capsys.readouterr()
    places: dict[str, str | bytes] = {
        "powertools logs": logs.text,
        "root logs": "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records),
        "stdout": captured.out,
        "stderr": captured.err,
        "webhook bodies": b"\n".join(posted),
        **outputs,
        **everything_stored(platform),
    }
    assert logs.lines() and caplog.records and len(places) > 30  # there was something to look at
    assert leaks(places, secrets) == []
    in_secrets_manager = boto3.client("secretsmanager").get_secret_value(SecretId=keyed_client.credentials.secret_name)
    assert rotated in in_secrets_manager["SecretString"]  # and there it is, where it belongs


def test_the_leak_finder_finds_a_secret_in_every_form():
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    for prefix in (b"", b"a", b"ab", b"abc"):
        blob = base64.b64encode(prefix + secret.encode() + b"tail").decode()
        assert leaks({"blob": blob}, [secret]), prefix
        assert leaks({"blob": base64.urlsafe_b64encode(prefix + secret.encode()).decode()}, [secret])
    assert leaks({"url": "https://x/?k=wJalrXUtnFEMI%2FK7MDENG%2FbPxRfiCYEXAMPLEKEY"}, [secret])
    assert leaks({"json": json.dumps({"k": secret}).replace("/", "\\/")}, [secret])
    assert not leaks({"other": "wJalrXUtnFEMI/K7MDENG/somethingelse"}, [secret])
    assert len(forms(secret)) >= 5


@pytest.mark.parametrize(
    ("extra", "kept"),
    [
        ({"secret_access_key": "wJalrXUtnFEMI/K7MDENG"}, {}),
        ({"SecretAccessKey": "wJalr", "SessionToken": "IQoJb3JpZ2lu", "client_id": "acme"}, {"client_id": "acme"}),
        ({"credentials": {"access_key_id": "AKIA", "secret_access_key": "x"}}, {}),
        ({"webhook_url": "https://hooks.slack.com/services/T/B/x"}, {}),
        ({"headers": {"Authorization": "AWS4-HMAC-SHA256 Credential=AKIA/..."}}, {}),
        ({"external_id": "acme-7f3a", "role_arn": "arn:aws:iam::1:role/R"}, {"role_arn": "arn:aws:iam::1:role/R"}),
    ],
)
def test_the_logger_redacts_credential_fields_whatever_the_caller_passes(logs, extra, kept):
    logger.info("a line", extra=extra)

    [line] = logs.lines()
    for key, value in extra.items():
        assert line[key] == (kept[key] if key in kept else REDACTED if not isinstance(value, dict) else line[key])
    assert all(secret not in logs.text for secret in ("wJalr", "IQoJb3JpZ2lu", "hooks.slack.com/services/T", "AKIA/"))


def test_the_logger_redacts_credentials_inside_any_text(logs):
    link = (
        "https://b.s3.amazonaws.com/reports/a/r/report.html?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAEXAMPLE%2F20261127%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261127T060000Z"
        "&X-Amz-Expires=604800&X-Amz-SignedHeaders=host&X-Amz-Security-Token=IQoJb3JpZ2luX2Vj"
        "&X-Amz-Signature=9f86d081884c7d659a2feaa0c55ad015"
    )
    try:
        raise ValueError(f"could not post https://hooks.slack.com/services/T000/B000/XXXXSECRET; link {link}")
    except ValueError:
        logger.exception("failure with aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY in it")

    [line] = logs.lines()
    hidden = ("XXXXSECRET", "9f86d081884c7d659a2feaa0c55ad015", "IQoJb3JpZ2luX2Vj", "wJalrXUtnFEMI", "AKIAEXAMPLE")
    for secret in hidden:
        assert secret not in logs.text, secret
    assert "X-Amz-Expires=604800" in line["exception"]  # what is not a credential stays readable
    assert redact({"message": "plain text", "count": 3}) == {"message": "plain text", "count": 3}


def test_a_client_record_cannot_carry_a_secret_key(platform, tmp_path):
    record = {
        "client_id": "leaky",
        "name": "Leaky",
        "account_ids": ["111111111111"],
        "credentials": {"type": "stored_keys", "secret_name": "cost-reporting-local/clients/leaky",
                        "secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
        "recipients": ["finance@leaky.example"],
    }  # fmt: skip
    path = tmp_path / "leaky.json"
    path.write_text(json.dumps(record))

    result = runner.invoke(app, ["client", "add", "--from-file", str(path)])

    assert result.exit_code == 2
    assert "secret_access_key: Extra inputs are not permitted" in result.output
    assert "wJalr" not in result.output
    assert list(ClientsTable(get_settings().clients_table).records()) == []
