"""What the email says, per schedule and per section, on fixed reports (tests/unit/report_fixtures.py)."""

from __future__ import annotations

import csv
import html as html_lib
import io
import re
from datetime import date, datetime
from decimal import Decimal

import pytest

from lambdas.logic.cost_data import CostData, CostRow
from lambdas.logic.periods import ReportWindow
from lambdas.logic.render.csv import render_csv
from lambdas.logic.render.format import Formatter, money, period_label
from lambdas.logic.render.html import render_html
from lambdas.logic.render.text import render_text
from lambdas.logic.render.view import email_view
from lambdas.logic.report import RunFacts, build_report
from lambdas.models.report import Anomaly, Period, Report
from tests.unit import report_fixtures as fx
from tests.unit.factories import make_client

NBSP = "\xa0"


def visible_text(html: str) -> str:
    """The words of the HTML, roughly as a reader sees them (tags out, entities in)."""
    body = html.split("<body", 1)[1].split(">", 1)[1]
    # Collapse the template's own whitespace, keep no-break spaces (part of formatted amounts).
    return re.sub(r"[ \t\r\n]+", " ", html_lib.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


# --------------------------------------------------------------------------------------------------
# Numbers and dates
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "currency", "amount", "expected"),
    [
        ("en_US", "USD", "1234.56", "$1,234.56"),
        ("de_DE", "EUR", "1234.56", f"1.234,56{NBSP}€"),
        ("fr_FR", "EUR", "1234.56", f"1\u202f234,56{NBSP}€"),
        ("en_US", "JPY", "1234.5", "¥1,234"),
        ("en_US", "USD", "-1234.56", "−$1,234.56"),
        ("de_DE", "EUR", "-0.5", f"−0,50{NBSP}€"),
        ("en_US", "USD", "-0.001", "$0.00"),  # rounds to nothing: no minus sign on zero
    ],
)
def test_money_in_the_clients_currency_and_locale(locale, currency, amount, expected):
    assert Formatter(currency, locale).money(Decimal(amount)) == expected


def test_signed_amounts_and_percents():
    us, de = Formatter("USD", "en_US"), Formatter("EUR", "de_DE")
    assert us.signed(Decimal("56")) == "+$56.00"
    assert us.signed(Decimal("-56")) == "−$56.00"
    assert us.signed(Decimal("0")) == "±$0.00"
    assert us.percent(Decimal("-2.6")) == "−2.6%"
    assert us.percent(Decimal("5")) == "+5.0%"
    assert de.percent(Decimal("2.6")) == f"+2,6{NBSP}%"
    assert us.percent(None) == "new"
    # The CLI's helper keeps its signature.
    assert money(Decimal("1"), "USD") == "$1.00"


def test_period_labels():
    assert period_label(Period(start=date(2026, 11, 1), end=date(2026, 11, 26))) == "1–26 November 2026"
    assert period_label(Period(start=date(2026, 11, 5), end=date(2026, 11, 5))) == "5 November 2026"
    assert period_label(Period(start=date(2026, 10, 28), end=date(2026, 11, 3))) == "28 Oct – 3 Nov 2026"
    assert period_label(Period(start=date(2025, 12, 29), end=date(2026, 1, 4))) == "29 Dec 2025 – 4 Jan 2026"


def test_a_german_report_formats_every_amount_the_german_way():
    report, _ = fx.daily_report(currency="EUR", locale="de_DE")
    html, text = render_html(report), render_text(report)
    total = Formatter("EUR", "de_DE").money(report.total)
    assert re.fullmatch(r"1\.521,46\xa0€", total)
    assert re.search(r'id="headline-total"[^>]*>' + re.escape(total) + "<", html.replace("&nbsp;", NBSP))
    assert total in text
    # Only the Cost Explorer fee and its price (billed in USD) are in dollars, still written the German way.
    assert visible_text(html).count("$") == 2 and f"(0,02{NBSP}$ at 0,01{NBSP}$ each)" in visible_text(html)
    assert f"(0,02{NBSP}$ at 0,01{NBSP}$ each)" in text
    assert f"+0,7{NBSP}%" in text


