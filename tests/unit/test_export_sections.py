"""The report's Data Export sections: top resources (those of the biggest movers first) and
commitment use (utilisation, coverage), built by build_report and shown by every renderer; and a
Cost Explorer report without them, as it was."""

from __future__ import annotations

import html as html_lib
import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambdas.logic.exports_extras import (
    CommitmentUse,
    TopResource,
    commitment_sql,
    commitments_from_rows,
    top_resources_from_rows,
    top_resources_sql,
)
from lambdas.logic.periods import ReportWindow
from lambdas.logic.render.chat import slack_payload, summary
from lambdas.logic.render.html import render_html
from lambdas.logic.render.text import render_text
from lambdas.logic.render.view import email_view
from lambdas.logic.report import RunFacts, build_report
from lambdas.models.report import Period, Report
from tests.unit.factories import cost_data, make_client

AS_OF = date(2026, 11, 4)  # daily report of 3 November, compared with 2 November
GENERATED = datetime(2026, 11, 4, 6, tzinfo=UTC)
PROD, STAGING = "111111111111", "222222222222"
EC2, S3, RDS = "Amazon EC2", "Amazon S3", "Amazon RDS"
ROWS = [
    ("2026-11-02", EC2, PROD, "100.00"),
    ("2026-11-02", S3, STAGING, "60.00"),
    ("2026-11-02", RDS, PROD, "40.00"),
    ("2026-11-03", EC2, PROD, "180.00"),  # EC2 up 80: the biggest increase
    ("2026-11-03", S3, STAGING, "40.00"),  # S3 down 20
    ("2026-11-03", RDS, PROD, "40.00"),
]
INSTANCE = f"arn:aws:ec2:us-east-1:{PROD}:instance/i-0abc"
BUCKET = "arn:aws:s3:::acme-logs"
DATABASE = f"arn:aws:rds:us-east-1:{PROD}:db:orders"
HOSTILE = '<script>alert("x")</script>'
RESOURCES = (
    TopResource(DATABASE, RDS, PROD, Decimal("40.00")),  # the largest but no mover: after the movers'
    TopResource(BUCKET, S3, STAGING, Decimal("25.00")),
    TopResource(INSTANCE, EC2, PROD, Decimal("30.00")),
    TopResource(HOSTILE, "AWS Lambda", "999999999999", Decimal("2.6")),  # an account the report does not name
)
COMMITMENTS = (
    CommitmentUse("Savings Plan", Decimal("70"), Decimal("30"), covered=Decimal("100"), on_demand=Decimal("50")),
    CommitmentUse("Reservation", Decimal("20"), Decimal("0"), covered=Decimal("40"), on_demand=Decimal("0")),
)


def _window() -> ReportWindow:
    day = AS_OF - timedelta(days=1)
    return ReportWindow(
        current=Period(start=day, end=day),
        previous=Period(start=day - timedelta(days=1), end=day - timedelta(days=1)),
        month_in_progress=False,
        chart=Period(start=day.replace(day=1), end=day),
    )


def _report(**facts: object) -> Report:
    window = _window()
    data = cost_data(ROWS, read=(window.chart_period.start, AS_OF - timedelta(days=1)))
    data.account_names = {PROD: "acme-prod"}
    return build_report(
        make_client(account_ids=[PROD, STAGING]),
        window,
        data,
        RunFacts(run_id=f"{AS_OF}.daily", as_of=AS_OF, generated_at=GENERATED, ce_requests=0, **facts),  # type: ignore[arg-type]
    )


def export_report() -> Report:
    return _report(
        cost_source="data_exports", export_format="focus_1_2", top_resources=RESOURCES, commitments=COMMITMENTS
    )


def explorer_report() -> Report:
    return _report()


# -- build_report --------------------------------------------------------------------------------------


