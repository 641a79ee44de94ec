"""The embedded AWS for integration tests: one server per session, reset before each test."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import date, datetime
from typing import TYPE_CHECKING

import pytest

from emulator.admin import admin, reset
from emulator.dataset import demo_clients, generate_demo_dataset
from emulator.provision import provision, settings_environment
from emulator.server import EmbeddedAWS
from infrastructure.config import for_environment

if TYPE_CHECKING:
    from lambdas.models.settings import Settings

AS_OF = date(2026, 11, 27)


@pytest.fixture(scope="session")
def embedded_aws():
    aws = EmbeddedAWS(generate_demo_dataset(AS_OF)).start()
    yield aws
    aws.stop()


def _provisioned(embedded_aws: EmbeddedAWS, patch: pytest.MonkeyPatch) -> Settings:
    """Point this process at the embedded AWS and provision the local environment there; its Settings."""
    from lambdas.dal.aws import reset_clients
    from lambdas.models.settings import get_settings

    patch.setenv("AWS_ENDPOINT_URL", embedded_aws.endpoint_url)
    reset_clients()
    settings = provision(for_environment("local"))
    for key, value in settings_environment(settings).items():
        patch.setenv(key, value)
    get_settings.cache_clear()
    return settings


@pytest.fixture
def platform(embedded_aws, monkeypatch):
    """A freshly provisioned local environment; returns its Settings."""
    from lambdas.handlers import worker

    reset(embedded_aws.endpoint_url)
    embedded_aws.ce.reset_log()
    settings = _provisioned(embedded_aws, monkeypatch)
    worker._runner.cache_clear()
    worker._idempotency.cache_clear()
    yield settings
    worker._runner.cache_clear()
    worker._idempotency.cache_clear()


@pytest.fixture
def demo_records(embedded_aws):
    return demo_clients(embedded_aws.dataset)


@pytest.fixture
def registered_demo_clients(platform, demo_records):
    """The demo clients, registered in a freshly provisioned local environment; returns its Settings."""
    from lambdas.dal.clients_table import ClientsTable
    from lambdas.models.client import parse_client

    table = ClientsTable(platform.clients_table)
    for record in demo_records:
        table.put(parse_client(record))
    return platform


@pytest.fixture
def populated(registered_demo_clients, frozen_clock):
    """The demo clients, two of them (acme-retail, initech-labs) with a recorded run as of AS_OF and its
    archived report, made by `report run`; returns the Settings."""
    from typer.testing import CliRunner

    from cli.main import app

    for client_id in ("acme-retail", "initech-labs"):
        result = CliRunner().invoke(app, ["report", "run", "--client-id", client_id, "--as-of", AS_OF.isoformat()])
        assert result.exit_code == 0, result.output
    return registered_demo_clients


@contextlib.contextmanager
def module_platform(embedded_aws: EmbeddedAWS, created_at: datetime) -> Iterator[tuple[Settings, pytest.MonkeyPatch]]:
    """For a module's fixture (a history seeded once for the module; `platform` is per test): a freshly
    provisioned local environment with the demo clients registered at `created_at`. Yields its Settings
    and the MonkeyPatch that set its environment, undone on exit."""
    from lambdas.dal.aws import reset_clients
    from lambdas.dal.clients_table import ClientsTable
    from lambdas.models.client import parse_client
    from lambdas.models.settings import get_settings

    with pytest.MonkeyPatch.context() as patch:
        reset(embedded_aws.endpoint_url)
        settings = _provisioned(embedded_aws, patch)
        table = ClientsTable(settings.clients_table)
        for record in demo_clients(embedded_aws.dataset):
            table.put(parse_client(dict(record, created_at=created_at.isoformat())))
        # hooli is read from its Data Export: its payer has it delivered, as `local up` does.
        admin(embedded_aws.endpoint_url, "exports/deliver", {})
        yield settings, patch
        reset_clients()
        get_settings.cache_clear()


@pytest.fixture
def wipe_aws(embedded_aws):
    """Empty the embedded AWS in the middle of a test (a lost environment): call the result."""
    from lambdas.dal.aws import reset_clients

    def wipe() -> None:
        reset(embedded_aws.endpoint_url)
        reset_clients()

    return wipe


@pytest.fixture
def frozen_clock(monkeypatch):
    """Freeze the CLI's clock: call the result with a datetime (UTC); default AS_OF 09:00."""
    from datetime import UTC, datetime

    import cli.context

    def freeze(moment: datetime | None = None) -> datetime:
        frozen = moment or datetime(AS_OF.year, AS_OF.month, AS_OF.day, 9, tzinfo=UTC)
        monkeypatch.setattr(cli.context, "clock", lambda: frozen)
        return frozen

    freeze()
    return freeze


@pytest.fixture
def stored_key_client(platform, embedded_aws):
    """A client on stored access keys: an IAM user in a member account of the demo dataset
    (444444444441, initech-prod), its key in Secrets Manager under the environment's path.
    Returns (client, access_key_id)."""
    import json

    import boto3

    from lambdas.dal.clients_table import ClientsTable
    from lambdas.models.client import parse_client

    account, config = "444444444441", for_environment("local")
    admin = boto3.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole", RoleSessionName="test-setup"
    )["Credentials"]
    iam = boto3.client(
        "iam",
        aws_access_key_id=admin["AccessKeyId"],
        aws_secret_access_key=admin["SecretAccessKey"],
        aws_session_token=admin["SessionToken"],
    )
    iam.create_user(UserName="cost-reporting-reader")
    key = iam.create_access_key(UserName="cost-reporting-reader")["AccessKey"]
    secret_name = f"{config.secrets_prefix}initech-keys"
    boto3.client("secretsmanager").create_secret(
        Name=secret_name,
        SecretString=json.dumps({"access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}),
        Tags=[{"Key": "client_id", "Value": "initech-keys"}],  # as onboarding tags it
    )
    client = parse_client(
        {
            "client_id": "initech-keys",
            "name": "Initech (stored keys)",
            "account_ids": [account],
            "credentials": {"type": "stored_keys", "secret_name": secret_name},
            "recipients": ["finance@initech.example"],
            "schedule": "weekly",
        }
    )
    ClientsTable(platform.clients_table).put(client)
    return client, key["AccessKeyId"]