# --------------------------------------------------------------------------------------------------
# Content per schedule
# --------------------------------------------------------------------------------------------------


def test_daily_says_yesterday_the_month_so_far_and_where_the_month_ends():
    report, _ = fx.daily_report()
    view = email_view(report)
    text = visible_text(render_html(report, view))
    assert view.eyebrow == "Daily AWS cost report"
    assert "Yesterday, Thu 26 November 2026 $1,521.46" in text
    assert "+$10.00 (+0.7%) vs $1,511.46 on Wed 25 November 2026" in text
    assert "Month to date · 1–26 November 2026 $40,293.50" in text
    assert "Forecast for November 2026 $46,492.50" in text
    assert "Month to date plus the average of the last 7 days" in text  # the method is stated
    assert "Forecast is 103% of the budget: $1,492.50 over." in text
    # What changed and why, in one line under the headline.
    assert (
        "Biggest increases: Amazon Elastic Compute Cloud - Compute +$20.41, Amazon Simple Storage Service +$5.04."
        in text
    )
    assert view.subject == (
        "Acme Retail: AWS costs $1,521.46 yesterday (+0.7%), $40,293.50 month to date · forecast 103% of budget"
    )


def test_weekly_compares_the_last_7_days_with_the_7_before_and_labels_both_on_the_chart():
    report, _ = fx.weekly_report()
    view = email_view(report)
    text = visible_text(render_html(report, view))
    assert "Last 7 days, 20–26 November 2026 $9,993.69" in text
    assert "vs $12,972.94 for 13–19 November 2026" in text
    assert view.chart is not None
    assert [(band.days, band.style) for band in view.chart.bands] == [(7, "previous"), (7, "current")]
    assert "13–19 November 2026 (compared)" in text
    assert "No monthly budget is set for this client." in text
    assert "Month to date" not in view.headline.title


def test_monthly_shows_last_month_against_the_month_before_with_a_six_month_trend():
    report, _ = fx.monthly_report()
    view = email_view(report)
    text = visible_text(render_html(report, view))
    assert "October 2026 $44,298.19" in text
    assert "vs $43,126.78 in September 2026" in text
    assert "Last 6 months" in text
    assert [row.month for row in view.trend] == ["May 2026", "Jun 2026", "Jul 2026", "Aug 2026", "Sep 2026", "Oct 2026"]
    assert view.trend[-1].note == "estimated" and view.trend[-1].change_percent == "+2.7%"
    assert view.forecast is None and "Forecast for" not in text  # a complete month needs none
    assert "Spend is 98% of the budget: $701.81 left." in text  # a whole month: spend, not a forecast
    assert view.subject == "Acme Retail: AWS costs $44,298.19 in October 2026 (+2.7%)"


def test_a_month_to_date_already_over_budget_says_so_in_html_text_and_subject():
    # Month to date $40,293.50 against $37,500.00: spent already, whatever the forecast says.
    report, _ = fx.daily_report(budget=Decimal("37500.00"))
    view = email_view(report)
    html = render_html(report, view)
    text = render_text(report, view)
    exceeded = "Already over budget: month to date is $2,793.50 over the $37,500.00 budget (107%)."
    assert exceeded in visible_text(html) and exceeded in text
    assert "Forecast is 124% of the budget: $8,992.50 over." in visible_text(html)  # the bar's line stays
    assert f"Monthly budget: $37,500.00\n{exceeded}\nForecast is 124% of the budget: $8,992.50 over.\n" in text
    assert view.subject.endswith(" · over budget: month to date 107%")
    assert "already over budget: month to date is $2,793.50 over" in view.preheader
    assert re.search(r'<td class="budget-fill budget-over"[^>]*width="100%"', html)
    # Spent but not over (the forecast is): no such line, the subject names the forecast.
    under = email_view(fx.daily_report()[0])
    assert under.budget is not None and under.budget.exceeded == ""
    assert under.subject.endswith(" · forecast 103% of budget")
    # Over by less than a cent is not over as shown: never "$0.00 over".
    report, _ = fx.daily_report()
    assert report.month_to_date is not None
    edge = email_view(report.model_copy(update={"month_to_date": Decimal("45000.004")}))
    assert edge.budget is not None and edge.budget.exceeded == ""