def test_top_resources_of_the_biggest_movers_come_first_with_their_share_of_the_period():
    report = export_report()

    assert report.cost_source == "data_exports" and report.export_format == "focus_1_2"
    assert [m.name for m in report.movers_up] == [EC2] and [m.name for m in report.movers_down] == [S3]
    lines = report.top_resources
    assert [line.resource_id for line in lines] == [INSTANCE, BUCKET, DATABASE, HOSTILE]
    assert [line.mover for line in lines] == ["up", "down", None, None]
    # Share of the period's cost of all services (180 + 40 + 40 = 260), four places.
    assert report.total == Decimal("260.00")
    assert [line.share for line in lines] == [
        Decimal("0.1154"),
        Decimal("0.0962"),
        Decimal("0.1538"),
        Decimal("0.0100"),
    ]
    assert all(isinstance(line.amount, Decimal) for line in lines)
    assert [line.account_name for line in lines] == ["acme-prod", None, "acme-prod", None]  # unknown: no name


def test_commitments_say_utilisation_and_coverage():
    lines = {line.type: line for line in export_report().commitments}

    plan = lines["Savings Plan"]
    assert (plan.used, plan.unused) == (Decimal("70"), Decimal("30"))
    assert plan.utilisation == Decimal("0.7000")
    assert plan.coverage == Decimal("0.6667")  # 100 / (100 + 50)
    assert lines["Reservation"].utilisation == Decimal("1.0000") and lines["Reservation"].coverage == Decimal("1.0000")


def test_a_cost_explorer_report_has_no_such_section_and_its_json_only_names_its_source():
    report = explorer_report()

    assert report.cost_source == "cost_explorer"
    assert report.top_resources == [] and report.commitments == [] and report.export_format is None
    document = json.loads(report.model_dump_json())
    assert document["cost_source"] == "cost_explorer"
    assert not {"top_resources", "commitments", "export_format"} & set(document)
    assert Report.model_validate(document) == report


def test_a_data_export_report_round_trips_through_its_json():
    report = export_report()
    document = json.loads(report.model_dump_json())

    assert document["top_resources"][0]["amount"] == "30.00"  # decimal strings, never floats
    assert document["commitments"][0]["utilisation"] == "1.0000"
    assert Report.model_validate(document) == report


def test_no_commitment_and_no_resource_is_no_section_not_a_zero():
    report = _report(cost_source="data_exports", export_format="cur_2_0")

    assert report.top_resources == [] and report.commitments == []
    view = email_view(report)
    assert view.resources is None and view.commitments is None
    assert "top resources" not in render_text(report).lower()
    # A type with no commitment at all in the period is no line either.
    empty = _report(cost_source="data_exports", commitments=(CommitmentUse("Reservation", Decimal(0), Decimal(0)),))
    assert empty.commitments == []


def test_notes_name_the_data_export_not_cost_explorer():
    window = _window()
    data = cost_data(ROWS, read=(window.chart_period.start, AS_OF - timedelta(days=1)))
    data.missing["breakdown"] = 2
    client = make_client(account_ids=[PROD, STAGING], breakdown={"type": "tag", "key": "team"})
    facts = RunFacts(run_id="r", as_of=AS_OF, generated_at=GENERATED, ce_requests=0, cost_source="data_exports")

    report = build_report(client, window, data, facts)

    assert any("not read from the Data Export" in note for note in report.notes)
    assert not any("Cost Explorer" in note for note in report.notes)


# -- rendering ----------------------------------------------------------------------------------------


def test_the_email_shows_both_sections_and_names_its_source():
    report = export_report()
    html = render_html(report)
    text = render_text(report)

    for rendered in (html_lib.unescape(html), text):
        assert "top resources" in rendered.lower() and "savings plans and reserved instances" in rendered.lower()
        assert INSTANCE in rendered and "acme-prod (111111111111)" in rendered
        assert "Amazon EC2 +$80.00" in rendered  # the mover its resource is behind
        assert "11.5%" in rendered  # 30 of 260
        assert "70.0%" in rendered and "66.7%" in rendered and "100.0%" in rendered
        assert "from AWS Data Export (FOCUS 1.2)" in rendered
        assert "Cost Explorer requests: none; the costs were read from the AWS Data Export (FOCUS 1.2)." in rendered
    assert 'id="top-resources"' in html and 'id="commitments"' in html
    # The resources section comes before the commitments, both before the footer.
    assert html.index('id="top-resources"') < html.index('id="commitments"') < html.index("Run 2026-11-04.daily")


