"""The HTML email: the view rendered by the Jinja2 template (autoescaped) with the CSS inlined.
It needs no JavaScript, SVG or image: charts are table cells whose sizes are the bars, which
every mail client renders. Templates stay in lambdas/templates."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from lambdas.logic.render.view import email_view
from lambdas.logic.render.view_model import CHART_HEIGHT_PX, EmailView
from lambdas.models.report import Report

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@lru_cache(maxsize=1)
def _environment() -> Environment:
    # Autoescape on for every template: client, account, service and tag names are untrusted text.
    return Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined, trim_blocks=True)


@lru_cache(maxsize=1)
def _inliner() -> css_inline.CSSInliner:
    # @media rules (dark mode, narrow screens) stay in <style>; everything else moves inline.
    return css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


def render_html(report: Report, view: EmailView | None = None) -> str:
    view = view or email_view(report)
    html = _environment().get_template("report.html.j2").render(view=view, chart_height=CHART_HEIGHT_PX)
    return _inliner().inline(html)