def test_a_whole_month_over_budget_says_its_spend_was_over():
    report, _ = fx.monthly_report(budget=Decimal("40000.00"))  # October: $44,298.19
    view = email_view(report)
    html, text = visible_text(render_html(report, view)), render_text(report, view)
    exceeded = "Over budget: October 2026's spend was $4,298.19 over the $40,000.00 budget (111%)."
    assert exceeded in html and exceeded in text
    assert "Spend is 111% of the budget" not in html + text  # the same figure: said once
    assert view.subject == "Acme Retail: AWS costs $44,298.19 in October 2026 (+2.7%) · over budget: spend 111%"
    # A daily report of a month's last day, sent on the 1st: its month to date is the whole month.
    daily, _ = fx.daily_report(budget=Decimal("37500.00"), forecast=None)
    last_day = daily.model_copy(
        update={"period": Period(start=date(2026, 11, 30), end=date(2026, 11, 30)), "as_of": date(2026, 12, 1)}
    )
    budget = email_view(last_day).budget
    assert budget is not None
    assert budget.exceeded == "Over budget: November 2026's spend was $2,793.50 over the $37,500.00 budget (107%)."


def test_the_estimate_note_names_the_month_whose_bill_is_awaited():
    monthly, _ = fx.monthly_report()  # October, sent on 1 November
    assert email_view(monthly).estimate_note == (
        "All figures are estimates until AWS finalises October 2026's bill; they may still change."
    )
    daily, _ = fx.daily_report()
    assert email_view(daily).estimate_note == (
        "Figures of recent days (marked) are estimates; AWS may restate them until November 2026's bill is final."
    )
    # A chart across two months, all of it estimated: both bills.
    spanning = daily.model_copy(
        update={"daily": [point.model_copy(update={"estimated": True}) for point in monthly.daily + daily.daily]}
    )
    assert email_view(spanning).estimate_note == (
        "All figures are estimates until AWS finalises the October 2026 and November 2026 bills; they may still change."
    )
    assert "this month" not in render_text(monthly) + render_text(daily)


def test_final_report_says_what_changed_against_the_estimate_already_sent():
    report, _ = fx.final_report()
    view = email_view(report)
    text = visible_text(render_html(report, view))
    assert view.eyebrow == "Final AWS bill"
    assert "Final bill, October 2026 $44,298.19" in text
    assert (
        "The report sent earlier (run 2026-11-01.daily) estimated $44,021.62. "
        "AWS has finalised the bill at $44,298.19: +$276.57 (+0.6%)." in text
    )
    # The services that moved: final, estimated, change.
    assert "Amazon Elastic Compute Cloud - Compute $17,751.42 $17,537.05 +$214.37" in text
    assert "AWS Support (Business) $4,066.96 $4,004.76 +$62.20" in text
    assert view.subject == "Acme Retail: AWS final bill October 2026 $44,298.19 (+$276.57 vs the estimate sent)"
    assert "estimated $17,537.05, final $17,751.42 (+$214.37)" in render_text(report)


def test_a_final_report_with_no_change_says_so():
    report, _ = fx.final_report()
    same = report.restatement.model_copy(  # type: ignore[union-attr]
        update={"sent_total": report.total, "change_amount": Decimal(0), "services": []}
    )
    view = email_view(report.model_copy(update={"restatement": same}))
    assert view.restatement is not None and view.restatement.summary.endswith("Nothing changed.")


@pytest.mark.parametrize("schedule", list(fx.SCHEDULES))
def test_every_section_shows_when_present_and_disappears_when_absent(schedule):
    report, _ = fx.SCHEDULES[schedule]()
    report = report.model_copy(update={"notes": ["Cost Explorer request budget reached: 2 sections from cache."]})
    full, bare = visible_text(render_html(report)), visible_text(render_html(fx.bare(report)))
    sections = {
        "Biggest changes": bool(report.movers_up or report.movers_down),
        "By tag “team”": True,
        "Credits and refunds": True,
        "Open the archived report": True,
        "Cost Explorer request budget reached": True,
        "Accounts: 3 of 4 expected reported costs; none from 444444444444.": True,
        "Anomalies": bool(report.anomalies),
        "Last 6 months": bool(report.monthly_trend),
        "What changed since the estimate": report.restatement is not None,
    }
    for heading, present in sections.items():
        assert (heading in full) == present, heading
        assert heading not in bare, heading
    for always in ("Top services", "Accounts", "Daily cost", "Unblended cost in USD, from AWS Cost Explorer"):
        assert always in full and always in bare
    assert "Cost Explorer requests for this report: 2." in bare  # without coverage, still the request count