def test_a_resource_id_is_escaped_in_the_html():
    html = render_html(export_report())

    assert HOSTILE not in html
    assert "&lt;script&gt;" in html


def test_a_cost_explorer_email_shows_neither_section():
    report = explorer_report()
    html, text = render_html(report), render_text(report)

    for rendered in (html, text):
        assert "top resources" not in rendered.lower() and "reserved instances" not in rendered.lower()
        assert "from AWS Cost Explorer" in rendered and "Data Export" not in rendered
    assert "Cost Explorer requests" in text


def test_chat_summary_names_a_data_export_source_only():
    facts = dict(summary(export_report()).facts)
    assert facts["Source"] == "AWS Data Export (FOCUS 1.2)"
    assert "Source" not in dict(summary(explorer_report()).facts)
    assert "AWS Data Export (FOCUS 1.2)" in json.dumps(slack_payload(export_report()), ensure_ascii=False)


def test_the_workbook_has_a_sheet_per_section_with_numbers():
    from openpyxl import load_workbook

    from lambdas.logic.render.xlsx import render_xlsx

    book = load_workbook(io.BytesIO(render_xlsx(export_report(), [])))
    assert {"Top resources", "Commitments"} <= set(book.sheetnames)
    resources = [[cell.value for cell in row] for row in book["Top resources"].iter_rows(min_row=2)]
    assert resources[0][:3] == [INSTANCE, EC2, PROD] and resources[0][4] == 30 and resources[0][6] == "up"
    commitments = {row[0].value: row for row in book["Commitments"].iter_rows(min_row=2)}
    assert commitments["Savings Plan"][3].value == pytest.approx(0.7)
    assert commitments["Savings Plan"][3].number_format == "0.0%"
    summary_facts = {row[0].value: row[1].value for row in book["Summary"].iter_rows() if row[0].value}
    assert summary_facts["Cost source"] == "AWS Data Export (FOCUS 1.2)"

    plain = load_workbook(io.BytesIO(render_xlsx(explorer_report(), [])))
    assert not {"Top resources", "Commitments"} & set(plain.sheetnames)
    assert "Cost source" not in {row[0].value for row in plain["Summary"].iter_rows()}


# -- the math -----------------------------------------------------------------------------------------

_money = st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False, allow_infinity=False)


@given(_money, _money, st.one_of(st.none(), _money), st.one_of(st.none(), _money))
def test_utilisation_and_coverage_are_ratios_in_0_1(used, unused, covered, on_demand):
    use = CommitmentUse("Savings Plan", used, unused, covered, on_demand)
    for ratio in (use.utilisation, use.coverage):
        assert ratio is None or Decimal(0) <= ratio <= Decimal(1)
    assert (use.utilisation is None) == (used + unused == 0)
    if covered is None or on_demand is None:
        assert use.coverage is None


@given(st.lists(st.tuples(st.sampled_from([EC2, S3, RDS]), _money), min_size=1, max_size=12))
def test_shares_of_resources_within_the_period_sum_to_at_most_one(parts):
    # Each resource is a slice of a service's cost on 3 November: together never more than the period.
    rows = [("2026-11-02", EC2, PROD, "1.00")] + [("2026-11-03", s, PROD, str(a)) for s, a in parts]
    window = _window()
    resources = tuple(TopResource(f"r-{index}", service, PROD, amount) for index, (service, amount) in enumerate(parts))
    report = build_report(
        make_client(account_ids=[PROD]),
        window,
        cost_data(rows, read=(window.chart_period.start, AS_OF - timedelta(days=1))),
        RunFacts(
            run_id="r",
            as_of=AS_OF,
            generated_at=GENERATED,
            ce_requests=0,
            cost_source="data_exports",
            top_resources=resources,
        ),
    )
    shares = [line.share for line in report.top_resources]
    if report.total > 0:
        assert all(share is not None and share >= 0 for share in shares)
        # Each share is rounded to 4 places: the sum may exceed the exact one by half a unit each.
        assert sum(share for share in shares if share is not None) <= 1 + Decimal("0.00005") * len(shares)
    else:
        assert shares == [None] * len(shares)


