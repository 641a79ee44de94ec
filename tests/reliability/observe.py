"""What an operator would see of a run: the handlers' JSON log lines and their EMF metrics, and
what the platform holds: sent mail, archived objects, execution records."""

from __future__ import annotations

import email
import io
import json
from collections import Counter
from typing import Any

from lambdas.dal.archive import ReportArchive
from lambdas.dal.executions_table import ExecutionsTable
from lambdas.models.execution import ExecutionRecord
from lambdas.models.settings import get_settings
from tests.integration.helpers import sent_messages


class LogCapture:
    """The Powertools logger's lines (JSON, one per line), as CloudWatch Logs would receive them."""

    def __init__(self) -> None:
        from lambdas.observability import logs_to

        self.buffer = io.StringIO()
        self._capture = logs_to(self.buffer)
        self._capture.__enter__()

    def close(self) -> None:
        self._capture.__exit__(None, None, None)

    @property
    def text(self) -> str:
        return self.buffer.getvalue()

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def marked(self, marker: str) -> list[dict[str, Any]]:
        """Lines a CloudWatch filter pattern of `marker` finds (a term anywhere in the line)."""
        return [json.loads(line) for line in self.text.splitlines() if marker in line]


def emf_metrics(stdout: str) -> Counter[str]:
    """Sum of every EMF metric printed to stdout (Powertools flushes them at the handler's end)."""
    totals: Counter[str] = Counter()
    for line in stdout.splitlines():
        if not line.startswith("{") or '"_aws"' not in line:
            continue
        document = json.loads(line)
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                value = document[metric["Name"]]
                totals[metric["Name"]] += int(sum(value) if isinstance(value, list) else value)
    return totals


def mail_to(endpoint_url: str, address: str) -> list[email.message.Message]:
    """Messages SES accepted for `address`."""
    return [
        email.message_from_string(message["raw"])
        for message in sent_messages(endpoint_url)
        if address in message["destinations"]
    ]


def archived(client_id: str, run_id: str | None = None) -> list[str]:
    prefix = f"reports/{client_id}/" + (f"{run_id}/" if run_id else "")
    return sorted(ReportArchive(get_settings().assets_bucket).list(prefix))


def record(client_id: str, run_id: str) -> ExecutionRecord | None:
    return ExecutionsTable(get_settings().executions_table).get(client_id, run_id)


def records(client_id: str) -> list[ExecutionRecord]:
    return ExecutionsTable(get_settings().executions_table).history(client_id)


ARCHIVE_FILES = ("report.csv", "report.html", "report.json", "report.txt")


def archive_of(client: Any, run_id: str) -> list[str]:
    """The keys one run of `client` archives: the report in every format (a workbook when asked)."""
    names = [*ARCHIVE_FILES, "report.xlsx"] if client.attach_xlsx else list(ARCHIVE_FILES)
    return sorted(f"reports/{client.client_id}/{run_id}/{name}" for name in names)
