"""Short summaries of a report for chat channels: Slack and Microsoft Teams incoming webhooks.

Pure: a report in, the JSON payload out. The words and figures are the email's own
(render.email_view), so every channel tells the same story: what was spent, the change, where
the month will end against the budget, what stood out, and the link to the archived report.

Names come from clients and AWS accounts: they are escaped for each channel's markup so a name
cannot become a link, a mention or formatting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lambdas.logic.render.view import email_view
from lambdas.logic.render.view_model import EmailView
from lambdas.models.report import Report

SLACK_HEADER_MAX = 150  # Block Kit limits
SLACK_TEXT_MAX = 3000
SLACK_URL_MAX = 3000
MOVERS_SHOWN = 2
ANOMALIES_SHOWN = 3


@dataclass(frozen=True)
class Summary:
    title: str  # "Acme Retail · Daily AWS cost report"
    headline: str  # "Yesterday, Thu 26 November 2026"
    total: str
    facts: tuple[tuple[str, str], ...]  # (label, value), label never untrusted
    highlights: tuple[str, ...]  # anomalies and biggest changes, may hold names
    context: str
    archive_url: str | None
    fallback: str  # one line for notifications and clients that show no blocks


def summary(report: Report, view: EmailView | None = None) -> Summary:
    view = view or email_view(report)
    h = view.headline
    facts: list[tuple[str, str]] = [("Change", f"{h.change} {h.comparison}")]
    facts += [(figure.label, figure.amount) for figure in h.extra]
    if view.restatement is not None:
        facts.append(("Against the estimate sent", f"{view.restatement.sent_total} → {view.restatement.final_total}"))
    if view.forecast is not None:
        facts.append((f"Forecast for {view.forecast.month}", view.forecast.amount))
    if view.budget is not None:
        b = view.budget
        facts.append(("Monthly budget", f"{b.amount}: {b.basis.lower()} is {b.percent}% of it, {b.status}"))
        if b.exceeded:
            facts.append(("Over budget", b.exceeded))
    if report.cost_source == "data_exports":
        facts.append(("Source", view.source))
    highlights = [
        f"Anomaly {a.day}: {a.amount}, expected {a.expected}" + (f" ({a.service})" if a.service else "")
        for a in [a for a in view.anomalies if not a.earlier][:ANOMALIES_SHOWN]  # a summary: news only
    ]
    highlights += [f"Up: {m.name} {m.change} ({m.change_percent})" for m in view.movers_up[:MOVERS_SHOWN]]
    highlights += [f"Down: {m.name} {m.change} ({m.change_percent})" for m in view.movers_down[:MOVERS_SHOWN]]
    context = f"{view.period} · {view.metric_label} · {view.currency}"
    if view.estimate_note:
        context += " · " + view.estimate_note
    return Summary(
        title=f"{view.client_name} · {view.eyebrow}",
        headline=f"Partial report (incomplete) · {h.title}" if view.partial else h.title,
        total=h.total,
        facts=tuple(facts),
        highlights=tuple(highlights),
        context=context,
        archive_url=view.archive.url if view.archive else None,
        fallback=view.subject,
    )


# --------------------------------------------------------------------------------------------------
# Slack: incoming webhook, Block Kit
# --------------------------------------------------------------------------------------------------


def slack_escape(text: str) -> str:
    # Slack's own rule: &, < and > are control characters of its markup (links, mentions).
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_payload(report: Report, view: EmailView | None = None) -> dict[str, Any]:
    s = summary(report, view)
    fields = [{"type": "mrkdwn", "text": _clip(f"*{s.headline}*\n{s.total}", 2000)}]
    fields += [
        {"type": "mrkdwn", "text": _clip(f"*{slack_escape(label)}*\n{slack_escape(value)}", 2000)}
        for label, value in s.facts
    ]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(s.title, SLACK_HEADER_MAX), "emoji": False}},
        # A section holds at most 10 fields.
        *({"type": "section", "fields": fields[start : start + 10]} for start in range(0, len(fields), 10)),
    ]
    if s.highlights:
        text = "\n".join(f"• {slack_escape(line)}" for line in s.highlights)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, SLACK_TEXT_MAX)}})
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(slack_escape(s.context), 2000)}]})
    if s.archive_url and len(s.archive_url) <= SLACK_URL_MAX:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "Open the report"},
                        "url": s.archive_url,
                        "action_id": "open_report",
                    }
                ],
            }
        )
    return {"text": _clip(slack_escape(s.fallback), SLACK_TEXT_MAX), "blocks": blocks}


# --------------------------------------------------------------------------------------------------
# Microsoft Teams: incoming webhook (Workflows or connector), Adaptive Card
# --------------------------------------------------------------------------------------------------

# Adaptive Card TextBlocks and facts render a small Markdown subset: bold, italic, lists and
# [links](url). Escaping these characters keeps a name text; amounts never contain them.
_MARKDOWN = re.compile(r"([\\*_\[\]])")


def teams_escape(text: str) -> str:
    return _MARKDOWN.sub(r"\\\1", text)


def teams_payload(report: Report, view: EmailView | None = None) -> dict[str, Any]:
    s = summary(report, view)
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": teams_escape(s.title), "weight": "Bolder", "size": "Medium", "wrap": True},
        {"type": "TextBlock", "text": teams_escape(s.headline), "isSubtle": True, "spacing": "Small", "wrap": True},
        {
            "type": "TextBlock",
            "text": teams_escape(s.total),
            "size": "ExtraLarge",
            "weight": "Bolder",
            "spacing": "None",
        },
        {"type": "FactSet", "facts": [{"title": teams_escape(k), "value": teams_escape(v)} for k, v in s.facts]},
    ]
    body += [
        {"type": "TextBlock", "text": teams_escape(line), "wrap": True, "spacing": "Small"} for line in s.highlights
    ]
    body.append({"type": "TextBlock", "text": teams_escape(s.context), "isSubtle": True, "size": "Small", "wrap": True})
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "msteams": {"width": "Full"},
    }
    if s.archive_url:
        card["actions"] = [{"type": "Action.OpenUrl", "title": "Open the report", "url": s.archive_url}]
    return {
        "type": "message",
        "summary": s.fallback,
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


PAYLOADS = {"slack": slack_payload, "teams": teams_payload}
