"""Messages between the dispatcher and the worker."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from lambdas.models.client import AccountId, ClientId
from lambdas.models.report import ReportKind

RunKind = ReportKind  # a run's kind is its report's kind
# What an EventBridge schedule can fire: a client schedule, or the month-close run that
# re-sends last month once AWS has finalised it.
Trigger = Literal["daily", "weekly", "monthly", "month-close"]


class DispatchEvent(BaseModel):
    """What an EventBridge schedule passes to the dispatcher: which schedule fired."""

    model_config = ConfigDict(extra="ignore")

    schedule: Trigger
    as_of: date | None = Field(default=None, description="Defaults to today (UTC) at invocation time.")


class ReportJob(BaseModel):
    """One client run. (`client_id`, `run_id`) is the idempotency key: the same run never sends twice."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_id: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}\.[a-z0-9.-]{1,64}$")
    client_id: ClientId
    as_of: date
    kind: RunKind = "scheduled"
    # Accounts of other clients due in the same dispatch that use the very same credentials: the
    # run may fetch them into the cache with its own request, so their runs need none
    # (docs/cost-explorer.md, shared payer queries). Never shown in this client's report.
    shared_accounts: list[AccountId] = Field(default=[], max_length=1000)

    @classmethod
    def scheduled(
        cls, client_id: str, schedule: str, as_of: date, *, shared_accounts: list[str] | None = None
    ) -> ReportJob:
        # Deterministic: a dispatcher retried by EventBridge produces the same run ids.
        return cls(
            run_id=f"{as_of.isoformat()}.{schedule}",
            client_id=client_id,
            as_of=as_of,
            shared_accounts=shared_accounts or [],
        )

    @classmethod
    def final(cls, client_id: str, as_of: date, *, shared_accounts: list[str] | None = None) -> ReportJob:
        """The month-close run: last month again, once AWS has finalised it."""
        return cls(
            run_id=f"{as_of.isoformat()}.final",
            client_id=client_id,
            as_of=as_of,
            kind="final",
            shared_accounts=shared_accounts or [],
        )
