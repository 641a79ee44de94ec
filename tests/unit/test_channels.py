"""Slack and Teams payloads: the headline figures and the archive link, names escaped, within limits."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from lambdas.logic.render.chat import slack_escape, slack_payload, summary, teams_escape, teams_payload
from tests.unit import report_fixtures as fx


def slack_text(payload) -> str:
    """Every string Slack parses as markup (mrkdwn); plain_text is shown as typed."""
    texts = [payload["text"]]
    for block in payload["blocks"]:
        if "text" in block and block["text"]["type"] == "mrkdwn":
            texts.append(block["text"]["text"])
        texts += [field["text"] for field in block.get("fields", [])]
        texts += [element.get("text", "") for element in block.get("elements", []) if block["type"] == "context"]
    return "\n".join(texts)


def test_slack_summary_has_the_headline_figures_and_the_archive_link():
    report, _ = fx.daily_report()
    payload = slack_payload(report)
    text = slack_text(payload)
    assert payload["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Acme Retail · Daily AWS cost report", "emoji": False},
    }
    assert "*Yesterday, Thu 26 November 2026*\n$1,521.46" in text
    assert "*Change*\n+$10.00 (+0.7%) vs $1,511.46 on Wed 25 November 2026" in text
    assert "*Month to date*\n$40,293.50" in text
    assert "*Forecast for November 2026*\n$46,492.50" in text
    assert "*Monthly budget*\n$45,000.00: forecast is 103% of it, $1,492.50 over" in text
    # 14 November's anomaly was news in that day's message: not repeated in every daily one after it
    assert "Anomaly" not in text
    fresh = report.model_copy(
        update={"anomalies": [a.model_copy(update={"date": report.period.start}) for a in report.anomalies]}
    )
    assert "Anomaly Thu 26 November 2026: $4,147.46, expected $1,120.00 – $1,560.00" in slack_text(slack_payload(fresh))
    button = payload["blocks"][-1]["elements"][0]
    assert button["url"] == report.archive_url and button["type"] == "button"
    assert payload["text"].startswith("Acme Retail: AWS costs $1,521.46 yesterday")


def test_slack_escapes_its_control_characters_in_names():
    report = fx.hostile(fx.daily_report()[0])
    payload = slack_payload(report)
    text = slack_text(payload)
    assert "<script>" not in text and "<img" not in text
    assert "&lt;script&gt;" in text
    assert payload["blocks"][0]["text"]["type"] == "plain_text"  # the name in the header is not markup
    assert slack_escape("a & <b|c> @here") == "a &amp; &lt;b|c&gt; @here"
    # Block Kit limits hold whatever the names.
    assert len(payload["blocks"][0]["text"]["text"]) <= 150
    for block in payload["blocks"]:
        assert len(block.get("fields", [])) <= 10
        assert all(len(field["text"]) <= 2000 for field in block.get("fields", []))
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000
    json.dumps(payload)


def test_slack_without_archive_link_has_no_button():
    report = fx.bare(fx.daily_report()[0])
    payload = slack_payload(report)
    assert all(block["type"] != "actions" for block in payload["blocks"])


def test_teams_adaptive_card_has_the_figures_and_the_link():
    report, _ = fx.final_report()
    payload = teams_payload(report)
    assert payload["type"] == "message"
    attachment = payload["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    texts = [item["text"] for item in card["body"] if item["type"] == "TextBlock"]
    assert texts[:3] == ["Acme Retail · Final AWS bill", "Final bill, October 2026", "$44,298.19"]
    facts = {
        fact["title"]: fact["value"] for item in card["body"] if item["type"] == "FactSet" for fact in item["facts"]
    }
    assert facts["Against the estimate sent"] == "$44,021.62 → $44,298.19"
    assert facts["Monthly budget"] == "$45,000.00: spend is 98% of it, $701.81 left"
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open the report", "url": report.archive_url}]


def test_teams_escapes_markdown_in_names():
    assert teams_escape("[click](https://evil.example) **bold** _it_") == (
        r"\[click\](https://evil.example) \*\*bold\*\* \_it\_"
    )
    report = fx.daily_report()[0].model_copy(update={"client_name": "[Acme](https://evil.example)"})
    card = teams_payload(report)["attachments"][0]["content"]
    assert card["body"][0]["text"].startswith(r"\[Acme\](https://evil.example)")


@pytest.mark.parametrize("schedule", list(fx.SCHEDULES))
def test_every_schedule_summarises_with_the_emails_own_words(schedule):
    report, _ = fx.SCHEDULES[schedule]()
    s = summary(report)
    assert s.total in slack_text(slack_payload(report))
    assert json.dumps(teams_payload(report))  # serialisable
    assert s.fallback.startswith("Acme Retail: AWS")


def test_a_month_already_over_budget_says_so_in_the_chat_summary():
    report = fx.daily_report()[0]
    assert report.month_to_date is not None
    over = report.model_copy(update={"budget": (report.month_to_date / 2).quantize(Decimal("0.01"))})
    facts = {
        fact["title"]: fact["value"]
        for item in teams_payload(over)["attachments"][0]["content"]["body"]
        if item["type"] == "FactSet"
        for fact in item["facts"]
    }
    assert facts["Over budget"].startswith("Already over budget: month to date is ")
    assert "Over budget" not in str(teams_payload(report))
