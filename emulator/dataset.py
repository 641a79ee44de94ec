"""Cost records, accounts and a deterministic demo dataset for the Cost Explorer emulator.

Money is ``decimal.Decimal`` throughout; the generator works in integer units of 1e-10 USD (the
precision Cost Explorer prints) so that no float ever touches an amount.

A ``CostDataset`` is indexed by day and, within a day, by account: a query for a few accounts over
a few weeks touches only those records, whatever the size of the dataset. Writers (``add_records``,
``restate``) publish new per-day maps instead of mutating published ones (copy on write), so the
threads of the embedded server can read while a test restates a day.
"""

from __future__ import annotations

import copy
import random
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

MOTO_DEFAULT_ACCOUNT = "123456789012"
"""moto's account for plain test credentials: the emulator lets it see every account."""

RECORD_TYPES: tuple[str, ...] = ("Usage", "Credit", "Refund", "Tax", "Support")
ROLE_NAME = "CostReportingReadOnly"

_ONE_DAY = timedelta(days=1)
_TEN_DECIMALS = Decimal("1E-10")
_CENTS = Decimal("0.01")
_UNITS_PER_USD = 10**10


# --------------------------------------------------------------------------------------------------
# Records, accounts, dataset
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CostRecord:
    """The cost of one service in one account, region and tag set on one day."""

    day: date
    account_id: str
    service: str
    record_type: str  # "Usage", "Credit", "Refund", "Tax" or "Support"
    unblended: Decimal
    amortized: Decimal
    region: str
    tags: tuple[tuple[str, str], ...] = ()

    def tag(self, key: str) -> str | None:
        """The value of tag ``key``, or None when the record does not carry it."""
        for tag_key, value in self.tags:
            if tag_key == key:
                return value
        return None


@dataclass(frozen=True, slots=True)
class AccountInfo:
    """A linked (member) account, its display name and the payer (management) account billing it."""

    account_id: str
    name: str
    payer_account_id: str


