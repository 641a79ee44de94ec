"""The embedded AWS's Cost Explorer emulator, exercised through real boto3 clients on loopback."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.admin import admin
from emulator.cost_explorer import CostExplorerEmulator
from emulator.dataset import (
    EC2,
    MOTO_DEFAULT_ACCOUNT,
    SHARED_PAYER,
    CostDataset,
    demo_clients,
    generate_demo_dataset,
)
from emulator.server import EmbeddedAWS

AS_OF = date(2026, 11, 27)
ACME = ["111111111110", "111111111111", "111111111112", "111111111113"]
INITECH_PROD = "444444444441"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
TARGET = "AWSInsightsIndexService.GetCostAndUsage"


@pytest.fixture(scope="module")
def dataset() -> CostDataset:
    return generate_demo_dataset(AS_OF)


@pytest.fixture(scope="module")
def aws(dataset: CostDataset) -> Iterator[EmbeddedAWS]:
    with EmbeddedAWS(dataset) as embedded:
        yield embedded


@pytest.fixture(scope="module")
def ce(aws: EmbeddedAWS) -> Any:
    return boto3.client("ce", endpoint_url=aws.endpoint_url, region_name="us-east-1", **CREDENTIALS)


def _client(aws: EmbeddedAWS, service: str, **credentials: str) -> Any:
    return boto3.client(service, endpoint_url=aws.endpoint_url, region_name="us-east-1", **(credentials or CREDENTIALS))


def _admin(aws: EmbeddedAWS, path: str, payload: dict[str, Any] | None = None) -> Any:
    return admin(aws.endpoint_url, path, payload)


def _amount(metrics: dict[str, Any], metric: str = "UnblendedCost") -> Decimal:
    assert metrics[metric]["Unit"] == "USD"
    return Decimal(metrics[metric]["Amount"])


def _record_sum(dataset: CostDataset, start: date, end: date, accounts: list[str], field: str = "unblended") -> Decimal:
    return sum((getattr(r, field) for r in dataset.records_between(start, end, accounts)), Decimal(0))


def _error_code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return str(error.value.response["Error"]["Code"])


def _all_pages(ce: Any, **query: Any) -> list[dict[str, Any]]:
    pages = [ce.get_cost_and_usage(**query)]
    while pages[-1].get("NextPageToken"):
        pages.append(ce.get_cost_and_usage(**query, NextPageToken=pages[-1]["NextPageToken"]))
    return pages


def _group_amounts(pages: list[dict[str, Any]]) -> dict[tuple[str, tuple[str, ...]], Decimal]:
    amounts: dict[tuple[str, tuple[str, ...]], Decimal] = {}
    for page in pages:
        for result in page["ResultsByTime"]:
            for group in result["Groups"]:
                key = (result["TimePeriod"]["Start"], tuple(group["Keys"]))
                assert key not in amounts, f"group {key} answered twice"
                amounts[key] = _amount(group["Metrics"])
    return amounts


# -- periods -----------------------------------------------------------------------------------------


def test_monthly_periods_are_calendar_months_clipped_to_the_range(ce: Any, dataset: CostDataset) -> None:
    answer = ce.get_cost_and_usage(
        TimePeriod={"Start": "2026-10-15", "End": "2026-12-01"},
        Granularity="MONTHLY",
        Metrics=["UnblendedCost"],
    )
    periods = [r["TimePeriod"] for r in answer["ResultsByTime"]]
    assert periods == [
        {"Start": "2026-10-15", "End": "2026-11-01"},
        {"Start": "2026-11-01", "End": "2026-12-01"},
    ]
    first = answer["ResultsByTime"][0]
    assert first["Groups"] == []
    everyone = sorted(dataset.accounts)
    assert _amount(first["Total"]) == _record_sum(dataset, date(2026, 10, 15), date(2026, 11, 1), everyone)
    assert "NextPageToken" not in answer


def test_daily_periods_end_exclusive_and_add_up_to_the_month(ce: Any) -> None:
    daily = ce.get_cost_and_usage(
        TimePeriod={"Start": "2026-10-01", "End": "2026-11-01"},
        Granularity="DAILY",
        Metrics=["UnblendedCost", "AmortizedCost"],
        Filter={"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": ACME}},
    )
    monthly = ce.get_cost_and_usage(
        TimePeriod={"Start": "2026-10-01", "End": "2026-11-01"},
        Granularity="MONTHLY",
        Metrics=["UnblendedCost", "AmortizedCost"],
        Filter={"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": ACME}},
    )
    days = daily["ResultsByTime"]
    assert len(days) == 31
    assert days[0]["TimePeriod"] == {"Start": "2026-10-01", "End": "2026-10-02"}
    assert days[-1]["TimePeriod"] == {"Start": "2026-10-31", "End": "2026-11-01"}
    for metric in ("UnblendedCost", "AmortizedCost"):
        total = sum((_amount(d["Total"], metric) for d in days), Decimal(0))
        assert total == _amount(monthly["ResultsByTime"][0]["Total"], metric)
    # EC2 and RDS run on reserved instances: amortized cost sits slightly below unblended.
    month = monthly["ResultsByTime"][0]["Total"]
    assert _amount(month, "AmortizedCost") < _amount(month, "UnblendedCost")


def test_amounts_are_plain_decimal_strings_with_at_most_ten_places(ce: Any) -> None:
    answer = ce.get_cost_and_usage(
        TimePeriod={"Start": "2026-11-01", "End": "2026-11-08"},
        Granularity="DAILY",
        Metrics=["UnblendedCost"],
        GroupBy=[{"Type": "DIMENSION", "Key": "SERVICE"}],
    )
    for result in answer["ResultsByTime"]:
        for group in result["Groups"]:
            text = group["Metrics"]["UnblendedCost"]["Amount"]
            assert "E" not in text and "e" not in text
            assert len(text.partition(".")[2]) <= 10


# -- groups and filters -------------------------------------------------------------------------------


def test_grouped_answer_has_empty_total_and_groups_add_up(ce: Any) -> None:
    query: dict[str, Any] = {
        "TimePeriod": {"Start": "2026-11-01", "End": "2026-11-27"},
        "Granularity": "MONTHLY",
        "Metrics": ["UnblendedCost"],
    }
    grouped = ce.get_cost_and_usage(
        **query,
        GroupBy=[{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}],
    )
    ungrouped = ce.get_cost_and_usage(**query)
    period = grouped["ResultsByTime"][0]
    assert period["Total"] == {}
    assert grouped["GroupDefinitions"] == [
        {"Type": "DIMENSION", "Key": "SERVICE"},
        {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"},
    ]
    total = sum((_amount(g["Metrics"]) for g in period["Groups"]), Decimal(0))
    assert total == _amount(ungrouped["ResultsByTime"][0]["Total"])
    names = {item["Value"]: item["Attributes"]["description"] for item in grouped["DimensionValueAttributes"]}
    assert names["111111111111"] == "acme-prod"
    assert {g["Keys"][1] for g in period["Groups"]} == set(names)


def test_filter_on_linked_account_limits_the_answer(ce: Any, dataset: CostDataset) -> None:
    answer = ce.get_cost_and_usage(
        TimePeriod={"Start": "2026-11-01", "End": "2026-11-27"},
        Granularity="MONTHLY",
        Metrics=["AmortizedCost"],
        GroupBy=[{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}],
        Filter={"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": ACME}},
    )
    groups = answer["ResultsByTime"][0]["Groups"]
    assert {g["Keys"][0] for g in groups} == set(ACME)
    total = sum((_amount(g["Metrics"], "AmortizedCost") for g in groups), Decimal(0))
    assert total == _record_sum(dataset, date(2026, 11, 1), date(2026, 11, 27), ACME, "amortized")


def test_not_record_type_credit_excludes_the_promotional_credit(ce: Any) -> None:
    period = {"Start": "2026-11-01", "End": "2026-11-27"}
    account = {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": [INITECH_PROD]}}
    by_type = ce.get_cost_and_usage(
        TimePeriod=period,
        Granularity="MONTHLY",
        Metrics=["UnblendedCost"],
        GroupBy=[{"Type": "DIMENSION", "Key": "RECORD_TYPE"}],
        Filter=account,
    )["ResultsByTime"][0]["Groups"]
    credit = next(_amount(g["Metrics"]) for g in by_type if g["Keys"] == ["Credit"])
    assert credit == Decimal(-45 * 26)
    without_credit = ce.get_cost_and_usage(
        TimePeriod=period,
        Granularity="MONTHLY",
        Metrics=["UnblendedCost"],
        Filter={"And": [account, {"Not": {"Dimensions": {"Key": "RECORD_TYPE", "Values": ["Credit"]}}}]},
    )["ResultsByTime"][0]["Total"]
    everything = ce.get_cost_and_usage(
        TimePeriod=period, Granularity="MONTHLY", Metrics=["UnblendedCost"], Filter=account
    )["ResultsByTime"][0]["Total"]
    assert _amount(without_credit) - _amount(everything) == -credit


def test_tag_groups_and_tag_filters(ce: Any) -> None:
    query: dict[str, Any] = {
        "TimePeriod": {"Start": "2026-11-01", "End": "2026-11-08"},
        "Granularity": "MONTHLY",
        "Metrics": ["UnblendedCost"],
    }
    groups = ce.get_cost_and_usage(**query, GroupBy=[{"Type": "TAG", "Key": "team"}])["ResultsByTime"][0]["Groups"]
    by_key = {g["Keys"][0]: _amount(g["Metrics"]) for g in groups}
    assert {"team$web", "team$data", "team$api", "team$"} <= set(by_key)
    web = ce.get_cost_and_usage(**query, Filter={"Tags": {"Key": "team", "Values": ["web"]}})
    assert _amount(web["ResultsByTime"][0]["Total"]) == by_key["team$web"]
    untagged = ce.get_cost_and_usage(**query, Filter={"Tags": {"Key": "team", "MatchOptions": ["ABSENT"]}})
    assert _amount(untagged["ResultsByTime"][0]["Total"]) == by_key["team$"]


def test_dimension_values_name_the_accounts(ce: Any) -> None:
    answer = ce.get_dimension_values(
        TimePeriod={"Start": "2026-11-01", "End": "2026-11-27"},
        Dimension="LINKED_ACCOUNT",
        SearchString="acme",
    )
    names = {v["Value"]: v["Attributes"]["description"] for v in answer["DimensionValues"]}
    assert names == {
        "111111111110": "acme-management",
        "111111111111": "acme-prod",
        "111111111112": "acme-staging",
        "111111111113": "acme-data",
    }


# -- validation ----------------------------------------------------------------------------------------

_MONTH = {"TimePeriod": {"Start": "2026-11-01", "End": "2026-11-27"}, "Granularity": "MONTHLY"}


@pytest.mark.parametrize(
    "query",
    [
        pytest.param(
            {"Metrics": ["UnblendedCost"], "Filter": {"And": [{"Tags": {"Key": "team", "Values": ["web"]}}]}},
            id="one-operand-and",
        ),
        pytest.param(
            {"Metrics": ["UnblendedCost"], "Filter": {"Or": [{"Tags": {"Key": "team", "Values": ["web"]}}]}},
            id="one-operand-or",
        ),
        pytest.param(
            {
                "Metrics": ["UnblendedCost"],
                "Filter": {
                    "Tags": {"Key": "team", "Values": ["web"]},
                    "Dimensions": {"Key": "SERVICE", "Values": [EC2]},
                },
            },
            id="two-roots",
        ),
        pytest.param(
            {
                "Metrics": ["UnblendedCost"],
                "GroupBy": [
                    {"Type": "DIMENSION", "Key": "SERVICE"},
                    {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"},
                    {"Type": "TAG", "Key": "team"},
                ],
            },
            id="three-group-by",
        ),
        pytest.param(
            {
                "Metrics": ["UnblendedCost"],
                "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "DIMENSION", "Key": "SERVICE"}],
            },
            id="duplicate-group-by",
        ),
        pytest.param({"Metrics": ["UsageQuantity"]}, id="usage-quantity"),
        pytest.param(
            {"Metrics": ["UnblendedCost"], "TimePeriod": {"Start": "2026-11-05", "End": "2026-11-05"}},
            id="start-not-before-end",
        ),
        pytest.param({"Metrics": ["UnblendedCost"], "Granularity": "HOURLY"}, id="hourly"),
    ],
)
def test_invalid_queries_are_rejected_like_cost_explorer(ce: Any, query: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as error:
        ce.get_cost_and_usage(**{**_MONTH, **query})
    assert _error_code(error) == "ValidationException"
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_other_cost_explorer_operations_are_unknown(ce: Any) -> None:
    with pytest.raises(ClientError) as error:
        ce.get_tags(TimePeriod={"Start": "2026-11-01", "End": "2026-11-27"})
    assert _error_code(error) == "UnknownOperationException"


def test_forecast_is_the_trailing_week_average_for_each_day_of_the_period(ce: Any) -> None:
    account = {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": ["444444444441"]}}
    week = ce.get_cost_and_usage(
        TimePeriod={"Start": "2026-11-20", "End": "2026-11-27"},
        Granularity="MONTHLY",
        Metrics=["UnblendedCost"],
        Filter=account,
    )["ResultsByTime"][0]["Total"]["UnblendedCost"]["Amount"]
    answer = ce.get_cost_forecast(
        TimePeriod={"Start": "2026-11-27", "End": "2026-12-01"},
        Metric="UNBLENDED_COST",
        Granularity="MONTHLY",
        Filter=account,
    )
    assert Decimal(answer["Total"]["Amount"]) == (Decimal(week) / 7 * 4).quantize(Decimal("1E-10"))
    assert answer["Total"]["Unit"] == "USD"


# -- pagination ----------------------------------------------------------------------------------------


def test_pagination_returns_every_group_once_and_binds_the_token_to_the_query(aws: EmbeddedAWS, ce: Any) -> None:
    query: dict[str, Any] = {
        "TimePeriod": {"Start": "2026-11-10", "End": "2026-11-14"},
        "Granularity": "DAILY",
        "Metrics": ["UnblendedCost"],
        "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}, {"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}],
        "Filter": {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": ACME}},
    }
    unpaged = _group_amounts([ce.get_cost_and_usage(**query)])
    assert _admin(aws, "ce/page-size", {"page_size": 7}) == {"ok": True, "page_size": 7}
    try:
        pages = _all_pages(ce, **query)
        first = ce.get_cost_and_usage(**query)
        changed = {key: value for key, value in query.items() if key != "Filter"}  # a dropped Filter
        with pytest.raises(ClientError) as error:
            ce.get_cost_and_usage(**changed, NextPageToken=first["NextPageToken"])
        assert _error_code(error) == "ValidationException"
        with pytest.raises(ClientError) as forged:
            ce.get_cost_and_usage(**query, NextPageToken=base64.urlsafe_b64encode(b"junk").decode())
        assert _error_code(forged) == "ValidationException"
    finally:
        _admin(aws, "ce/page-size", {"page_size": 5000})
    assert len(pages) > 1
    assert all(sum(len(r["Groups"]) for r in page["ResultsByTime"]) <= 7 for page in pages)
    assert _group_amounts(pages) == unpaged
    starts = [r["TimePeriod"]["Start"] for page in pages for r in page["ResultsByTime"]]
    assert len(starts) > len(set(starts)), "a page boundary inside a period repeats the period"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(page_size=st.integers(min_value=1, max_value=60), grouped=st.booleans())
def test_any_page_size_gives_the_unpaged_answer(dataset: CostDataset, page_size: int, grouped: bool) -> None:
    body: dict[str, Any] = {
        "TimePeriod": {"Start": "2026-10-28", "End": "2026-11-04"},
        "Granularity": "DAILY",
        "Metrics": ["UnblendedCost"],
        "Filter": {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": ["444444444441", "444444444442"]}},
    }
    if grouped:
        body["GroupBy"] = [{"Type": "DIMENSION", "Key": "SERVICE"}]
    full = CostExplorerEmulator(dataset).handle(TARGET, body, MOTO_DEFAULT_ACCOUNT)[1]
    paged = CostExplorerEmulator(dataset, page_size=page_size)
    pages = [paged.handle(TARGET, body, MOTO_DEFAULT_ACCOUNT)[1]]
    while "NextPageToken" in pages[-1]:
        status, answer = paged.handle(TARGET, {**body, "NextPageToken": pages[-1]["NextPageToken"]}, "123456789012")
        assert status == 200, answer
        pages.append(answer)
    if grouped:
        assert _group_amounts(pages) == _group_amounts([full])
    else:
        assert [r for page in pages for r in page["ResultsByTime"]] == full["ResultsByTime"]


# -- estimates, scoping, restatement ---------------------------------------------------------------------


def test_estimated_flags_follow_the_finalisation_horizon(ce: Any, dataset: CostDataset) -> None:
    assert dataset.finalised_through == date(2026, 10, 31)
    monthly = ce.get_cost_and_usage(
        TimePeriod={"Start": "2026-09-01", "End": "2026-11-27"},
        Granularity="MONTHLY",
        Metrics=["UnblendedCost"],
    )
    assert [r["Estimated"] for r in monthly["ResultsByTime"]] == [False, False, True]
    daily = ce.get_cost_and_usage(
        TimePeriod={"Start": "2026-10-30", "End": "2026-11-02"},
        Granularity="DAILY",
        Metrics=["UnblendedCost"],
    )
    assert [r["Estimated"] for r in daily["ResultsByTime"]] == [False, False, True]


def _assumed(aws: EmbeddedAWS, account_id: str) -> Any:
    sts = _client(aws, "sts")
    role = f"arn:aws:iam::{account_id}:role/CostReportingReadOnly"
    # A payer's role exists (emulator/client_roles.py) and wants a client's external id; others are made up.
    external_id = next(
        (c["credentials"]["external_id"] for c in demo_clients(aws.dataset) if c["credentials"]["role_arn"] == role),
        "x-1",
    )
    credentials = sts.assume_role(RoleArn=role, RoleSessionName="cost-report", ExternalId=external_id)["Credentials"]
    keys = {
        "aws_access_key_id": credentials["AccessKeyId"],
        "aws_secret_access_key": credentials["SecretAccessKey"],
        "aws_session_token": credentials["SessionToken"],
    }
    assert _client(aws, "sts", **keys).get_caller_identity()["Account"] == account_id
    return _client(aws, "ce", **keys)


def _accounts_seen(ce: Any) -> set[str]:
    answer = ce.get_cost_and_usage(
        TimePeriod={"Start": "2026-11-01", "End": "2026-11-27"},
        Granularity="MONTHLY",
        Metrics=["UnblendedCost"],
        GroupBy=[{"Type": "DIMENSION", "Key": "LINKED_ACCOUNT"}],
    )
    return {g["Keys"][0] for r in answer["ResultsByTime"] for g in r["Groups"]}


def test_callers_see_only_their_accounts(aws: EmbeddedAWS, ce: Any, dataset: CostDataset) -> None:
    assert _accounts_seen(ce) == set(dataset.accounts)  # moto's default account sees everything
    assert _accounts_seen(_assumed(aws, INITECH_PROD)) == {INITECH_PROD}
    shared_payer_clients = [c for c in demo_clients(dataset) if SHARED_PAYER in c["credentials"]["role_arn"]]
    assert {c["client_id"] for c in shared_payer_clients} == {"initech-labs", "umbrella-media"}
    expected = {account for client in shared_payer_clients for account in client["account_ids"]}
    assert _accounts_seen(_assumed(aws, SHARED_PAYER)) == expected
    assert _accounts_seen(_assumed(aws, "999999999999")) == set()


def test_restating_a_day_changes_the_next_answer(aws: EmbeddedAWS, ce: Any, dataset: CostDataset) -> None:
    aws.set_dataset(generate_demo_dataset(AS_OF))  # restate a copy: the module's dataset stays pristine
    query: dict[str, Any] = {
        "TimePeriod": {"Start": "2026-11-20", "End": "2026-11-21"},
        "Granularity": "DAILY",
        "Metrics": ["UnblendedCost", "AmortizedCost"],
        "Filter": {
            "And": [
                {"Dimensions": {"Key": "LINKED_ACCOUNT", "Values": ["222222222222"]}},
                {"Dimensions": {"Key": "SERVICE", "Values": [EC2]}},
            ]
        },
    }
    before = ce.get_cost_and_usage(**query)["ResultsByTime"][0]["Total"]
    restated = {"day": "2026-11-20", "account_id": "222222222222", "service": EC2, "amount": "1234.5"}
    try:
        assert _admin(aws, "ce/restate", restated) == {"ok": True}
        after = ce.get_cost_and_usage(**query)["ResultsByTime"][0]["Total"]
    finally:
        aws.set_dataset(dataset)
    assert _amount(before) != Decimal("1234.5")
    assert _amount(after) == Decimal("1234.5")
    ratio = _amount(before, "AmortizedCost") / _amount(before)
    assert abs(_amount(after, "AmortizedCost") - Decimal("1234.5") * ratio) < Decimal("0.0001")


# -- dataset -------------------------------------------------------------------------------------------


def test_dataset_is_deterministic_and_matches_the_demo_clients(dataset: CostDataset) -> None:
    again = generate_demo_dataset(AS_OF)
    assert again.all_records() == dataset.all_records()
    assert generate_demo_dataset(AS_OF, seed=8).all_records() != dataset.all_records()
    assert dataset.first_day == date(2025, 9, 1)
    assert dataset.last_day == AS_OF - timedelta(days=1)

    clients = demo_clients(dataset)
    assert [c["client_id"] for c in clients] == [
        "acme-retail",
        "globex-health",
        "initech-labs",
        "umbrella-media",
        "hooli",
    ]
    assert demo_clients() == clients
    # One demo client is read from its FOCUS 1.2 Data Export; its costs are in the same dataset.
    assert [c["client_id"] for c in clients if c.get("cost_source") == "data_exports"] == ["hooli"]
    assert next(c for c in clients if c["client_id"] == "hooli")["data_export"]["format"] == "focus_1_2"
    accounts = [a for c in clients for a in c["account_ids"]]
    assert len(accounts) == len(set(accounts)) == len(dataset.accounts)
    assert set(accounts) == set(dataset.accounts)
    assert all(len(a) == 12 and a.isdigit() and a != MOTO_DEFAULT_ACCOUNT for a in accounts)
    assert {c["schedule"] for c in clients} == {"daily", "weekly", "monthly"}
    assert "AmortizedCost" in {c["metric"] for c in clients}


def test_extra_clients_are_synthetic_and_valid() -> None:
    from lambdas.models.client import Client

    dataset = generate_demo_dataset(AS_OF, extra_clients=5)
    clients = demo_clients(dataset)
    assert [c["client_id"] for c in clients[5:]] == [f"client-000{i}" for i in range(1, 6)]
    assert {a for c in clients for a in c["account_ids"]} == set(dataset.accounts)
    for client in clients:
        Client.model_validate(client)
    synthetic = clients[-1]["account_ids"]
    assert dataset.first_day is not None
    assert not list(dataset.records_between(dataset.first_day, date(2026, 9, 1), synthetic))
    assert list(dataset.records_between(date(2026, 9, 1), date(2026, 9, 2), synthetic))


# -- admin API -------------------------------------------------------------------------------------------


def test_admin_health_request_log_and_unknown_routes(aws: EmbeddedAWS, ce: Any) -> None:
    assert _admin(aws, "health") == {"ok": True}
    assert _admin(aws, "ce/reset-log", {}) == {"ok": True}
    ce.get_cost_and_usage(**_MONTH, Metrics=["UnblendedCost"])
    log = _admin(aws, "ce/requests")
    assert [(e["target"], e["caller_account"]) for e in log] == [(TARGET, MOTO_DEFAULT_ACCOUNT)]
    assert log[0]["body"]["Metrics"] == ["UnblendedCost"]
    with pytest.raises(urllib.error.HTTPError) as missing:
        _admin(aws, "nothing-here")
    assert missing.value.code == 404


def test_sent_emails_are_readable_through_the_admin_api(aws: EmbeddedAWS) -> None:
    sesv2 = _client(aws, "sesv2")
    sesv2.create_email_identity(EmailIdentity="reports@platform.example")
    raw = (
        "From: reports@platform.example\r\nTo: finance@acme.example\r\n"
        "Subject: Daily cost report\r\nContent-Type: text/plain\r\n\r\nTotal: 1,234.56 USD\r\n"
    )
    sent = sesv2.send_email(
        FromEmailAddress="reports@platform.example",
        Destination={"ToAddresses": ["finance@acme.example"]},
        Content={"Raw": {"Data": raw.encode()}},
    )
    sesv2.send_email(
        FromEmailAddress="reports@platform.example",
        Destination={"ToAddresses": ["cto@acme.example"]},
        Content={"Simple": {"Subject": {"Data": "Budget alert"}, "Body": {"Text": {"Data": "90% of budget"}}}},
    )
    messages = {m["id"]: m for m in _admin(aws, "ses/messages")}
    message = messages[sent["MessageId"]]
    assert message["source"] == "reports@platform.example"
    assert "finance@acme.example" in message["destinations"]
    assert "Subject: Daily cost report" in message["raw"]
    simple = next(m for m in messages.values() if m["destinations"] == ["cto@acme.example"])
    assert "Subject: Budget alert" in simple["raw"] and "90% of budget" in simple["raw"]
