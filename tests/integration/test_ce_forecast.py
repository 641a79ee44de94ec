"""A client that opts into Cost Explorer's own forecast (GetCostForecast): one more request, counted
against its budget, and a report that still goes out when that request fails."""

from __future__ import annotations

import pytest

from tests.integration.conftest import AS_OF
from tests.integration.runs import ce_calls, register, run
from tests.reliability.conftest import quick_backoff  # noqa: F401 - fixture of the fault suite
from tests.reliability.faults import Faults


@pytest.fixture
def faults(platform):
    injected = Faults()
    yield injected
    injected.close()


def acme(demo_records, **changes):
    record = next(r for r in demo_records if r["client_id"] == "acme-retail")
    return register(record, **changes)


def forecasts(embedded_aws) -> int:
    return len(ce_calls(embedded_aws, "GetCostForecast"))


def test_the_forecast_request_is_sent_only_on_opt_in_and_counted(platform, embedded_aws, demo_records):
    client = acme(demo_records, forecast_source="cost_explorer")
    embedded_aws.ce.reset_log()

    outcome = run(client.client_id, AS_OF)

    assert outcome.status == "succeeded", outcome.error
    assert forecasts(embedded_aws) == 1
    # 3 cost and usage (services, record types, the anomaly day's services) + the forecast
    assert outcome.ce_requests == len(ce_calls(embedded_aws)) + 1 == 4
    report = outcome.report
    assert report is not None and report.forecast is not None and report.month_to_date is not None
    assert report.forecast_method is not None and "GetCostForecast" in report.forecast_method
    assert report.forecast > report.month_to_date


def test_the_default_client_sends_no_forecast_request(platform, embedded_aws, demo_records):
    client = acme(demo_records)
    embedded_aws.ce.reset_log()

    outcome = run(client.client_id, AS_OF)

    assert outcome.status == "succeeded" and forecasts(embedded_aws) == 0
    assert outcome.report is not None and "average of the last" in (outcome.report.forecast_method or "")


@pytest.mark.usefixtures("quick_backoff")
@pytest.mark.parametrize(("code", "status"), [("DataUnavailableException", 400), ("ThrottlingException", 400)])
def test_a_failed_forecast_request_falls_back_to_the_daily_trend_and_the_report_goes_out(
    platform, embedded_aws, demo_records, faults, code, status
):
    client = acme(demo_records, forecast_source="cost_explorer")
    faults.fail("cost-explorer", "GetCostForecast", code, status=status)

    outcome = run(client.client_id, AS_OF)

    assert outcome.status == "succeeded", outcome.error
    report = outcome.report
    assert report is not None and report.forecast is not None
    assert "average of the last" in (report.forecast_method or "")
    assert any("Cost Explorer's forecast was unavailable" in note for note in report.notes)
