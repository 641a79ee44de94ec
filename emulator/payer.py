"""A large payer for the Cost Explorer emulator: hundreds of member accounts behind one management
account, dozens of services each, the answers that page most (docs/cost-explorer.md).

The records are made on the fly from (account, service, day), never stored: 300 accounts x 40
services is 12,000 records a day, and a query reads only the days and accounts it asks for. Every
amount is a deterministic function of its keys, so a test can compute what a report must say.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from decimal import Decimal

from emulator.dataset import AccountInfo, CostDataset, CostRecord

PAYER_ACCOUNT = "900000000000"
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
_ONE_DAY = timedelta(days=1)
_CENTS_PER_USD = Decimal(100)


def member_id(index: int) -> str:
    return f"9{index + 1:011d}"


def service_name(index: int) -> str:
    return f"Service {index + 1:02d}"


class PayerDataset(CostDataset):
    """One payer, `accounts` members with `services` services each, every day from `first_day` to
    `last_day`; credits on the 10th of each month for every tenth account; tax on the 1st."""

    def __init__(
        self, *, accounts: int, services: int, first_day: date, last_day: date, finalised_through: date
    ) -> None:
        members = [AccountInfo(member_id(i), f"member {i + 1:03d}", PAYER_ACCOUNT) for i in range(accounts)]
        payer = AccountInfo(PAYER_ACCOUNT, "payer", PAYER_ACCOUNT)
        super().__init__(accounts=[payer, *members], finalised_through=finalised_through)
        self._services = services
        self._index = {info.account_id: i for i, info in enumerate(members)}
        self._span = (first_day, last_day)
        # Every amount an (account, service) can take: weekday or weekend, and one of 11 drifts.
        self._amounts = [
            [
                [[self._amount(a, s, weekend, drift) for drift in range(11)] for weekend in (0, 1)]
                for s in range(services)
            ]
            for a in range(accounts)
        ]
        self._names = [service_name(s) for s in range(services)]

    @property
    def member_ids(self) -> list[str]:
        return sorted(self._index)

    @property
    def first_day(self) -> date | None:
        return self._span[0]

    @property
    def last_day(self) -> date | None:
        return self._span[1]

    def __len__(self) -> int:
        days = (self._span[1] - self._span[0]).days + 1
        return days * len(self._index) * self._services

    @staticmethod
    def _amount(account: int, service: int, weekend: int, drift: int) -> Decimal:
        base = 50 + (account * 37 + service * 91) % 4000  # cents
        weekly = 100 - 15 * weekend
        cents = base * weekly // 100 + drift
        return Decimal(cents) / _CENTS_PER_USD + Decimal(account % 7) / Decimal(10_000)

    def usage(self, account: int, service: int, day: date) -> Decimal:
        """The day's usage cost of one service in one account, in whole cents plus a fraction."""
        drift = (day.toordinal() * (service + 3) + account) % 11
        return self._amounts[account][service][1 if day.weekday() >= 5 else 0][drift]

    def records_between(
        self, start: date, end_exclusive: date, accounts: Iterable[str] | None = None
    ) -> Iterator[CostRecord]:
        first, last = self._span
        wanted = sorted(self._index) if accounts is None else sorted(set(accounts) & set(self._index))
        day = max(start, first)
        while day < end_exclusive and day <= last:
            for account_id in wanted:
                yield from self._day(account_id, day)
            day += _ONE_DAY

    def _day(self, account_id: str, day: date) -> Iterator[CostRecord]:
        index = self._index[account_id]
        region = REGIONS[index % len(REGIONS)]
        amounts = self._amounts[index]
        weekend = 1 if day.weekday() >= 5 else 0
        ordinal = day.toordinal()
        day_amounts = [amounts[s][weekend][(ordinal * (s + 3) + index) % 11] for s in range(self._services)]
        names = self._names
        for service, amount in enumerate(day_amounts):
            yield CostRecord(day, account_id, names[service], "Usage", amount, amount, region)
        total = sum(day_amounts, Decimal(0))
        if day.day == 1:
            tax = (total * Decimal("0.08")).quantize(Decimal("0.0001"))
            yield CostRecord(day, account_id, "Tax", "Tax", tax, tax, "global")
        if day.day == 10 and index % 10 == 0:
            credit = -(total / 2).quantize(Decimal("0.0001"))
            yield CostRecord(day, account_id, service_name(0), "Credit", credit, credit, region)

    def all_records(self) -> list[CostRecord]:
        return list(self.records_between(self._span[0], self._span[1] + _ONE_DAY))


def payer_dataset(as_of: date, *, accounts: int = 300, services: int = 40) -> PayerDataset:
    """A payer with cost from the 1st of the month three months before `as_of` to the day before
    it, final through the end of the month before last (a daily, weekly or monthly report's range)."""
    first = (as_of.replace(day=1) - timedelta(days=80)).replace(day=1)
    finalised = (as_of.replace(day=1) - timedelta(days=1)).replace(day=1) - timedelta(days=1)
    return PayerDataset(
        accounts=accounts, services=services, first_day=first, last_day=as_of - _ONE_DAY, finalised_through=finalised
    )


def payer_client(dataset: PayerDataset, *, client_id: str = "big-payer", schedule: str = "daily") -> dict[str, object]:
    """The client record of a payer's every member account, on the payer's read-only role."""
    return {
        "client_id": client_id,
        "name": "Big Payer Holdings",
        "account_ids": dataset.member_ids,
        "credentials": {
            "type": "role",
            "role_arn": f"arn:aws:iam::{PAYER_ACCOUNT}:role/CostReportingReadOnly",
            "external_id": "big-payer-external-id-0001",
        },
        "recipients": ["finops@bigpayer.example"],
        "schedule": schedule,
    }