class CostDataset:
    """Cost records indexed by day then account, the accounts, and the finalisation horizon.

    ``finalised_through``: costs of days on or before it are final; later days are estimates
    (Cost Explorer answers ``Estimated: true`` for a period that contains any of them).
    ``clients``: the client records (plain dicts) the dataset was generated for, if any.
    """

    def __init__(
        self,
        records: Iterable[CostRecord] = (),
        accounts: Iterable[AccountInfo] = (),
        *,
        finalised_through: date,
        clients: Sequence[Mapping[str, Any]] = (),
        highlights: Mapping[str, Any] | None = None,
    ) -> None:
        self.finalised_through = finalised_through
        self.clients: list[dict[str, Any]] = [copy.deepcopy(dict(client)) for client in clients]
        self.highlights: dict[str, Any] = dict(highlights or {})
        self.accounts: dict[str, AccountInfo] = {}
        self._members: dict[str, frozenset[str]] = {}
        self._by_day: dict[date, dict[str, list[CostRecord]]] = {}
        self._first_day: date | None = None
        self._last_day: date | None = None
        self._count = 0
        self._version = 0
        self._lock = threading.Lock()
        self.add_accounts(accounts)
        self.add_records(records)

    # -- writers ---------------------------------------------------------------------------------

    def add_accounts(self, accounts: Iterable[AccountInfo]) -> None:
        """Register (or rename) accounts; records may only be added for registered accounts."""
        with self._lock:
            for account in accounts:
                self.accounts[account.account_id] = account
            members: dict[str, set[str]] = defaultdict(set)
            for account in self.accounts.values():
                members[account.payer_account_id].add(account.account_id)
            self._members = {payer: frozenset(ids) for payer, ids in members.items()}
            self._version += 1

    def add_records(self, records: Iterable[CostRecord]) -> None:
        """Add records (appended to those already held for the same day and account)."""
        grouped: dict[date, dict[str, list[CostRecord]]] = {}
        count = 0
        for record in records:
            if record.account_id not in self.accounts:
                raise ValueError(f"unknown account {record.account_id}: add_accounts() first")
            grouped.setdefault(record.day, {}).setdefault(record.account_id, []).append(record)
            count += 1
        if not grouped:
            return
        with self._lock:
            for day, per_account in grouped.items():
                published = self._by_day.get(day)
                if published:
                    fresh = dict(published)
                    for account_id, new_records in per_account.items():
                        fresh[account_id] = published.get(account_id, []) + new_records
                    self._by_day[day] = fresh
                else:
                    self._by_day[day] = per_account
            first, last = min(grouped), max(grouped)
            self._first_day = first if self._first_day is None else min(first, self._first_day)
            self._last_day = last if self._last_day is None else max(last, self._last_day)
            self._count += count
            self._version += 1

    def restate(self, day: date, account_id: str, service: str, unblended: Decimal) -> None:
        """Change the ``Usage`` cost of ``service`` in ``account_id`` on ``day`` to ``unblended``.

        Cost Explorer restates estimated days; this lets tests check that caches notice. When the
        service has several records that day (regions, tags) the new amount is shared in proportion
        to the old one. Amortized cost follows with each record's amortized/unblended ratio.
        """
        if account_id not in self.accounts:
            raise ValueError(f"unknown account {account_id}")
        unblended = Decimal(unblended)
        with self._lock:
            published = self._by_day.get(day, {})
            current = published.get(account_id, [])
            targets = [r for r in current if r.service == service and r.record_type == "Usage"]
            kept = [r for r in current if not (r.service == service and r.record_type == "Usage")]
            if not targets:
                region = next((r.region for r in current if r.record_type == "Usage"), "us-east-1")
                restated = [CostRecord(day, account_id, service, "Usage", unblended, unblended, region)]
            else:
                restated = _share(targets, unblended)
            fresh = dict(published)
            fresh[account_id] = kept + restated
            self._by_day[day] = fresh
            self._count += len(restated) - len(targets)
            self._first_day = day if self._first_day is None else min(day, self._first_day)
            self._last_day = day if self._last_day is None else max(day, self._last_day)
            self._version += 1

    # -- readers ---------------------------------------------------------------------------------

    @property
    def version(self) -> int:
        """Increases on every change: a cheap way to notice restatements."""
        return self._version

    @property
    def first_day(self) -> date | None:
        return self._first_day

    @property
    def last_day(self) -> date | None:
        return self._last_day

    def __len__(self) -> int:
        return self._count

    def records_between(
        self, start: date, end_exclusive: date, accounts: Iterable[str] | None = None
    ) -> Iterator[CostRecord]:
        """Records of days ``start <= day < end_exclusive``, of ``accounts`` (None: all accounts).

        Cost is proportional to the days and accounts asked for, not to the size of the dataset.
        """
        if self._first_day is None or self._last_day is None:
            return
        day = max(start, self._first_day)
        end = min(end_exclusive, self._last_day + _ONE_DAY)
        wanted = None if accounts is None else sorted(set(accounts))
        by_day = self._by_day
        while day < end:
            per_account = by_day.get(day)
            if per_account:
                if wanted is None:
                    for records in per_account.values():
                        yield from records
                else:
                    for account_id in wanted:
                        yield from per_account.get(account_id, ())
            day += _ONE_DAY

    def all_records(self) -> list[CostRecord]:
        """Every record, ordered by day then account (for inspection and tests, not for serving)."""
        if self._first_day is None or self._last_day is None:
            return []
        return list(self.records_between(self._first_day, self._last_day + _ONE_DAY, sorted(self.accounts)))

    def accounts_visible_to(self, caller_account_id: str) -> set[str] | None:
        """The accounts whose costs ``caller_account_id`` may see in Cost Explorer.

        A payer (management) account sees every account it pays for; a member account sees only
        itself; moto's default account (plain test credentials) sees everything (None); any other
        account sees nothing (an empty set: empty answers, not an error).
        """
        if caller_account_id == MOTO_DEFAULT_ACCOUNT:
            return None
        members = self._members.get(caller_account_id)
        if members is not None:
            return set(members)
        if caller_account_id in self.accounts:
            return {caller_account_id}
        return set()

    def account_name(self, account_id: str) -> str:
        info = self.accounts.get(account_id)
        return info.name if info else account_id


