"""Cost Explorer: GetCostAndUsage with every page followed, and every request counted.

boto3 has no paginator for get_cost_and_usage, so the loop is here: the full request
(Filter included) is resent with NextPageToken until none comes back. Each page is a
separate paid request and is counted.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from lambdas.dal.aws import error_code
from lambdas.models.exceptions import CostDataError, DependencyError, UnauthorizedError

PRICE_PER_REQUEST_USD = "0.01"
MAX_PAGES = 40  # a runaway answer must not run up the bill

_DENIED = {"AccessDeniedException", "AccessDenied", "UnauthorizedOperation", "UnrecognizedClientException"}
_RETRYABLE = {
    "ThrottlingException",
    "LimitExceededException",
    "DataUnavailableException",
    "ServiceUnavailableException",
    "InternalServerError",
}


class CostExplorer:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.requests = 0

    def get_cost_and_usage(self, request: dict[str, Any]) -> list[dict[str, Any]]:
        """Every page of one query, in order."""
        pages: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            if len(pages) >= MAX_PAGES:
                raise CostDataError(f"Cost Explorer answer longer than {MAX_PAGES} pages; query too wide")
            kwargs = dict(request, NextPageToken=token) if token else dict(request)
            pages.append(self._call(kwargs))
            token = pages[-1].get("NextPageToken")
            if not token:
                return pages

    def _call(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        self.requests += 1
        try:
            response: dict[str, Any] = self.client.get_cost_and_usage(**kwargs)
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
