"""Cost Explorer throttling: retried with backoff (botocore adaptive mode), or the run fails cleanly."""

from __future__ import annotations

import pytest
from botocore.retries import bucket, standard

from lambdas.dal.archive import ReportArchive
from lambdas.dal.executions_table import ExecutionsTable
from lambdas.models.events import ReportJob
from lambdas.models.settings import get_settings
from tests.integration.conftest import AS_OF
from tests.integration.helpers import invoke_worker, sent_messages
from tests.integration.runs import admin, ce_calls, register


@pytest.fixture
def quick_backoff(monkeypatch):
    """The real retry policy, its waits recorded and shortened: a test must not sleep tens of
    seconds. Returns the backoff delays botocore chose and the rate limiter's waits."""
    real = standard.ExponentialBackoff.delay_amount
    waits: dict[str, list[float]] = {"backoff": [], "rate_limited": []}

    def backoff(self, context):
        waits["backoff"].append(real(self, context))
        return 0.001

    def acquire(self, amount=1, block=True):
        waits["rate_limited"].append(self.max_rate)  # adaptive mode engaged its client-side limit
        return True

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", backoff)
    monkeypatch.setattr(bucket.TokenBucket, "acquire", acquire)
    return waits


@pytest.fixture
def client(platform, demo_records):
    # Without its tag breakdown: two planned requests, the first one throttled three times.
    record = next(r for r in demo_records if r["client_id"] == "globex-health")
    return register({k: v for k, v in record.items() if k != "breakdown"})


@pytest.mark.parametrize("code", ["ThrottlingException", "LimitExceededException"])
def test_throttling_is_retried_then_the_run_succeeds(embedded_aws, client, quick_backoff, code):
    embedded_aws.ce.reset_log()
    admin(embedded_aws, "ce/throttle", {"count": 3, "code": code})
    job = ReportJob.scheduled(client.client_id, client.schedule, AS_OF)
    try:
        assert invoke_worker(job) == {"batchItemFailures": []}
    finally:
        admin(embedded_aws, "ce/throttle", {"count": 0})
    calls = ce_calls(embedded_aws)
    assert [call["throttled"] for call in calls] == [True, True, True, False, False]
    assert len(quick_backoff["backoff"]) == 3 and len(set(quick_backoff["backoff"])) == 3  # backoff with jitter
    assert quick_backoff["rate_limited"]  # and client-side rate limiting once throttled
    record = ExecutionsTable(get_settings().executions_table).get(client.client_id, job.run_id)
    assert record is not None
    assert record.status == "succeeded" and record.ce_requests == 2  # retries are not billed requests
    assert len(sent_messages(embedded_aws.endpoint_url)) == 1


def test_throttling_that_never_ends_fails_the_run_cleanly_and_the_message_is_retried(
    platform, embedded_aws, client, quick_backoff
):
    admin(embedded_aws, "ce/throttle", {"count": -1})
    job = ReportJob.scheduled(client.client_id, client.schedule, AS_OF)
    try:
        response = invoke_worker(job)
    finally:
        admin(embedded_aws, "ce/throttle", {"count": 0})
    assert len(response["batchItemFailures"]) == 1  # back to the queue: a transient failure
    assert sent_messages(embedded_aws.endpoint_url) == []
    assert ReportArchive(platform.assets_bucket).list(f"reports/{client.client_id}/") == []
    record = ExecutionsTable(platform.executions_table).get(client.client_id, job.run_id)
    assert record is not None
    assert (record.status, record.error_kind, record.delivery) == ("failed", "dependency", None)
    assert record.error == "Cost Explorer still failing after retries (ThrottlingException)"

    # Once Cost Explorer answers again, the retried message runs and sends exactly once.
    assert invoke_worker(job) == {"batchItemFailures": []}
    assert len(sent_messages(embedded_aws.endpoint_url)) == 1
