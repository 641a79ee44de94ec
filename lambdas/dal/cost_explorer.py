"""Cost Explorer: GetCostAndUsage with every page followed, GetCostForecast, every request counted
against the run's budget.

boto3 has no paginator for get_cost_and_usage, so the loop is here: the full request
(Filter included) is resent with NextPageToken until none comes back. Each page is a
separate paid request and is counted. Throttling (ThrottlingException, LimitExceededException)
is retried by botocore's adaptive mode (backoff with jitter plus client-side rate limiting, see
lambdas/dal/aws.py); what outlives those retries is a TransientError: the message is retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.dal.aws import error_code
from lambdas.logic.queries import PRICE_PER_REQUEST_USD
from lambdas.models.exceptions import CostDataError, DependencyError, UnauthorizedError

MAX_PAGES = 40  # a runaway answer must not run up the bill

_DENIED = {"AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "UnrecognizedClientException"}
_RETRYABLE = {
    "ThrottlingException",
    "LimitExceededException",
    "DataUnavailableException",
    "ServiceUnavailableException",
    "InternalServerError",
}


def requests_cost_usd(requests: int) -> Decimal:
    return Decimal(PRICE_PER_REQUEST_USD) * requests


@dataclass
class Answer:
    pages: list[dict[str, Any]]
    complete: bool  # False when the request budget ran out before the last page


class CostExplorer:
    def __init__(self, client: Any, *, max_requests: int | None = None) -> None:
        self.client = client
        self.requests = 0
        self.max_requests = max_requests

    @property
    def remaining(self) -> int | None:
        return None if self.max_requests is None else max(self.max_requests - self.requests, 0)

    def fetch(self, request: dict[str, Any]) -> Answer:
        """Every page of one query, in order, while the budget lasts."""
        pages: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            if len(pages) >= MAX_PAGES:
                raise CostDataError(f"Cost Explorer answer longer than {MAX_PAGES} pages; query too wide")
            if self.remaining == 0:
                return Answer(pages, complete=False)
            kwargs = dict(request, NextPageToken=token) if token else dict(request)
            pages.append(self._call("get_cost_and_usage", kwargs))
            token = pages[-1].get("NextPageToken")
            if not token:
                return Answer(pages, complete=True)

    def get_cost_and_usage(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        """Every page of one query; fails if the budget cannot cover them all."""
        answer = self.fetch(request)
        if not answer.complete:
            raise CostDataError("Cost Explorer request budget reached before the last page")
        return answer.pages

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