# -- commitment_sql against DuckDB -------------------------------------------------------------------------


def _charge(service: str, category: str, status: str, kind: str, effective: str, listed: str) -> dict:
    return {
        "ChargePeriodStart": "2026-11-03 00:00:00",
        "SubAccountId": PROD,
        "ServiceName": service,
        "ChargeCategory": category,
        "CommitmentDiscountStatus": status,
        "CommitmentDiscountType": kind,
        "EffectiveCost": effective,
        "BilledCost": listed,
        "ListCost": listed,
    }


def test_commitment_sql_answers_use_and_coverage_from_a_focus_file(tmp_path: Path):
    from emulator.exports import FOCUS_1_2_COLUMNS, write_parquet
    from lambdas.dal.duckdb_engine import DuckDBEngine

    path = tmp_path / "f.parquet"
    write_parquet(
        [
            _charge(EC2, "Usage", "Used", "Savings Plan", "70", "100"),
            _charge(EC2, "Usage", "", "", "50", "50"),  # on demand in a service the plan covered
            _charge(EC2, "Usage", "Unused", "Savings Plan", "30", ""),
            _charge(S3, "Usage", "", "", "9", "9"),  # no commitment covered S3: not in the coverage
            _charge(EC2, "Credit", "", "", "-5", "-5"),  # not usage
            _charge(RDS, "Usage", "Used", "Reservation", "20", "40"),
        ],
        FOCUS_1_2_COLUMNS,
        path,
    )
    with DuckDBEngine() as engine:
        rows = engine.query(commitment_sql(date(2026, 11, 1), date(2026, 12, 1), accounts=[PROD]), [path])

    uses = {use.type: use for use in commitments_from_rows(rows)}
    plan, reservation = uses["Savings Plan"], uses["Reservation"]
    assert (plan.used, plan.unused, plan.covered, plan.on_demand) == (70, 30, 100, 50)
    assert (plan.utilisation, plan.coverage) == (Decimal("0.7000"), Decimal("0.6667"))
    assert (reservation.utilisation, reservation.coverage) == (Decimal("1.0000"), Decimal("1.0000"))


def test_rows_without_the_list_cost_still_read_without_coverage():
    uses = commitments_from_rows([("Savings Plan", "Unused", 25), ("Savings Plan", "Used", 75)])
    assert uses == [CommitmentUse("Savings Plan", Decimal(75), Decimal(25))]
    assert uses[0].utilisation == Decimal("0.7500") and uses[0].coverage is None


def test_a_resource_costs_its_charges_before_credits_as_the_services_do(tmp_path: Path):
    from emulator.exports import FOCUS_1_2_COLUMNS, write_parquet
    from lambdas.dal.duckdb_engine import DuckDBEngine

    path = tmp_path / "f.parquet"
    write_parquet(
        [
            {**_charge(EC2, "Usage", "", "", "10", "10"), "ResourceId": INSTANCE},
            {**_charge(EC2, "Credit", "", "", "-3", "-3"), "ResourceId": INSTANCE},
            {**_charge(S3, "Usage", "", "", "4", "4"), "ResourceId": BUCKET},
            {**_charge(S3, "Usage", "", "", "99", "99"), "ResourceId": ""},  # no resource: not a line
        ],
        FOCUS_1_2_COLUMNS,
        path,
    )
    sql = top_resources_sql("focus_1_2", date(2026, 11, 1), date(2026, 12, 1), metric="UnblendedCost", accounts=[PROD])
    with DuckDBEngine() as engine:
        resources = top_resources_from_rows(engine.query(sql, [path]))

    assert resources == [TopResource(INSTANCE, EC2, PROD, Decimal("10")), TopResource(BUCKET, S3, PROD, Decimal("4"))]


def test_the_resources_note_names_no_total_when_the_periods_services_were_not_read():
    report = export_report()
    assert "share of the cost of all services, $260.00" in render_text(report)

    unread = report.model_copy(update={"by_service": []})  # the core section missing from the read
    text = render_text(unread)

    assert "The resources that cost most in the period." in text
    assert "$0.00" not in text.split("The resources that cost most")[1].split("\n")[0]