def test_anomalies_say_which_rule_fired_and_the_expected_range():
    report, _ = fx.daily_report()
    view = email_view(report)
    text = visible_text(render_html(report, view))
    assert (
        "Sat 14 November 2026: $4,147.46 , expected $1,120.00 – $1,560.00. "
        "Rule: More than 3 standard deviations above the mean of the 14 days before." in text
    )
    assert "Biggest change that day: Amazon Elastic Compute Cloud - Compute" in text
    assert view.chart is not None
    styles = {bar.title.split(":")[0]: bar.style for bar in view.chart.bars}
    assert styles["Sat 14 Nov"] == "anomaly"
    assert ("anomaly", "anomaly") in view.chart.legend


def test_an_anomaly_of_the_period_comes_first_and_an_earlier_one_is_marked_reported_before():
    report, _ = fx.daily_report()  # 26 November; its anomaly is 14 November's
    [earlier] = report.anomalies
    today = earlier.model_copy(update={"date": report.period.start, "amount": Decimal("5000")})
    report = report.model_copy(update={"anomalies": [earlier, today]})

    view = email_view(report)

    assert [(a.day, a.earlier) for a in view.anomalies] == [
        ("Thu 26 November 2026", False),
        ("Sat 14 November 2026", True),
    ]
    text = visible_text(render_html(report, view))
    assert text.index("Thu 26 November 2026: $5,000.00") < text.index("Reported before")
    assert text.index("Reported before") < text.index("Sat 14 November 2026: $4,147.46")
    plain = render_text(report, view)
    assert "- (reported before) Sat 14 November 2026: $4,147.46" in plain
    assert "- Thu 26 November 2026: $5,000.00" in plain


def test_estimated_days_are_marked_only_among_final_ones():
    report, _ = fx.daily_report()
    chart = email_view(report).chart
    assert chart is not None
    assert [bar.style for bar in chart.bars][-2:] == ["estimated", "estimated"]
    assert "Figures of recent days (marked) are estimates" in visible_text(render_html(report))
    assert "Wed 25 Nov: $1,511.46 (estimated)" in render_text(report)
    # The whole month an estimate: the note says it once, the bars are not all orange.
    monthly, _ = fx.monthly_report()
    chart = email_view(monthly).chart
    assert chart is not None and "estimated" not in {bar.style for bar in chart.bars}
    assert "All figures are estimates until AWS finalises" in visible_text(render_html(monthly))


def test_credits_are_their_own_lines_and_say_whether_totals_include_them():
    included, _ = fx.daily_report()
    excluded = included.model_copy(update={"credits_included": False})
    text_in, text_out = visible_text(render_html(included)), visible_text(render_html(excluded))
    assert "Credit −$120.00 −$100.00" in text_in
    assert "Refund −$35.50 $0.00" in text_in
    # Excluded: every figure is before credits; net of them the total would be $1,365.96.
    assert "Not included in the totals above (this client's reports show costs before credits)." in text_out
    assert "Net of them the period cost $1,365.96." in text_out
    assert "Net of them the period cost $1,365.96." in render_text(excluded)
    assert "before credits and refunds" not in text_out  # nothing differs, nothing to qualify


