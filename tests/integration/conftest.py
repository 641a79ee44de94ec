"""The embedded AWS for integration tests: one server per session, reset before each test."""

from __future__ import annotations

import urllib.request
from datetime import date

import pytest

from emulator.dataset import demo_clients, generate_demo_dataset
from emulator.provision import provision, settings_environment
from emulator.server import EmbeddedAWS
from infrastructure.config import for_environment

AS_OF = date(2026, 11, 27)


@pytest.fixture(scope="session")
def embedded_aws():
    aws = EmbeddedAWS(generate_demo_dataset(AS_OF)).start()
    yield aws
    aws.stop()


@pytest.fixture
def platform(embedded_aws, monkeypatch):
    """A freshly provisioned local environment; returns its Settings."""
    from lambdas.dal.aws import reset_clients
    from lambdas.handlers import worker
    from lambdas.models.settings import get_settings

    reset = urllib.request.Request(f"{embedded_aws.endpoint_url}/moto-api/reset", method="POST")  # noqa: S310
    urllib.request.urlopen(reset, timeout=10).read()  # noqa: S310 - loopback emulator
    embedded_aws.ce.reset_log()
    monkeypatch.setenv("AWS_ENDPOINT_URL", embedded_aws.endpoint_url)
    reset_clients()
    settings = provision(for_environment("local"))
    for key, value in settings_environment(settings).items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    worker._runner.cache_clear()
    worker._idempotency.cache_clear()
    yield settings
    worker._runner.cache_clear()
    worker._idempotency.cache_clear()


@pytest.fixture
def demo_records(embedded_aws):
    return demo_clients(embedded_aws.dataset)
