"""A Cost Explorer emulator: ``GetCostAndUsage`` (and ``GetDimensionValues``) over a ``CostDataset``.

It speaks the JSON 1.1 protocol body of the real service (target prefix ``AWSInsightsIndexService``)
and honours the behaviours the platform depends on (docs/cost-explorer.md):

- ``TimePeriod.End`` is exclusive; ``MONTHLY`` periods are calendar months clipped to the range.
- At most two ``GroupBy`` entries, no duplicates; with ``GroupBy``, ``Total`` is an empty object.
- ``Filter`` expressions have exactly one root; ``And``/``Or`` need at least two operands.
- Pagination: at most ``page_size`` groups (ungrouped: periods) per page (default
  ``DEFAULT_PAGE_GROUPS``: AWS documents no page size, so the default is small enough that the
  demo's larger clients page, and tests run at 40) and an opaque
  ``NextPageToken`` bound to a hash of the query, so a next-page call that changes the query (for
  example drops the ``Filter``) is rejected. A page boundary may fall inside a period: the period
  then appears on both pages, each with its share of the groups, as in the real service.
- ``Estimated`` is true for a period containing a day after ``dataset.finalised_through``.
- Scoping: the caller's account decides what it sees (``CostDataset.accounts_visible_to``).
- ``GetCostForecast``: the average daily cost of the 7 days before ``TimePeriod.Start`` times the days
  of the period (a stand-in for AWS's model: the platform only needs the call's shape and its cost).
- Faults: ``throttle(n, code, after=k)`` lets ``k`` requests through, then answers the next ``n``
  (``-1``: every request) with ``ThrottlingException`` (or ``LimitExceededException``), as the real
  service does under load (``after`` puts the throttle in the middle of a paged answer).
- Late data (``late_data=True``): a day fills in over the following day, as AWS's billing refreshes
  (up to three a day, at least one every 24 hours) bring its records in. Refreshes run at 02:00,
  10:00 and 18:00 UTC; at a refresh inside the day, the elapsed share of the day times 80% is
  visible; after the day ends, 80% plus 20% times the share of the 24 hours since; a refresh 24
  hours or more after the day ended shows all of it. So at 06:00 UTC (the 02:00 refresh) yesterday
  shows about 83% of its cost and the day before all of it. The time is ``lambdas.clock.now()``.

Metrics: ``UnblendedCost`` and ``AmortizedCost`` come from the records. This dataset has no
discounts (EDP, private pricing), so ``NetUnblendedCost`` equals ``UnblendedCost`` and
``NetAmortizedCost`` equals ``AmortizedCost``; there is no blending either, so ``BlendedCost``
equals ``UnblendedCost``. Credits and refunds are records of their own (``RECORD_TYPE``) and count
in every metric, as in Cost Explorer. ``UsageQuantity`` and ``NormalizedUsageAmount`` are refused.

Supported dimensions (filter and group): ``SERVICE``, ``LINKED_ACCOUNT``, ``RECORD_TYPE``, ``REGION``;
tags by key. ``MatchOptions``: ``EQUALS`` and ``CASE_SENSITIVE`` (the defaults), plus ``ABSENT``
for tags (untagged costs, like the value ``""``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from emulator.dataset import CostDataset, CostRecord
from lambdas import clock

TARGET_PREFIX = "AWSInsightsIndexService."
UNIT = "USD"
DEFAULT_PAGE_GROUPS = 1000
REFRESH_HOURS = (2, 10, 18)  # UTC hours of the billing data refreshes (late data)

# Metric name -> CostRecord field it sums (see the module docstring for the Net*/Blended choices).
METRIC_FIELDS: dict[str, str] = {
    "UnblendedCost": "unblended",
    "BlendedCost": "unblended",
    "NetUnblendedCost": "unblended",
    "AmortizedCost": "amortized",
    "NetAmortizedCost": "amortized",
}
_UNSUPPORTED_METRICS = frozenset({"UsageQuantity", "NormalizedUsageAmount"})
# GetCostForecast metric -> the GetCostAndUsage metric it forecasts.
FORECAST_METRICS: dict[str, str] = {
    "UNBLENDED_COST": "UnblendedCost",
    "AMORTIZED_COST": "AmortizedCost",
    "NET_AMORTIZED_COST": "NetAmortizedCost",
    "BLENDED_COST": "BlendedCost",
    "NET_UNBLENDED_COST": "NetUnblendedCost",
}

_DIMENSION_GETTERS: dict[str, Callable[[CostRecord], str]] = {
    "SERVICE": lambda r: r.service,
    "LINKED_ACCOUNT": lambda r: r.account_id,
    "RECORD_TYPE": lambda r: r.record_type,
    "REGION": lambda r: r.region,
}
# Dimensions the real service knows but this dataset has no data for.
_OTHER_DIMENSIONS = frozenset(
    [
        "AZ",
        "INSTANCE_TYPE",
        "LEGAL_ENTITY_NAME",
        "INVOICING_ENTITY",
        "OPERATION",
        "PLATFORM",
        "PURCHASE_TYPE",
        "TENANCY",
        "USAGE_TYPE",
        "USAGE_TYPE_GROUP",
        "DATABASE_ENGINE",
        "DEPLOYMENT_OPTION",
        "BILLING_ENTITY",
        "RESERVATION_ID",
        "SAVINGS_PLAN_ARN",
        "SAVINGS_PLANS_TYPE",
        "CACHE_ENGINE",
        "INSTANCE_TYPE_FAMILY",
        "OPERATING_SYSTEM",
        "SCOPE",
        "SUBSCRIPTION_ID",
        "RIGHTSIZING_TYPE",
        "PAYMENT_OPTION",
        "AGREEMENT_END_DATE_TIME_AFTER",
        "AGREEMENT_END_DATE_TIME_BEFORE",
    ]
)
_EXPRESSION_ROOTS = ("Or", "And", "Not", "Dimensions", "Tags", "CostCategories")
_DIMENSION_MATCH_OPTIONS = frozenset({"EQUALS", "CASE_SENSITIVE"})
_TAG_MATCH_OPTIONS = frozenset({"EQUALS", "CASE_SENSITIVE", "ABSENT"})
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TEN_DECIMALS = Decimal("1E-10")
_ONE_DAY = timedelta(days=1)

Predicate = Callable[[CostRecord], bool]
GroupKey = tuple[str, ...]


class CostExplorerError(Exception):
    """A client error answered as HTTP 400 with ``{"__type": code, "message": message}``."""

    def __init__(self, message: str, code: str = "ValidationException") -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def body(self) -> dict[str, str]:
        return {"__type": self.code, "message": self.message}


@dataclass(frozen=True)
class _Filter:
    predicate: Predicate
    accounts: frozenset[str] | None  # the filter can only match these accounts (None: any)


@dataclass(frozen=True)
class _Query:
    start: date
    end: date
    granularity: str
    metrics: tuple[str, ...]
    group_by: tuple[tuple[str, str], ...]  # (Type, Key)
    filter: _Filter | None
    fingerprint: str


@dataclass(frozen=True)
class _Period:
    start: date
    end: date
    estimated: bool
    groups: list[tuple[GroupKey, Decimal, Decimal]]  # (keys, unblended, amortized), sorted by keys


class CostExplorerEmulator:
    """Answers Cost Explorer requests from a ``CostDataset``; thread-safe."""

    def __init__(self, dataset: CostDataset, *, page_size: int = DEFAULT_PAGE_GROUPS, late_data: bool = False) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.dataset = dataset
        self.page_size = page_size
        self.late_data = late_data
        self.requests: list[dict[str, Any]] = []
        self._log_lock = threading.Lock()
        self._throttle_left = 0
        self._throttle_after = 0
        self._throttle_code = "ThrottlingException"
        self._answers: dict[tuple[object, ...], list[_Period]] = {}

    # -- faults ----------------------------------------------------------------------------------

    def throttle(self, count: int, code: str = "ThrottlingException", *, after: int = 0) -> None:
        """After ``after`` more requests, refuse the next ``count`` (``-1``: all of them until reset
        with 0) with ``code``."""
        if code not in ("ThrottlingException", "LimitExceededException"):
            raise ValueError("code must be ThrottlingException or LimitExceededException")
        if count < -1:
            raise ValueError("count must be -1 (always), 0 (off) or a positive number")
        if after < 0:
            raise ValueError("after must be 0 or more")
        with self._log_lock:
            self._throttle_left, self._throttle_code, self._throttle_after = count, code, after

    def _throttled(self) -> str | None:
        with self._log_lock:
            if self._throttle_left == 0:
                return None
            if self._throttle_after > 0:
                self._throttle_after -= 1
                return None
            if self._throttle_left > 0:
                self._throttle_left -= 1
            return self._throttle_code

    # -- request log -----------------------------------------------------------------------------

    def reset_log(self) -> None:
        with self._log_lock:
            self.requests.clear()

    def request_log(self) -> list[dict[str, Any]]:
        """A copy of the log: ``{"target", "body", "caller_account", "time"}`` per request."""
        with self._log_lock:
            return list(self.requests)

    def _log(self, target: str, body: Any, caller_account: str, throttled: bool = False) -> None:
        entry = {
            "target": target,
            "body": body,
            "caller_account": caller_account,
            "time": clock.now().isoformat(),
            "throttled": throttled,
        }
        with self._log_lock:
            self.requests.append(entry)

    # -- dispatch --------------------------------------------------------------------------------

    def handle(self, target: str, body: dict[str, Any], caller_account: str) -> tuple[int, dict[str, Any]]:
        """Answer one JSON 1.1 request: (HTTP status, response body)."""
        throttled = self._throttled()
        self._log(target, body, caller_account, throttled=throttled is not None)
        if throttled is not None:
            return 400, {"__type": throttled, "message": "Rate exceeded"}
        operation = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else ""
        handlers: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
            "GetCostAndUsage": self.get_cost_and_usage,
            "GetDimensionValues": self.get_dimension_values,
            "GetCostForecast": self.get_cost_forecast,
        }
        handler = handlers.get(operation)
        if handler is None:
            message = f"Operation {target or '(none)'} is not supported by the Cost Explorer emulator"
            return 400, {"__type": "UnknownOperationException", "message": message}
        try:
            if not isinstance(body, dict):
                raise CostExplorerError("The request body must be a JSON object", "SerializationException")
            return 200, handler(body, caller_account)
        except CostExplorerError as error:
            return 400, error.body()

    # -- GetCostAndUsage -------------------------------------------------------------------------

    def get_cost_and_usage(self, body: dict[str, Any], caller_account: str) -> dict[str, Any]:
        query = _parse_query(body, caller_account)
        periods = self._computed(query, caller_account)
        cursor = _decode_token(body.get("NextPageToken"), query, len(periods))
        if cursor[1] > len(periods[cursor[0]].groups):
            raise CostExplorerError("Invalid NextPageToken")
        page_size = self.page_size
        grouped = bool(query.group_by)

        entries: list[dict[str, Any]] = []
        accounts_on_page: set[str] = set()
        next_cursor: tuple[int, int] | None = None
        if grouped:
            used = 0
            account_position = next(
                (i for i, g in enumerate(query.group_by) if g == ("DIMENSION", "LINKED_ACCOUNT")), -1
            )
            index = cursor[0]
            while index < len(periods):
                period = periods[index]
                first = cursor[1] if index == cursor[0] else 0
                left = len(period.groups) - first
                if used == page_size and left > 0:
                    next_cursor = (index, first)
                    break
                take = min(left, page_size - used)
                part = period.groups[first : first + take]
                entries.append(_grouped_entry(period, part, query.metrics))
                if account_position >= 0:
                    accounts_on_page.update(keys[account_position] for keys, _, _ in part)
                used += take
                if take < left:
                    next_cursor = (index, first + take)
                    break
                index += 1
        else:
            stop = min(cursor[0] + page_size, len(periods))
            entries = [_ungrouped_entry(period, query.metrics) for period in periods[cursor[0] : stop]]
            if stop < len(periods):
                next_cursor = (stop, 0)

        response: dict[str, Any] = {}
        if grouped:
            response["GroupDefinitions"] = [{"Type": t, "Key": k} for t, k in query.group_by]
        response["ResultsByTime"] = entries
        response["DimensionValueAttributes"] = [
            {"Value": account_id, "Attributes": {"description": self.dataset.account_name(account_id)}}
            for account_id in sorted(accounts_on_page)
        ]
        if next_cursor is not None:
            response["NextPageToken"] = _encode_token(query, next_cursor)
        return response

    def _computed(self, query: _Query, caller_account: str) -> list[_Period]:
        """The query's periods, computed once for all its pages (the answer cannot change between
        pages unless the dataset does, or a billing refresh passes)."""
        refresh = last_refresh(clock.now()) if self.late_data else None
        key = (query.fingerprint, self.dataset.version, id(self.dataset), refresh)
        with self._log_lock:
            cached = self._answers.get(key)
        if cached is not None:
            return cached
        periods = self._compute(query, caller_account)
        with self._log_lock:
            self._answers[key] = periods
            while len(self._answers) > 8:
                self._answers.pop(next(iter(self._answers)))
        return periods

    def _compute(self, query: _Query, caller_account: str) -> list[_Period]:
        dataset = self.dataset
        accounts = _scope(dataset.accounts_visible_to(caller_account), query.filter)
        predicate = query.filter.predicate if query.filter else None
        key_functions = [_group_key_function(t, k) for t, k in query.group_by]
        periods: list[_Period] = []
        now = clock.now() if self.late_data else None
        for start, end in _periods(query.start, query.end, query.granularity):
            sums: dict[GroupKey, list[Decimal]] = {}
            if accounts is None or accounts:
                for record in dataset.records_between(start, end, accounts):
                    if predicate is not None and not predicate(record):
                        continue
                    unblended, amortized = record.unblended, record.amortized
                    if now is not None:
                        share = visible_share(record.day, now)
                        if share == 0:
                            continue
                        if share < 1:
                            unblended = (unblended * share).quantize(_TEN_DECIMALS)
                            amortized = (amortized * share).quantize(_TEN_DECIMALS)
                    keys = tuple(function(record) for function in key_functions)
                    total = sums.get(keys)
                    if total is None:
                        sums[keys] = [unblended, amortized]
                    else:
                        total[0] += unblended
                        total[1] += amortized
            groups = [(keys, total[0], total[1]) for keys, total in sorted(sums.items())]
            estimated = end - _ONE_DAY > dataset.finalised_through
            periods.append(_Period(start, end, estimated, groups))
        return periods

    # -- GetCostForecast -------------------------------------------------------------------------

    def get_cost_forecast(self, body: dict[str, Any], caller_account: str) -> dict[str, Any]:
        start, end = _parse_time_period(body.get("TimePeriod"))
        metric = body.get("Metric")
        if metric not in FORECAST_METRICS:
            raise CostExplorerError(f"Metric must be one of {sorted(FORECAST_METRICS)}, got {metric!r}")
        if body.get("Granularity") not in ("DAILY", "MONTHLY"):
            raise CostExplorerError("Granularity must be DAILY or MONTHLY")
        expression = body.get("Filter")
        query_filter = _compile(expression, "Filter") if expression is not None else None
        accounts = _scope(self.dataset.accounts_visible_to(caller_account), query_filter)
        field = METRIC_FIELDS[FORECAST_METRICS[metric]]
        history = Decimal(0)
        if accounts is None or accounts:
            for record in self.dataset.records_between(start - timedelta(days=7), start, accounts):
                if query_filter is None or query_filter.predicate(record):
                    history += getattr(record, field)
        mean = history / 7 * (end - start).days
        amount = {"Amount": format_amount(mean), "Unit": UNIT}
        return {
            "Total": amount,
            "ForecastResultsByTime": [
                {"TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()}, "MeanValue": amount["Amount"]}
            ],
        }

    # -- GetDimensionValues ----------------------------------------------------------------------

    def get_dimension_values(self, body: dict[str, Any], caller_account: str) -> dict[str, Any]:
        start, end = _parse_time_period(body.get("TimePeriod"))
        dimension = body.get("Dimension")
        if dimension not in _DIMENSION_GETTERS:
            if dimension in _OTHER_DIMENSIONS:
                raise CostExplorerError(f"Dimension {dimension} is not supported by the emulator")
            raise CostExplorerError(f"Dimension must be a valid dimension, got {dimension!r}")
        context = body.get("Context", "COST_AND_USAGE")
        if context != "COST_AND_USAGE":
            raise CostExplorerError(f"Context {context!r} is not supported by the Cost Explorer emulator")
        expression = body.get("Filter")
        query_filter = _compile(expression, "Filter") if expression is not None else None
        accounts = _scope(self.dataset.accounts_visible_to(caller_account), query_filter)
        getter = _DIMENSION_GETTERS[dimension]
        values: set[str] = set()
        if accounts is None or accounts:
            for record in self.dataset.records_between(start, end, accounts):
                if query_filter is None or query_filter.predicate(record):
                    values.add(getter(record))
        search = body.get("SearchString")
        if search:
            needle = str(search).lower()
            values = {
                value
                for value in values
                if needle in value.lower()
                or (dimension == "LINKED_ACCOUNT" and needle in self.dataset.account_name(value).lower())
            }
        answer = []
        for value in sorted(values):
            attributes: dict[str, str] = {}
            if dimension == "LINKED_ACCOUNT":
                attributes["description"] = self.dataset.account_name(value)
            answer.append({"Value": value, "Attributes": attributes})
        return {"DimensionValues": answer, "ReturnSize": len(answer), "TotalSize": len(answer)}


def last_refresh(now: datetime) -> datetime:
    """The latest billing refresh at or before ``now`` (REFRESH_HOURS, UTC)."""
    moment = now.astimezone(UTC)
    for hour in sorted(REFRESH_HOURS, reverse=True):
        candidate = moment.replace(hour=hour, minute=0, second=0, microsecond=0)
        if candidate <= moment:
            return candidate
    previous = moment - _ONE_DAY
    return previous.replace(hour=max(REFRESH_HOURS), minute=0, second=0, microsecond=0)


def visible_share(day: date, now: datetime) -> Decimal:
    """The share of ``day``'s cost Cost Explorer shows at ``now`` (late data; see the module doc)."""
    refresh = last_refresh(now)
    day_start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    day_end = day_start + _ONE_DAY
    if refresh <= day_start:
        return Decimal(0)
    if refresh < day_end:
        elapsed = Decimal((refresh - day_start).total_seconds()) / Decimal(86400)
        return (elapsed * Decimal("0.8")).quantize(Decimal("0.0001"))
    since = Decimal((refresh - day_end).total_seconds()) / Decimal(86400)
    if since >= 1:
        return Decimal(1)
    return (Decimal("0.8") + Decimal("0.2") * since).quantize(Decimal("0.0001"))


