"""The Excel workbook: real numbers and dates, every section a sheet, names never formulas."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from lambdas.logic.cost_data import CostRow
from lambdas.logic.render.xlsx import render_xlsx
from tests.unit import report_fixtures as fx


def workbook(report, rows):
    return load_workbook(io.BytesIO(render_xlsx(report, rows)))


def facts(sheet):
    return {row[0].value: row[1] for row in sheet.iter_rows(min_row=3) if row[0].value}


def test_summary_holds_the_headline_figures_as_numbers():
    report, rows = fx.daily_report()
    summary = facts(workbook(report, rows)["Summary"])
    assert summary["Total"].data_type == "n"
    assert Decimal(str(summary["Total"].value)) == report.total
    assert Decimal(str(summary["Month to date"].value)) == report.month_to_date
    assert Decimal(str(summary["Forecast to month end"].value)) == report.forecast
    assert Decimal(str(summary["Monthly budget"].value)) == Decimal("45000")
    assert summary["Change %"].value == pytest.approx(0.007)  # +0.7 %, a ratio formatted as a percent
    assert summary["Change %"].number_format.startswith("+0.0%")
    assert summary["Cost metric"].value == "Unblended cost"
    assert summary["Period start"].value == datetime(2026, 11, 26)  # a date cell, not text
    assert summary["Total"].number_format == "#,##0.00;-#,##0.00"


def test_daily_data_sheet_has_one_numeric_row_per_day_account_and_service():
    report, rows = fx.monthly_report()
    book = workbook(report, rows)
    data = list(book["Data"].iter_rows(values_only=True))
    assert data[0] == ("Date", "Account ID", "Account name", "Service", "Cost (USD)", "Estimated")
    body = data[1:]
    assert len(body) == 31 * len(fx.SERVICES) * len(fx.ACCOUNTS)
    assert all(isinstance(row[0], datetime) and isinstance(row[4], (int, float)) for row in body)
    # October is the whole span: the data adds up to the report's total (to the cent).
    assert round(sum(Decimal(str(row[4])) for row in body), 2) == report.total
    assert book["Data"].freeze_panes == "A2"
    assert book["Data"].auto_filter.ref == f"A1:F{len(body) + 1}"
    daily = list(book["Daily"].iter_rows(min_row=2, values_only=True))
    assert len(daily) == 31 and daily[0][0] == datetime(2026, 10, 1)


def test_optional_sections_become_sheets_only_when_present():
    report, rows = fx.monthly_report()
    assert set(workbook(report, rows).sheetnames) == {
        "Summary",
        "Services",
        "Accounts",
        "Daily",
        "Months",
        "Breakdown",
        "Credits",
        "Anomalies",
        "Data",
    } - {"Anomalies"}  # October has no anomaly in the fixture
    bare = fx.bare(report)
    assert workbook(bare, rows).sheetnames == ["Summary", "Services", "Accounts", "Daily", "Data"]


def test_final_report_workbook_states_the_restatement():
    report, rows = fx.final_report()
    summary = facts(workbook(report, rows)["Summary"])
    assert summary["Estimate sent (run)"].value == "2026-11-01.daily"
    assert Decimal(str(summary["Change against the estimate"].value)) == Decimal("276.57")


def test_names_starting_with_equals_stay_text_and_control_characters_are_dropped():
    report, rows = fx.daily_report()
    hostile = [
        *rows,
        CostRow(date(2026, 11, 26), '=HYPERLINK("http://x","y")', "111111111111", Decimal("1")),
        CostRow(date(2026, 11, 26), "bell\x07 service", "111111111111", Decimal("1")),
    ]
    book = workbook(fx.hostile(report), hostile)
    cells = {row[3].value: row[3] for row in book["Data"].iter_rows(min_row=2)}
    formula = cells['=HYPERLINK("http://x","y")']
    assert formula.data_type == "s"
    assert "bell service" in cells
    services = [row[0].value for row in book["Services"].iter_rows(min_row=2)]
    assert fx.HOSTILE_HTML + " 0" in services  # kept as typed: a workbook is not HTML


def test_credits_sheet_says_whether_they_are_in_the_totals():
    report, rows = fx.weekly_report()  # credits excluded in this fixture
    sheet = workbook(report, rows)["Credits"]
    assert list(sheet.iter_rows(min_row=2, values_only=True)) == [
        ("Credit", -120, -100, False),
        ("Refund", -35.5, 0, False),
    ]
