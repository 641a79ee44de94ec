"""Cost Explorer throttling: retried with backoff (botocore adaptive mode), or the run fails cleanly."""

from __future__ import annotations

import json

import pytest
from botocore.retries import bucket, standard

from emulator.cost_explorer import DEFAULT_PAGE_GROUPS
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
    # Every request the endpoint received, the throttled ones included (AWS may not bill those: the
    # stated cost is an upper bound).
    assert record.status == "succeeded" and record.ce_requests == len(calls) == 5
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


def _page_keys(calls):
    """Each request as (query, page token): the same page asked twice shows as a repeated key."""
    return [(json.dumps({k: v for k, v in c["body"].items() if k != "NextPageToken"}, sort_keys=True),
             c["body"].get("NextPageToken")) for c in calls]  # fmt: skip


def test_a_page_throttled_mid_answer_is_retried_alone_and_no_page_is_asked_twice(embedded_aws, client, quick_backoff):
    admin(embedded_aws, "ce/page-size", {"page_size": 40})
    admin(embedded_aws, "ce/throttle", {"count": 2, "after": 3})  # the 4th request (a next page) and its retry
    job = ReportJob.scheduled(client.client_id, client.schedule, AS_OF)
    embedded_aws.ce.reset_log()
    try:
        assert invoke_worker(job) == {"batchItemFailures": []}
    finally:
        admin(embedded_aws, "ce/throttle", {"count": 0})
        admin(embedded_aws, "ce/page-size", {"page_size": DEFAULT_PAGE_GROUPS})
    calls = ce_calls(embedded_aws)
    answered = [key for key, call in zip(_page_keys(calls), calls, strict=True) if not call["throttled"]]
    assert [call["throttled"] for call in calls[2:6]] == [False, True, True, False]
    assert len(answered) == len(set(answered))  # every page read once
    record = ExecutionsTable(get_settings().executions_table).get(client.client_id, job.run_id)
    assert record is not None and record.status == "succeeded"
    assert record.ce_requests == len(calls)


def test_throttling_that_outlives_the_retries_mid_answer_keeps_the_days_read_and_the_retry_goes_on(
    platform, embedded_aws, client, quick_backoff
):
    admin(embedded_aws, "ce/page-size", {"page_size": 40})
    # Every attempt at the 4th page: botocore's first try and its 8 retries (lambdas/dal/aws.py).
    admin(embedded_aws, "ce/throttle", {"count": 9, "after": 3})
    job = ReportJob.scheduled(client.client_id, client.schedule, AS_OF)
    embedded_aws.ce.reset_log()
    try:
        assert len(invoke_worker(job)["batchItemFailures"]) == 1  # transient: back to the queue
        first = _page_keys(ce_calls(embedded_aws))
        assert sent_messages(embedded_aws.endpoint_url) == []
        embedded_aws.ce.reset_log()
        assert invoke_worker(job) == {"batchItemFailures": []}  # the queue's retry
    finally:
        admin(embedded_aws, "ce/throttle", {"count": 0})
        admin(embedded_aws, "ce/page-size", {"page_size": DEFAULT_PAGE_GROUPS})
    second = ce_calls(embedded_aws)
    # The whole days of the pages read before the throttle were cached: the retry does not ask
    # for the first query again from its first page.
    assert first[0] not in _page_keys(second)
    assert len(sent_messages(embedded_aws.endpoint_url)) == 1
