"""Shared fixtures. AWS in tests is the embedded emulator on loopback, never the network."""

from __future__ import annotations

import os

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
