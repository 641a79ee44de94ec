import csv
import email
import io
from datetime import UTC, date, datetime

from lambdas.logic.message import build_message
from lambdas.logic.periods import month_to_date
from lambdas.logic.render import period_label, render_csv, render_html, render_text, subject
from lambdas.logic.report import build_report
from lambdas.models.report import Period
from tests.unit.factories import cost_data, make_client

HOSTILE = '<script>alert("x")</script>'


def hostile_report():
    client = make_client(name="Evil " + HOSTILE[:40], budget="100")
    rows = [
        ("2026-11-01", HOSTILE, "111111111111", "12.34"),
        ("2026-11-02", '=HYPERLINK("http://x")', "222222222222", "1"),
        ("2026-10-01", "Amazon S3", "111111111111", "3"),
    ]
    data = cost_data(rows, estimated={"2026-11-02"})
    data.account_names = {"111111111111": "<b>prod</b>"}
    report = build_report(
        client,
        month_to_date(date(2026, 11, 3)),
        data,
        run_id="2026-11-03.daily",
        as_of=date(2026, 11, 3),
        generated_at=datetime(2026, 11, 3, 6, tzinfo=UTC),
        ce_requests=1,
    )
    return report, data


def test_names_holding_markup_are_escaped_in_the_html():
    report, _ = hostile_report()
    html = render_html(report)
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert "<b>prod</b>" not in html
    assert "&lt;b&gt;prod&lt;/b&gt;" in html


def test_css_is_inlined_and_there_is_no_script_or_svg():
    report, _ = hostile_report()
    html = render_html(report)
    assert 'style="' in html
    assert "<svg" not in html.lower()
    assert "<script" not in html.lower()
    assert 'id="headline-total"' in html


def test_text_alternative_holds_the_headline_figures_unescaped():
    report, _ = hostile_report()
    text = render_text(report)
    assert "Total 1–2 November 2026: $13.34" in text
    assert "Forecast to month end" in text
    assert HOSTILE in text  # plain text is not HTML: shown as typed, nothing to escape
    assert "estimates" in text


def test_csv_has_one_row_per_day_account_and_service_and_neutralises_formulas():
    report, data = hostile_report()
    rows = list(csv.DictReader(io.StringIO(render_csv(report, data.rows))))
    assert len(rows) == 2
    assert rows[0]["service"] == HOSTILE
    assert rows[1]["service"].startswith("'=")
    assert rows[1]["estimated"] == "true"
    assert sum(float(r["amount"]) for r in rows) == 13.34


def test_message_has_text_html_and_csv_parts():
    report, data = hostile_report()
    raw = build_message(
        report,
        sender="reports@example.com",
        recipients=["a@example.com"],
        subject=subject(report),
        html=render_html(report),
        text=render_text(report),
        csv_data=render_csv(report, data.rows),
    )
    message = email.message_from_bytes(raw)
    types = [part.get_content_type() for part in message.walk()]
    assert types[0] == "multipart/mixed"
    assert {"text/plain", "text/html", "text/csv"} <= set(types)
    attachment = next(p for p in message.walk() if p.get_content_type() == "text/csv")
    assert attachment.get_filename() == "acme-2026-11-01-2026-11-02.csv"


def test_period_labels():
    assert period_label(Period(start=date(2026, 11, 1), end=date(2026, 11, 26))) == "1–26 November 2026"
    assert period_label(Period(start=date(2026, 11, 5), end=date(2026, 11, 5))) == "5 November 2026"
    assert period_label(Period(start=date(2026, 10, 28), end=date(2026, 11, 3))) == "28 Oct – 3 Nov 2026"