def _share(targets: list[CostRecord], total: Decimal) -> list[CostRecord]:
    """Spread ``total`` over ``targets`` in proportion to their unblended cost."""
    old_total = sum((r.unblended for r in targets), Decimal(0))
    shares: list[Decimal] = []
    for index, record in enumerate(targets):
        if index == len(targets) - 1:
            shares.append(total - sum(shares, Decimal(0)))
        elif old_total == 0:
            shares.append(Decimal(0))
        else:
            shares.append((total * record.unblended / old_total).quantize(_TEN_DECIMALS))
    restated = []
    for record, amount in zip(targets, shares, strict=True):
        if record.unblended == 0:
            amortized = amount
        else:
            amortized = (amount * record.amortized / record.unblended).quantize(_TEN_DECIMALS)
        restated.append(replace(record, unblended=amount, amortized=amortized))
    return restated


# --------------------------------------------------------------------------------------------------
# Demo dataset
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Service:
    name: str
    share: int  # per mille of an account's daily usage
    weekend: int  # per mille on Saturdays and Sundays (auto-scaled services drop)
    team: str | None  # value of the ``team`` tag; None leaves the usage untagged for team
    amortized: int = 1000  # amortized cost per mille of unblended (reserved instances)
    global_region: bool = False


EC2 = "Amazon Elastic Compute Cloud - Compute"
RDS = "Amazon Relational Database Service"
SUPPORT = "AWS Support (Business)"
TAX = "Tax"

_SERVICES: tuple[_Service, ...] = (
    _Service(EC2, 380, 720, "web", amortized=955),
    _Service("EC2 - Other", 85, 1000, "web"),
    _Service(RDS, 150, 1000, "data", amortized=968),
    _Service("Amazon Simple Storage Service", 80, 985, "data"),
    _Service("Amazon CloudFront", 60, 780, "web", global_region=True),
    _Service("Amazon DynamoDB", 50, 860, "api"),
    _Service("Amazon Elastic Load Balancing", 50, 960, "web"),
    _Service("Amazon Virtual Private Cloud", 45, 1000, None),
    _Service("AWS Lambda", 40, 640, "api"),
    _Service("AmazonCloudWatch", 35, 990, "platform"),
    _Service("Amazon Simple Queue Service", 15, 820, "api"),
    _Service("AWS Key Management Service", 10, 1000, None),
)
_MANAGEMENT_SERVICES: tuple[_Service, ...] = (
    _Service("Amazon Simple Storage Service", 400, 1000, "platform"),
    _Service("AmazonCloudWatch", 300, 1000, "platform"),
    _Service("AWS CloudTrail", 150, 1000, "platform"),
    _Service("AWS Key Management Service", 150, 1000, None),
)
_SYNTHETIC_SERVICES: tuple[_Service, ...] = (
    _Service(EC2, 550, 750, "web", amortized=960),
    _Service(RDS, 200, 1000, "data", amortized=970),
    _Service("Amazon Simple Storage Service", 150, 1000, "data"),
    _Service("AWS Lambda", 100, 650, "api"),
)
_SPLIT_ACROSS_REGIONS = frozenset({EC2, "EC2 - Other"})  # 70/30 when the account has two regions
_SYNTHETIC_REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2")


@dataclass(frozen=True, slots=True)
class _AccountSpec:
    account_id: str
    name: str
    weight: int  # per mille of the client's daily spend
    env: str
    regions: tuple[str, ...]
    opened_months_ago: int | None = None  # None: older than the history
    management: bool = False


