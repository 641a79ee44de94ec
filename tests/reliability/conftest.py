"""Fixtures of the fault and abuse suite: the embedded AWS of the integration tests (one server per
session, reset before each test), faults at botocore's HTTP layer, the handlers' logs and metrics,
and retry waits shortened so that a test never sleeps through a real backoff."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from botocore.retries import bucket, standard

from tests.integration.conftest import (  # noqa: F401 - fixtures shared with the integration tests
    AS_OF,
    demo_records,
    embedded_aws,
    frozen_clock,
    platform,
    registered_demo_clients,
    stored_key_client,
    wipe_aws,
)
from tests.integration.runs import register
from tests.reliability.faults import Faults
from tests.reliability.observe import LogCapture


@pytest.fixture
def client(platform, demo_records):  # noqa: F811 - the fixtures imported above
    """The first demo client (acme-retail), registered."""
    return register(demo_records[0])


@pytest.fixture
def job(client):
    """The client's scheduled job as of AS_OF."""
    from lambdas.models.events import ReportJob

    return ReportJob.scheduled(client.client_id, client.schedule, AS_OF)


@pytest.fixture
def faults(platform):  # noqa: F811 - the fixture imported above
    injected = Faults()
    yield injected
    injected.close()


@pytest.fixture
def logs():
    """The Powertools logger's JSON lines of this test (INFO and above, as Lambda runs it)."""
    from lambdas.observability import metrics

    metrics.clear_metrics()
    capture = LogCapture()
    yield capture
    capture.close()


@pytest.fixture
def quick_backoff(monkeypatch):
    """botocore's real retry decisions, with the waits recorded and shortened to 1 ms."""
    real = standard.ExponentialBackoff.delay_amount
    waits: list[float] = []

    def backoff(self: Any, context: Any) -> float:
        waits.append(real(self, context))
        return 0.001

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", backoff)
    monkeypatch.setattr(bucket.TokenBucket, "acquire", lambda self, amount=1, block=True: True)
    return waits


@pytest.fixture
def atomic_dynamodb(monkeypatch):
    """DynamoDB applies a conditional write atomically; moto's in-memory tables, served by a
    threaded server, check the condition and write in two steps. Concurrency tests serialize
    moto's writes so that they test the platform's conditions, not moto's race."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    for name in ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item", "get_item"):
        original = getattr(DynamoDBBackend, name)

        def serialized(*args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return __original(*args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, serialized)