# --------------------------------------------------------------------------------------------------
# Parsing and validation
# --------------------------------------------------------------------------------------------------


def _parse_date(value: Any, name: str) -> date:
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise CostExplorerError(f"{name} must be a date in the format YYYY-MM-DD, got {value!r}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CostExplorerError(f"{name} is not a valid date: {value!r}") from None


def _parse_time_period(period: Any) -> tuple[date, date]:
    if not isinstance(period, dict) or "Start" not in period or "End" not in period:
        raise CostExplorerError("TimePeriod with Start and End is required")
    start = _parse_date(period["Start"], "TimePeriod.Start")
    end = _parse_date(period["End"], "TimePeriod.End")
    if start >= end:
        raise CostExplorerError(
            f"Start date {start.isoformat()} must be before end date {end.isoformat()} (End is exclusive)"
        )
    return start, end


def _parse_query(body: dict[str, Any], caller_account: str) -> _Query:
    start, end = _parse_time_period(body.get("TimePeriod"))

    granularity = body.get("Granularity")
    if granularity not in ("DAILY", "MONTHLY"):
        if granularity == "HOURLY":
            raise CostExplorerError("Hourly granularity is not enabled for this account")
        raise CostExplorerError(f"Granularity must be DAILY or MONTHLY, got {granularity!r}")

    metrics = body.get("Metrics")
    if not isinstance(metrics, list) or not metrics:
        raise CostExplorerError("Metrics is required and must list at least one metric")
    for metric in metrics:
        if metric in _UNSUPPORTED_METRICS:
            raise CostExplorerError(f"Metric {metric} is not supported by the Cost Explorer emulator")
        if metric not in METRIC_FIELDS:
            raise CostExplorerError(f"Metrics [{metric}] are not supported; valid: {sorted(METRIC_FIELDS)}")

    group_by = _parse_group_by(body.get("GroupBy"))
    expression = body.get("Filter")
    query_filter = _compile(expression, "Filter") if expression is not None else None

    return _Query(
        start=start,
        end=end,
        granularity=granularity,
        metrics=tuple(dict.fromkeys(metrics)),
        group_by=group_by,
        filter=query_filter,
        fingerprint=_fingerprint(body, caller_account),
    )


def _parse_group_by(group_by: Any) -> tuple[tuple[str, str], ...]:
    if group_by is None:
        return ()
    if not isinstance(group_by, list):
        raise CostExplorerError("GroupBy must be a list of group definitions")
    if len(group_by) > 2:
        raise CostExplorerError(f"GroupBy accepts at most 2 group definitions, got {len(group_by)}")
    parsed: list[tuple[str, str]] = []
    for definition in group_by:
        if not isinstance(definition, dict):
            raise CostExplorerError("Each GroupBy entry must be an object with Type and Key")
        kind, key = definition.get("Type"), definition.get("Key")
        if kind == "DIMENSION":
            if key in _OTHER_DIMENSIONS:
                raise CostExplorerError(f"Group by dimension {key} is not supported by the emulator")
            if key not in _DIMENSION_GETTERS:
                raise CostExplorerError(f"Invalid group by dimension key: {key!r}")
        elif kind == "TAG":
            if not isinstance(key, str) or not key:
                raise CostExplorerError("A TAG group definition needs a non-empty Key")
        elif kind == "COST_CATEGORY":
            raise CostExplorerError("Group by COST_CATEGORY is not supported by the Cost Explorer emulator")
        else:
            raise CostExplorerError(f"Group definition Type must be DIMENSION or TAG, got {kind!r}")
        if (kind, key) in parsed:
            raise CostExplorerError(f"Duplicate group definition: {kind} {key}")
        parsed.append((kind, key))
    return tuple(parsed)


def _compile(expression: Any, where: str) -> _Filter:
    """Validate an Expression like the real service and turn it into a predicate."""
    if not isinstance(expression, dict):
        raise CostExplorerError(f"{where} must be an Expression object")
    unknown = set(expression) - set(_EXPRESSION_ROOTS)
    if unknown:
        raise CostExplorerError(f"{where} has unknown fields: {sorted(unknown)}")
    roots = [root for root in _EXPRESSION_ROOTS if expression.get(root) is not None]
    if len(roots) != 1:
        raise CostExplorerError(
            f"{where} must have exactly one root (And, Or, Not, Dimensions, Tags or CostCategories), "
            f"got {len(roots)}: {roots}"
        )
    root = roots[0]
    operand = expression[root]
    if root in ("And", "Or"):
        if not isinstance(operand, list) or len(operand) < 2:
            count = len(operand) if isinstance(operand, list) else 0
            raise CostExplorerError(f"{where}.{root} must have at least 2 expressions, got {count}")
        parts = [_compile(item, f"{where}.{root}[{i}]") for i, item in enumerate(operand)]
        predicates = tuple(part.predicate for part in parts)
        constraints = [part.accounts for part in parts]
        if root == "And":
            known = [c for c in constraints if c is not None]
            accounts = frozenset.intersection(*known) if known else None
            return _Filter(lambda r: all(p(r) for p in predicates), accounts)
        union: frozenset[str] | None = frozenset()
        for constraint in constraints:
            union = None if union is None or constraint is None else union | constraint
        return _Filter(lambda r: any(p(r) for p in predicates), union)
    if root == "Not":
        inner = _compile(operand, f"{where}.Not").predicate
        return _Filter(lambda r: not inner(r), None)
    if root == "Dimensions":
        return _compile_dimension(operand, f"{where}.Dimensions")
    if root == "Tags":
        return _compile_tags(operand, f"{where}.Tags")
    raise CostExplorerError("CostCategories filters are not supported by the Cost Explorer emulator")


def _values(spec: dict[str, Any], where: str, *, allow_empty: bool = False) -> frozenset[str]:
    values = spec.get("Values")
    if values is None and allow_empty:
        return frozenset()
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise CostExplorerError(f"{where}.Values must be a list of strings")
    if not values and not allow_empty:
        raise CostExplorerError(f"{where}.Values must not be empty")
    return frozenset(values)


def _match_options(spec: dict[str, Any], where: str, allowed: frozenset[str]) -> frozenset[str]:
    options = spec.get("MatchOptions") or []
    if not isinstance(options, list) or not set(options) <= allowed:
        raise CostExplorerError(f"{where}.MatchOptions {options!r} not supported; allowed: {sorted(allowed)}")
    return frozenset(options)


def _compile_dimension(spec: Any, where: str) -> _Filter:
    if not isinstance(spec, dict):
        raise CostExplorerError(f"{where} must be an object with Key and Values")
    key = spec.get("Key")
    if key not in _DIMENSION_GETTERS:
        if key in _OTHER_DIMENSIONS:
            raise CostExplorerError(f"Filter dimension {key} is not supported by the Cost Explorer emulator")
        raise CostExplorerError(f"{where}.Key is not a valid dimension: {key!r}")
    _match_options(spec, where, _DIMENSION_MATCH_OPTIONS)
    values = _values(spec, where)
    getter = _DIMENSION_GETTERS[key]
    accounts = values if key == "LINKED_ACCOUNT" else None
    return _Filter(lambda r: getter(r) in values, accounts)


def _compile_tags(spec: Any, where: str) -> _Filter:
    if not isinstance(spec, dict):
        raise CostExplorerError(f"{where} must be an object with Key and Values")
    key = spec.get("Key")
    if not isinstance(key, str) or not key:
        raise CostExplorerError(f"{where}.Key must be a non-empty tag key")
    options = _match_options(spec, where, _TAG_MATCH_OPTIONS)
    absent = "ABSENT" in options
    values = _values(spec, where, allow_empty=absent)
    untagged_matches = absent or "" in values

    def predicate(record: CostRecord) -> bool:
        value = record.tag(key)
        if value is None:
            return untagged_matches
        return value in values

    return _Filter(predicate, None)


def _group_key_function(kind: str, key: str) -> Callable[[CostRecord], str]:
    if kind == "DIMENSION":
        return _DIMENSION_GETTERS[key]

    def tag_key(record: CostRecord) -> str:
        return f"{key}${record.tag(key) or ''}"

    return tag_key


def _scope(visible: set[str] | None, query_filter: _Filter | None) -> set[str] | None:
    """Accounts to read: those visible to the caller, narrowed by a LINKED_ACCOUNT filter."""
    narrowed = query_filter.accounts if query_filter is not None else None
    if visible is None:
        return None if narrowed is None else set(narrowed)
    return visible if narrowed is None else visible & narrowed


def _periods(start: date, end: date, granularity: str) -> list[tuple[date, date]]:
    periods: list[tuple[date, date]] = []
    current = start
    while current < end:
        if granularity == "DAILY":
            following = current + _ONE_DAY
        else:
            month_index = current.year * 12 + current.month  # the next month, 0-based month + 1
            following = min(date(month_index // 12, month_index % 12 + 1, 1), end)
        periods.append((current, following))
        current = following
    return periods


# --------------------------------------------------------------------------------------------------
# Answers
# --------------------------------------------------------------------------------------------------


def format_amount(amount: Decimal) -> str:
    """A Cost Explorer amount: a plain decimal string with at most 10 decimal places."""
    rounded = amount.quantize(_TEN_DECIMALS)
    if rounded == 0:
        return "0"
    return format(rounded.normalize(), "f")


def _metric_values(metrics: Iterable[str], unblended: Decimal, amortized: Decimal) -> dict[str, Any]:
    sums = {"unblended": unblended, "amortized": amortized}
    return {metric: {"Amount": format_amount(sums[METRIC_FIELDS[metric]]), "Unit": UNIT} for metric in metrics}


def _time_period(period: _Period) -> dict[str, str]:
    return {"Start": period.start.isoformat(), "End": period.end.isoformat()}


def _ungrouped_entry(period: _Period, metrics: tuple[str, ...]) -> dict[str, Any]:
    unblended = sum((g[1] for g in period.groups), Decimal(0))
    amortized = sum((g[2] for g in period.groups), Decimal(0))
    return {
        "TimePeriod": _time_period(period),
        "Total": _metric_values(metrics, unblended, amortized),
        "Groups": [],
        "Estimated": period.estimated,
    }


def _grouped_entry(
    period: _Period, groups: list[tuple[GroupKey, Decimal, Decimal]], metrics: tuple[str, ...]
) -> dict[str, Any]:
    return {
        "TimePeriod": _time_period(period),
        "Total": {},
        "Groups": [
            {"Keys": list(keys), "Metrics": _metric_values(metrics, unblended, amortized)}
            for keys, unblended, amortized in groups
        ],
        "Estimated": period.estimated,
    }


# --------------------------------------------------------------------------------------------------
# Page tokens
# --------------------------------------------------------------------------------------------------


def _fingerprint(body: dict[str, Any], caller_account: str) -> str:
    """A hash of everything in the query but the page token (and of the caller)."""
    query = {key: value for key, value in body.items() if key != "NextPageToken"}
    canonical = json.dumps([caller_account, query], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _encode_token(query: _Query, cursor: tuple[int, int]) -> str:
    payload = json.dumps({"q": query.fingerprint, "p": cursor[0], "g": cursor[1]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode()


def _decode_token(token: Any, query: _Query, period_count: int) -> tuple[int, int]:
    if token is None:
        return (0, 0)
    try:
        if not isinstance(token, str) or not token:
            raise ValueError("not a string")
        payload = json.loads(base64.urlsafe_b64decode(token.encode()))
        fingerprint, period, group = payload["q"], payload["p"], payload["g"]
        if not (isinstance(period, int) and isinstance(group, int)):
            raise ValueError("cursor is not numeric")
        if not (0 <= period < period_count and group >= 0):
            raise ValueError("cursor out of range")
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise CostExplorerError("Invalid NextPageToken") from None
    if fingerprint != query.fingerprint:
        raise CostExplorerError(
            "NextPageToken does not belong to this query: send exactly the same request (TimePeriod, "
            "Granularity, Metrics, GroupBy, Filter) with the token"
        )
    return (period, group)