def credited_report(*, include: bool) -> Report:
    """A daily report built by lambdas.logic.report from cost rows and credit rows, as production
    builds it: the totals net of the credits when the client includes them, the tables never."""
    day, previous = date(2026, 11, 26), date(2026, 11, 25)
    client = make_client(account_ids=list(fx.ACCOUNTS), budget="45000.00", include_credits=include)
    rows = fx.cost_rows(date(2026, 11, 1), day)
    credit_rows = [
        CostRow(day, "Credit", "111111111111", Decimal("-120.00")),
        CostRow(day, "Refund", "222222222222", Decimal("-35.50")),
        CostRow(previous, "Credit", "111111111111", Decimal("-100.00")),
    ]
    data = CostData.from_rows(rows, credit_rows=credit_rows, unit="USD")
    month = Period(start=date(2026, 11, 1), end=day)
    window = ReportWindow(
        current=Period(start=day, end=day),
        previous=Period(start=previous, end=previous),
        month_in_progress=False,  # the forecast is set below: this is about credits, not forecasting
        chart=month,
        month_to_date=month,
    )
    report = build_report(
        client,
        window,
        data,
        RunFacts(run_id="r", as_of=date(2026, 11, 27), generated_at=datetime(2026, 11, 27), ce_requests=1),
    )
    return report.model_copy(update={"forecast": Decimal("50000.00"), "forecast_method": "Fixed."})


def test_with_credits_included_the_note_says_which_figures_are_net_and_the_tables_are_captioned():
    report = credited_report(include=True)
    view = email_view(report)
    html, text = visible_text(render_html(report, view)), render_text(report, view)
    # The headline is net: $1,521.46 of services less $155.50 of credits. The tables are not.
    assert report.total == Decimal("1365.96")
    assert sum((line.amount for line in report.by_service), Decimal(0)) == Decimal("1521.46")
    assert sum((line.amount for line in report.by_account), Decimal(0)) == Decimal("1521.46")
    assert report.daily[-1].amount == Decimal("1521.46")
    note = (
        "Included in the headline total, month to date and forecast, which are net of them. "
        "The services and accounts tables and the daily bars show costs before credits and refunds: "
        "$1,521.46 for the period."
    )
    assert note in html and note in text
    assert "Top services before credits and refunds" in html and "Accounts before credits and refunds" in html
    assert "Daily cost before credits and refunds, 1–26 November 2026" in html
    assert "TOP SERVICES BEFORE CREDITS AND REFUNDS (THU 26 NOV VS WED 25 NOV)" in text
    assert "ACCOUNTS BEFORE CREDITS AND REFUNDS (THU 26 NOV VS WED 25 NOV)" in text
    assert "DAILY COST BEFORE CREDITS AND REFUNDS, 1–26 NOVEMBER 2026" in text
    assert "Included in the totals above, which are net of them" not in html  # untrue of the tables
    # A monthly report: no month to date or forecast, but a trend and a breakdown, net as the headline.
    monthly = fx.monthly_report()[0].model_copy(update={"daily": []})
    assert email_view(monthly).credits.note.startswith(  # type: ignore[union-attr]
        "Included in the headline total, monthly trend and breakdown by tag “team”, which are net of them. "
        "The services and accounts tables show costs before credits and refunds: "
    )
    # Without credits there is nothing to be before.
    bare = visible_text(render_html(fx.bare(report)))
    assert "before credits" not in bare and "Top services" in bare
    # A day below zero is not "a credit": the bars never count credits.
    negative = report.daily[-1].model_copy(update={"amount": Decimal("-5.00")})
    chart = email_view(report.model_copy(update={"daily": [*report.daily[:-1], negative]})).chart
    assert chart is not None and ("credit", "below zero") in chart.legend


def test_with_credits_excluded_every_figure_is_before_them_and_the_note_says_so():
    report = credited_report(include=False)
    view = email_view(report)
    html, text = visible_text(render_html(report, view)), render_text(report, view)
    # Totals, tables and bars all before credits: the same $1,521.46.
    assert report.total == sum((line.amount for line in report.by_service), Decimal(0)) == Decimal("1521.46")
    assert report.daily[-1].amount == report.total
    note = (
        "Not included in the totals above (this client's reports show costs before credits). "
        "Net of them the period cost $1,365.96."
    )
    assert note in html and note in text
    assert "before credits and refunds" not in html + text  # nothing differs, nothing to qualify


def test_the_cost_metric_is_named():
    for metric, label in [
        ("UnblendedCost", "Unblended cost"),
        ("AmortizedCost", "Amortized cost"),
        ("NetAmortizedCost", "Net amortized cost"),
    ]:
        report, _ = fx.daily_report(metric=metric)
        text = visible_text(render_html(report))
        assert f"26 November 2026 · {label} · USD" in text
        assert f"{label} in USD, from AWS Cost Explorer" in text


