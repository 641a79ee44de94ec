"""Cost Explorer: GetCostAndUsage with every page followed, GetCostForecast, every request counted
against the run's budget.

boto3 has no paginator for get_cost_and_usage, so the loop is here: the full request (Filter
included) is resent with NextPageToken until none comes back. Each page is a separate paid
request. `requests` counts what the endpoint received: every HTTP attempt, botocore's retries
included (a botocore event hook counts each send), so a report's `ce_requests` is what AWS bills.

Throttling (ThrottlingException, LimitExceededException) is retried by botocore's adaptive mode
(backoff with jitter plus client-side rate limiting, see lambdas/dal/aws.py) on the same page:
the pages already read are never requested again. What outlives those retries ends the answer
early with the error attached: the caller keeps the whole periods read so far (cached), then
raises it, and the queue retries the run later.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.hooks import BaseEventHooks

from lambdas.dal.aws import error_code
from lambdas.models.exceptions import CostDataError, DependencyError, PlatformError, UnauthorizedError

_DENIED = {"AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "UnrecognizedClientException"}
_RETRYABLE = {
    "ThrottlingException",
    "LimitExceededException",
    "DataUnavailableException",
    "ServiceUnavailableException",
    "InternalServerError",
}


@dataclass
class Answer:
    """The pages of one query, read one at a time as they are iterated (a payer's answer is dozens
    of pages: none is kept once read). After the iteration, `complete` says whether the last page
    came, and `error` what stopped it early, other than the budget."""

    explorer: CostExplorer
    request: dict[str, Any]
    complete: bool = False
    error: PlatformError | None = None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        tokens: set[str] = set()
        token: str | None = None
        while True:
            if self.explorer.remaining == 0:
                return
            kwargs = dict(self.request, NextPageToken=token) if token else dict(self.request)
            try:
                page = self.explorer._call("get_cost_and_usage", kwargs)
            except DependencyError as error:
                self.error = error
                return
            token = page.get("NextPageToken")
            if token and token in tokens:
                raise CostDataError(f"Cost Explorer sent the same NextPageToken twice (page {len(tokens) + 1}): no end")
            yield page
            if not token:
                self.complete = True
                return
            tokens.add(token)


class CostExplorer:
    def __init__(self, client: Any, *, max_requests: int | None = None) -> None:
        self.client = client
        self.requests = 0
        self.max_requests = max_requests
        events = getattr(getattr(client, "meta", None), "events", None)
        self._counted = isinstance(events, BaseEventHooks)
        if isinstance(events, BaseEventHooks):
            events.register("before-send.ce", self._count, unique_id=f"cost-reporting-count-{id(self)}")

    def _count(self, **_: Any) -> None:
        self.requests += 1

    @property
    def remaining(self) -> int | None:
        return None if self.max_requests is None else max(self.max_requests - self.requests, 0)

    def fetch(self, request: dict[str, Any]) -> Answer:
        """Every page of one query, in order, while the budget lasts, as the answer is iterated. A
        permanent failure (an answer of the wrong shape, a refusal) raises; a transient one ends
        the answer early (`Answer.error`)."""
        return Answer(self, request)

    def get_cost_and_usage(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        """Every page of one query; fails if any page cannot be read."""
        answer = self.fetch(request)
        pages = list(answer)
        if answer.error is not None:
            raise answer.error
        if not answer.complete:
            raise CostDataError("Cost Explorer request budget reached before the last page")
        return pages

    def get_cost_forecast(self, request: dict[str, Any]) -> Decimal | None:
        """The forecast total of the request's period; None when the budget is spent."""
        if self.remaining == 0:
            return None
        answer = self._call("get_cost_forecast", request)
        try:
            return Decimal(str(answer["Total"]["Amount"]))
        except (KeyError, TypeError, InvalidOperation):
            raise CostDataError("Cost Explorer forecast has no decimal Total.Amount") from None

    def _call(self, operation: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        if not self._counted:  # a stand-in client without botocore's events: one request per call
            self.requests += 1
        try:
            response: dict[str, Any] = getattr(self.client, operation)(**kwargs)
            return response
        except ClientError as error:
            code = error_code(error)
            if code in _DENIED:
                raise UnauthorizedError(f"Cost Explorer refused the request ({code})") from None
            if code in _RETRYABLE:
                raise DependencyError(f"Cost Explorer still failing after retries ({code})") from None
            raise CostDataError(f"Cost Explorer rejected the query ({code})") from None
        except BotoCoreError as error:
            raise DependencyError(f"Cost Explorer unreachable ({type(error).__name__})") from None