@dataclass(frozen=True, slots=True)
class _ClientSpec:
    client_id: str
    name: str
    domain: str
    payer: str
    accounts: tuple[_AccountSpec, ...]
    schedule: str
    metric: str
    budget: str | None
    daily_usd: int
    tax_per_mille: int
    external_id: str
    recipients: tuple[str, ...] = ("finance", "cto")
    support: bool = True
    credit_usd_per_day: int = 0  # promotional credit over the current month, on EC2
    refund_usd: int = 0  # one refund on RDS mid previous month
    spike_account: str | None = None  # EC2 of this account runs 3-4x for two days before as_of
    options: tuple[tuple[str, Any], ...] = ()  # further Client fields: locale, breakdown, attach_xlsx...

    def as_client(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "name": self.name,
            "account_ids": [account.account_id for account in self.accounts],
            "credentials": {
                "type": "role",
                "role_arn": f"arn:aws:iam::{self.payer}:role/{ROLE_NAME}",
                "external_id": self.external_id,
            },
            "recipients": [f"{local}@{self.domain}" for local in self.recipients],
            "schedule": self.schedule,
            "currency": "USD",
            "metric": self.metric,
            "budget": self.budget,
            "status": "active",
            **copy.deepcopy(dict(self.options)),
        }


SHARED_PAYER = "333333333330"
"""Payer (a reseller's management account) shared by initech-labs and umbrella-media."""
HOOLI_PAYER = "666666666660"
# hooli is read from its FOCUS 1.2 Data Export, in a bucket of its payer account (through its role),
# not from Cost Explorer: the demo writes the export from this dataset before it runs.
HOOLI_EXPORT: dict[str, str] = {
    "bucket": "hooli-billing-exports",
    "prefix": "exports",
    "export_name": "hooli-focus",
    "format": "focus_1_2",
    "access": "client_role",
}

_DEMO_CLIENTS: tuple[_ClientSpec, ...] = (
    _ClientSpec(
        client_id="acme-retail",
        name="Acme Retail",
        domain="acme.example",
        payer="111111111110",
        accounts=(
            _AccountSpec("111111111111", "acme-prod", 600, "prod", ("us-east-1", "us-west-2")),
            _AccountSpec("111111111112", "acme-staging", 200, "staging", ("us-east-1",)),
            _AccountSpec("111111111113", "acme-data", 170, "prod", ("us-east-1",), opened_months_ago=5),
            _AccountSpec("111111111110", "acme-management", 30, "shared", ("us-east-1",), management=True),
        ),
        schedule="daily",
        metric="UnblendedCost",
        budget="45000.00",
        daily_usd=1400,
        tax_per_mille=80,
        external_id="acme-retail-7f3a",
        spike_account="111111111111",
        options=(("attach_xlsx", True),),
    ),
    _ClientSpec(
        client_id="globex-health",
        name="Globex Health",
        domain="globex.example",
        payer="222222222220",
        accounts=(
            _AccountSpec("222222222221", "globex-prod", 720, "prod", ("eu-west-1", "eu-central-1")),
            _AccountSpec("222222222222", "globex-dev", 250, "dev", ("eu-west-1",)),
            _AccountSpec("222222222220", "globex-management", 30, "shared", ("eu-west-1",), management=True),
        ),
        schedule="daily",
        metric="AmortizedCost",
        budget="20000.00",
        daily_usd=620,
        tax_per_mille=60,
        external_id="globex-health-2c91",
        recipients=("finops", "cfo"),
        refund_usd=120,
        options=(("breakdown", {"type": "tag", "key": "team"}),),
    ),
    _ClientSpec(
        client_id="initech-labs",
        name="Initech Labs",
        domain="initech.example",
        payer=SHARED_PAYER,
        accounts=(
            _AccountSpec("444444444441", "initech-prod", 700, "prod", ("us-west-2",)),
            _AccountSpec("444444444442", "initech-sandbox", 300, "dev", ("us-west-2",), opened_months_ago=9),
        ),
        schedule="weekly",
        metric="UnblendedCost",
        budget=None,
        daily_usd=260,
        tax_per_mille=70,
        external_id="initech-labs-b604",
        recipients=("billing", "cto"),
        credit_usd_per_day=45,
    ),
    _ClientSpec(
        client_id="umbrella-media",
        name="Umbrella Media",
        domain="umbrella.example",
        payer=SHARED_PAYER,
        accounts=(
            _AccountSpec("555555555551", "umbrella-prod", 650, "prod", ("us-east-1", "eu-west-2")),
            _AccountSpec("555555555552", "umbrella-analytics", 250, "prod", ("us-east-1",)),
            _AccountSpec("555555555553", "umbrella-staging", 100, "staging", ("eu-west-2",)),
        ),
        schedule="monthly",
        metric="UnblendedCost",
        budget="90000.00",
        daily_usd=2600,
        tax_per_mille=50,
        external_id="umbrella-media-e15d",
        recipients=("accounts", "cto", "head-of-platform"),
        options=(("locale", "de_DE"),),
    ),
    _ClientSpec(
        client_id="hooli",
        name="Hooli",
        domain="hooli.example",
        payer=HOOLI_PAYER,
        accounts=(
            _AccountSpec("666666666661", "hooli-prod", 960, "prod", ("us-west-2", "us-east-1")),
            _AccountSpec(HOOLI_PAYER, "hooli-management", 40, "shared", ("us-west-2",), management=True),
        ),
        schedule="weekly",
        metric="UnblendedCost",
        budget="30000.00",
        daily_usd=880,
        tax_per_mille=75,
        external_id="hooli-5e2b9d27a4c1",
        recipients=("finops", "cto"),
        options=(("cost_source", "data_exports"), ("data_export", HOOLI_EXPORT)),
    ),
)