def test_coverage_footer_states_accounts_days_requests_and_key_age():
    report, _ = fx.daily_report()
    coverage = report.coverage.model_copy(update={"key_age_days": 75})  # type: ignore[union-attr]
    text = visible_text(render_html(report.model_copy(update={"coverage": coverage})))
    assert "Accounts: 3 of 4 expected reported costs; none from 444444444444." in text
    assert "Days of data: 26 of 26." in text
    assert "Cost Explorer requests: 2 ($0.02 at $0.01 each); 1 answered from the cache at no cost." in text
    assert "Stored access key age: 75 days (due for rotation)." in text


def test_archive_link_is_a_web_link_with_its_expiry():
    report, _ = fx.daily_report()
    html = render_html(report)
    assert 'href="https://cost-reporting-assets.s3.amazonaws.com/reports/acme/2026-11-27.daily/report.html?' in html
    assert "The link expires 7 days after this email was sent." in visible_text(html)
    hostile = report.model_copy(update={"archive_url": "javascript:alert(1)"})
    assert "javascript:" not in render_html(hostile)
    assert email_view(hostile).archive is None


# --------------------------------------------------------------------------------------------------
# Email that renders everywhere
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("schedule", list(fx.SCHEDULES))
def test_the_html_is_self_contained_inlined_and_has_a_dark_mode(schedule):
    report, _ = fx.SCHEDULES[schedule]()
    html = render_html(report)
    lowered = html.lower()
    assert "<script" not in lowered and "<svg" not in lowered and "<img" not in lowered
    assert "<link" not in lowered and "url(" not in lowered  # nothing loaded from anywhere
    links = [html_lib.unescape(link) for link in re.findall(r'(?:src|href)="([^"]+)"', html)]
    assert links == [report.archive_url]
    assert 'class="total" id="headline-total" style="' in html  # CSS moved inline
    assert "@media (prefers-color-scheme: dark)" in html
    assert '<meta name="color-scheme" content="light dark">' in html
    assert "max-width: 600px" in html
    preheader = re.search(r'<div class="preheader"[^>]*>([^<]+)</div>', html)
    assert preheader is not None and email_view(report).headline.total in preheader.group(1)


@pytest.mark.parametrize("schedule", list(fx.SCHEDULES))
def test_hostile_names_are_escaped_everywhere_and_isolated(schedule):
    report, _ = fx.SCHEDULES[schedule]()
    report = fx.hostile(report)
    html = render_html(report)
    assert "<script" not in html.lower()
    assert "<img" not in html.lower()
    assert "onerror=alert(1)>" not in html
    assert '&lt;script&gt;alert("x")&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;' in html
    # Right-to-left names are isolated so they cannot reorder the figures next to them.
    assert re.search(r'<span dir="auto"[^>]*>' + re.escape(fx.HOSTILE_RTL), html)
    assert fx.HOSTILE_EMOJI in html and fx.HOSTILE_LONG in html
    # The subject keeps the name as typed (a header, not HTML); the HTML <title> escapes it.
    assert "&lt;script&gt;" in html.split("</title>")[0]


def test_long_names_can_wrap_anywhere():
    html = render_html(fx.hostile(fx.daily_report()[0]))
    # The 300-character name sits in cells that may break it; the browser test proves the layout.
    cell = re.search(r'<td class="name" style="([^"]+)"><span dir="auto"[^>]*>x{300}', html)
    assert cell is not None and "overflow-wrap: anywhere" in cell.group(1)


