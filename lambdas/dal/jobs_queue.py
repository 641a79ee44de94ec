"""The SQS jobs queue between the dispatcher and the worker."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lambdas.dal.aws import PlatformAdapter
from lambdas.models.events import ReportJob
from lambdas.models.exceptions import DependencyError

BATCH = 10  # SQS SendMessageBatch limit


class JobsQueue(PlatformAdapter):
    SERVICE = "sqs"

    def __init__(self, queue_url: str, client: Any | None = None) -> None:
        super().__init__(client)
        self.queue_url = queue_url

    def send(self, jobs: Iterable[ReportJob]) -> int:
        """Enqueue every job; entries SQS refuses are retried once, then reported."""
        sent = 0
        batch: list[ReportJob] = []
        for job in jobs:
            batch.append(job)
            if len(batch) == BATCH:
                sent += self._send_batch(batch)
                batch = []
        if batch:
            sent += self._send_batch(batch)
        return sent

    def _send_batch(self, jobs: list[ReportJob], retry: bool = True) -> int:
        entries = [{"Id": str(i), "MessageBody": job.model_dump_json()} for i, job in enumerate(jobs)]
        response = self.client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
        failed = [jobs[int(entry["Id"])] for entry in response.get("Failed", [])]
        if failed and retry:
            return len(jobs) - len(failed) + self._send_batch(failed, retry=False)
        if failed:
            raise DependencyError(f"SQS refused {len(failed)} job(s) after a retry")
        return len(jobs)
