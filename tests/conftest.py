"""Shared fixtures. AWS in tests is the embedded emulator on loopback, never the network."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

# No test may reach real AWS: clear anything the machine might carry before boto3 loads.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
    os.environ.pop(_name, None)
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "CostReporting",
        "POWERTOOLS_SERVICE_NAME": "cost-reporting",
        # Without an endpoint every client would go to AWS: point them at a closed loopback port
        # until a fixture starts the emulator.
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
    }
)


# Every test runs at this moment unless it pins another (lambdas/clock.py): no test reads the real
# clock, so the suite passes on any day (`make test-future` runs it a year ahead to prove it).
TEST_NOW = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True, scope="session")
def _pinned_clock_for_the_session():
    """Pinned before any fixture runs: module and session fixtures (seeded histories) too."""
    from lambdas import clock

    with clock.pinned(TEST_NOW):
        yield


@pytest.fixture(autouse=True)
def _pinned_clock(_pinned_clock_for_the_session):
    """Each test starts at TEST_NOW, whatever the test before it pinned."""
    from lambdas import clock

    with clock.pinned(TEST_NOW):
        yield


@pytest.fixture(autouse=True)
def _no_stale_clients():
    """boto3 clients and settings are cached per process; each test starts clean."""
    from lambdas.dal.aws import reset_clients
    from lambdas.models.settings import get_settings

    reset_clients()
    get_settings.cache_clear()
    yield
    reset_clients()
    get_settings.cache_clear()