# --------------------------------------------------------------------------------------------------
# Plain text alternative
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("schedule", list(fx.SCHEDULES))
def test_text_alternative_tells_the_same_story(schedule):
    report, _ = fx.SCHEDULES[schedule]()
    view = email_view(report)
    text = render_text(report, view)
    assert f"{view.headline.title}: {view.headline.total}" in text
    assert f"{view.headline.change} {view.headline.comparison}" in text
    for row in view.services + view.accounts:
        assert row.name in text and row.amount in text
    for mover in view.movers_up + view.movers_down:
        assert f"{mover.name} {mover.change}" in text
    for line in view.coverage:
        assert line in text
    assert f"Archived report: {report.archive_url}" in text
    if view.forecast:
        assert "FORECAST AND BUDGET" in text
        assert f"Forecast for {view.forecast.month}: {view.forecast.amount}. Method: " in text
    if view.budget:
        assert f"Monthly budget: {view.budget.amount}\n" in text
        assert view.budget.caption in text and view.budget.exceeded in text
    assert "<" not in text.replace("<script", "")  # no markup leaks into the text
    assert view.footer in text


def test_text_alternative_shows_hostile_names_as_typed():
    report = fx.hostile(fx.daily_report()[0])
    text = render_text(report)
    assert fx.HOSTILE_HTML in text  # plain text is not HTML: nothing to escape
    assert "&lt;" not in text


def test_subject_is_one_line():
    report = fx.hostile(fx.daily_report()[0])
    assert "\n" not in email_view(report).subject


# --------------------------------------------------------------------------------------------------
# CSV
# --------------------------------------------------------------------------------------------------


def test_csv_covers_the_reported_period_by_account_and_service_and_neutralises_formulas():
    report, rows = fx.daily_report()
    rows = [*rows, CostRow(date(2026, 11, 26), '=HYPERLINK("http://x")', "111111111111", Decimal("1"))]
    report = report.model_copy(update={"total": report.total})
    parsed = list(csv.DictReader(io.StringIO(render_csv(report, rows))))
    assert {row["date"] for row in parsed} == {"2026-11-26"}  # the period; the chart's days are in the email
    assert len(parsed) == len(fx.SERVICES) * len(fx.ACCOUNTS) + 1
    hyperlink = next(row for row in parsed if "HYPERLINK" in row["service"])
    assert hyperlink["service"].startswith("'=")
    assert {row["estimated"] for row in parsed} == {"true"}
    day_26 = sum(Decimal(row["amount"]) for row in parsed) - 1
    assert day_26 == report.total


def test_anomaly_rule_gets_a_full_stop_once():
    report, _ = fx.daily_report()
    anomaly = Anomaly(
        date=fx.SPIKE_DAY,
        amount=Decimal(5),
        expected_low=Decimal(1),
        expected_high=Decimal(2),
        rule="Above the 14-day range.",
    )
    view = email_view(report.model_copy(update={"anomalies": [anomaly]}))
    assert view.anomalies[0].rule == "Above the 14-day range."


def test_the_drivers_line_follows_the_direction_of_the_change():
    report, _ = fx.weekly_report()  # down 23.0 %, mostly the EC2 spike of the week before
    assert email_view(report).headline.drivers == (
        "Biggest decreases: Amazon Elastic Compute Cloud - Compute −$2,977.14, "
        "Amazon Relational Database Service −$6.26."
    )
    assert email_view(fx.bare(report)).headline.drivers == ""  # no movers, no claim
    flat = report.model_copy(update={"change_amount": Decimal(0)})
    assert email_view(flat).headline.drivers == ""


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("X-Amz-Expires=604800", "The link expires 7 days after this email was sent."),
        ("X-Amz-Expires=3600", "The link expires 1 hour after this email was sent."),
        ("X-Amz-Expires=900", "The link expires 15 minutes after this email was sent."),
        # SigV2: an epoch time; the fixture report was generated at 2026-11-27 06:00 UTC.
        ("Expires=1796018400", "The link expires 3 days after this email was sent."),
        ("Signature=x", ""),
    ],
)
def test_link_expiry_in_words(query, expected):
    report, _ = fx.daily_report(archive_url=f"https://bucket.s3.amazonaws.com/r/report.html?{query}")
    view = email_view(report)
    assert view.archive is not None and view.archive.expiry == expected


def test_a_report_without_daily_points_has_no_chart_and_still_renders():
    report = fx.bare(fx.daily_report()[0]).model_copy(update={"daily": []})
    view = email_view(report)
    assert view.chart is None
    text = visible_text(render_html(report, view))
    assert "Daily cost" not in text and "$1,521.46" in text
    assert "DAILY COST" not in render_text(report, view)