def _month_start(day: date, months_back: int = 0) -> date:
    index = day.year * 12 + (day.month - 1) - months_back
    return date(index // 12, index % 12 + 1, 1)


def _next_month(day: date) -> date:
    return _month_start(day, -1)


def finalised_through_for(as_of: date) -> date:
    """AWS finalises a month's bill in the first days of the next one (here: after the 4th)."""
    months_back = 0 if as_of.day > 4 else 1
    return _month_start(as_of, months_back) - _ONE_DAY


def _units_to_usd(units: int) -> Decimal:
    return Decimal(units).scaleb(-10)


def _support_fee(monthly_usage: Decimal) -> Decimal:
    """AWS Business support: the greater of USD 100 and 10% / 7% / 5% tiers of the usage."""
    tiers = ((Decimal(10_000), Decimal("0.10")), (Decimal(80_000), Decimal("0.07")), (None, Decimal("0.05")))
    fee, floor = Decimal(0), Decimal(0)
    for ceiling, rate in tiers:
        top = monthly_usage if ceiling is None else min(monthly_usage, ceiling)
        if top > floor:
            fee += (top - floor) * rate
        if ceiling is None or monthly_usage <= ceiling:
            break
        floor = ceiling
    return max(Decimal(100), fee).quantize(_CENTS, rounding=ROUND_HALF_UP)


class _Generator:
    """Builds the records of one dataset; all randomness comes from seeded ``random.Random``."""

    def __init__(self, as_of: date, seed: int) -> None:
        self.as_of = as_of
        self.seed = seed
        self.end = as_of  # exclusive: Cost Explorer never has today
        self.history_start = _month_start(as_of, 14)
        self.current_month = _month_start(as_of - _ONE_DAY)
        self.finalised_through = finalised_through_for(as_of)
        self.records: list[CostRecord] = []
        self.accounts: list[AccountInfo] = []
        # (account, first day of month) -> usage units, for tax and support
        self.monthly_usage: dict[tuple[str, date], int] = defaultdict(int)
        spike_first = max(as_of - timedelta(days=3), self.current_month)
        self.spike_days = {spike_first: 3600, spike_first + _ONE_DAY: 2800}
        self._tag_cache: dict[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...]] = {}

    def _tags(self, *pairs: tuple[str, str | None]) -> tuple[tuple[str, str], ...]:
        tags = tuple((key, value) for key, value in pairs if value is not None)
        return self._tag_cache.setdefault(tags, tags)

    def client(self, spec: _ClientSpec, start: date, services_for_members: tuple[_Service, ...]) -> None:
        rng = random.Random(f"{self.seed}:{spec.client_id}")  # noqa: S311 - demo data, not secrets
        for account in spec.accounts:
            self.accounts.append(AccountInfo(account.account_id, account.name, spec.payer))
            services = _MANAGEMENT_SERVICES if account.management else services_for_members
            opened = start
            if account.opened_months_ago is not None:
                opened = max(start, _month_start(self.as_of, account.opened_months_ago))
            spike = spec.spike_account == account.account_id
            self._usage(rng, spec, account, services, opened, spike)
        self._extras(spec, start)

    def _usage(
        self,
        rng: random.Random,
        spec: _ClientSpec,
        account: _AccountSpec,
        services: tuple[_Service, ...],
        opened: date,
        spike: bool,
    ) -> None:
        daily_units = spec.daily_usd * _UNITS_PER_USD
        lines: list[tuple[str, str, tuple[tuple[str, str], ...], int, int, int]] = []
        for service in services:
            base = daily_units * account.weight * service.share // 1_000_000
            tags = self._tags(("team", service.team), ("env", account.env))
            if service.global_region:
                split = [("global", base)]
            elif service.name in _SPLIT_ACROSS_REGIONS and len(account.regions) > 1:
                split = [(account.regions[0], base * 7 // 10), (account.regions[1], base * 3 // 10)]
            else:
                split = [(account.regions[0], base)]
            for region, region_base in split:
                lines.append((service.name, region, tags, region_base, service.weekend, service.amortized))

        append = self.records.append
        randint = rng.randint
        account_id = account.account_id
        monthly = self.monthly_usage
        day = opened
        while day < self.end:
            weekend = day.weekday() >= 5
            growth = 1000 + (day - self.history_start).days // 2  # ~1.5% a month, linear
            month = day.replace(day=1)
            spike_factor = self.spike_days.get(day, 1000) if spike else 1000
            day_units = 0
            for name, region, tags, base, weekend_factor, amortized_factor in lines:
                units = base * (weekend_factor if weekend else 1000) * growth * randint(940, 1060) // 10**9
                if spike_factor != 1000 and name == EC2:
                    units = units * spike_factor // 1000
                unblended = _units_to_usd(units)
                amortized = unblended if amortized_factor == 1000 else _units_to_usd(units * amortized_factor // 1000)
                append(CostRecord(day, account_id, name, "Usage", unblended, amortized, region, tags))
                day_units += units
            monthly[(account_id, month)] += day_units
            day += _ONE_DAY

    def _extras(self, spec: _ClientSpec, start: date) -> None:
        """Support fees, late credits and refunds, and taxes of finalised months."""
        append = self.records.append
        billing_account = next((a for a in spec.accounts if a.management), spec.accounts[0])
        account_ids = [a.account_id for a in spec.accounts]
        months: list[date] = []
        month = start
        while month < self.end:
            months.append(month)
            month = _next_month(month)

        if spec.support:
            for index, month in enumerate(months):
                basis_month = months[index - 1] if index else month
                usage = sum(self.monthly_usage.get((a, basis_month), 0) for a in account_ids)
                fee = _support_fee(_units_to_usd(usage))
                billing_id = billing_account.account_id
                append(CostRecord(month, billing_id, SUPPORT, "Support", fee, fee, "NoRegion"))

        first = spec.accounts[0]
        if spec.credit_usd_per_day:
            credit = Decimal(-spec.credit_usd_per_day).quantize(_TEN_DECIMALS)
            day = self.current_month
            while day < self.end:
                append(CostRecord(day, first.account_id, EC2, "Credit", credit, credit, first.regions[0]))
                day += _ONE_DAY
        if spec.refund_usd:
            refund_day = _month_start(self.current_month, 1).replace(day=12)
            if start <= refund_day < self.end:
                refund = Decimal(-spec.refund_usd).quantize(_CENTS)
                region = first.regions[0]
                append(CostRecord(refund_day, first.account_id, RDS, "Refund", refund, refund, region))

        for month in months:
            if _next_month(month) - _ONE_DAY > self.finalised_through:
                continue  # tax lands when the month is finalised
            for account_id in account_ids:
                taxable = _units_to_usd(self.monthly_usage.get((account_id, month), 0))
                if taxable == 0:
                    continue
                tax = (taxable * spec.tax_per_mille / 1000).quantize(_CENTS, rounding=ROUND_HALF_UP)
                append(CostRecord(month, account_id, TAX, "Tax", tax, tax, "NoRegion"))


def _synthetic_client(index: int, seed: int) -> _ClientSpec:
    rng = random.Random(f"{seed}:synthetic:{index}")  # noqa: S311 - demo data, not secrets
    client_id = f"client-{index:04d}"
    kinds = (("prod", "prod"), ("staging", "staging"), ("dev", "dev"))
    weights = {1: (1000,), 2: (750, 250), 3: (650, 220, 130)}
    count = rng.randint(1, 3)
    accounts = tuple(
        _AccountSpec(
            account_id=f"9{index:07d}{position + 1:04d}",
            name=f"{client_id}-{kinds[position][0]}",
            weight=weights[count][position],
            env=kinds[position][1],
            regions=(rng.choice(_SYNTHETIC_REGIONS),),
        )
        for position in range(count)
    )
    daily = rng.randint(20, 400)
    budget = None if index % 2 else f"{(daily * 36 // 100 + 1) * 100}.00"
    return _ClientSpec(
        client_id=client_id,
        name=f"Synthetic Client {index:04d}",
        domain=f"{client_id}.example",
        payer=accounts[0].account_id,
        accounts=accounts,
        schedule=("daily", "weekly", "monthly")[index % 3],
        metric="AmortizedCost" if index % 5 == 0 else "UnblendedCost",
        budget=budget,
        daily_usd=daily,
        tax_per_mille=rng.choice((0, 50, 70, 80)),
        external_id=f"{client_id}-{rng.getrandbits(16):04x}",
        recipients=("finance",),
        support=False,
    )


def generate_demo_dataset(as_of: date, *, seed: int = 7, extra_clients: int = 0) -> CostDataset:
    """A realistic, deterministic dataset for the five demo clients (plus ``extra_clients``).

    Demo clients: 14 months before ``as_of`` (from the 1st) up to ``as_of - 1 day``, a dozen services,
    weekday seasonality, slow growth, an EC2 spike in acme-prod two to three days before ``as_of``,
    a daily promotional credit for initech-labs this month, a refund for globex-health last month,
    Business support fees on the 1st, and taxes on the 1st of each finalised month.
    Synthetic clients ``client-0001``...: 1-3 accounts, four services, 3 months of history.
    """
    if extra_clients < 0 or extra_clients > 9999:
        raise ValueError("extra_clients must be between 0 and 9999")
    generator = _Generator(as_of, seed)
    specs = list(_DEMO_CLIENTS)
    for spec in _DEMO_CLIENTS:
        generator.client(spec, generator.history_start, _SERVICES)
    synthetic_start = _month_start(as_of - _ONE_DAY, 2)
    for index in range(1, extra_clients + 1):
        spec = _synthetic_client(index, seed)
        specs.append(spec)
        generator.client(spec, synthetic_start, _SYNTHETIC_SERVICES)
    spike_days = sorted(generator.spike_days)
    highlights = {
        "spike": {"account_id": "111111111111", "service": EC2, "days": [d.isoformat() for d in spike_days]},
        "credit": {"account_id": "444444444441", "service": EC2, "usd_per_day": "-45"},
        "refund": {"account_id": "222222222221", "service": RDS},
        "young_accounts": ["111111111113", "444444444442"],
        "shared_payer": SHARED_PAYER,
    }
    return CostDataset(
        generator.records,
        generator.accounts,
        finalised_through=generator.finalised_through,
        clients=[spec.as_client() for spec in specs],
        highlights=highlights,
    )


def demo_clients(dataset: CostDataset | None = None) -> list[dict[str, Any]]:
    """Client records (plain dicts, the shape of the platform's ``Client`` model) for the dataset.

    Without a dataset (or for a dataset built by hand): the five demo clients. For a dataset from
    ``generate_demo_dataset(..., extra_clients=N)``: the demo clients then ``client-0001``...
    """
    if dataset is not None and dataset.clients:
        return copy.deepcopy(dataset.clients)
    return [spec.as_client() for spec in _DEMO_CLIENTS]
