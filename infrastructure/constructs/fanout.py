"""SQS fan-out between the dispatcher and the workers (the Cost Explorer worker's jobs queue, the
export worker's export jobs queue), and the dead-letter queues that keep what failed every retry."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infrastructure.config import EXPORT_WORKER_BATCH, MAX_RECEIVES, WORKER_BATCH, EnvironmentConfig

# SQS keeps a message 14 days at most: the longest window operators get to redrive a failure.
RETENTION = Duration.days(14)
# MAX_RECEIVES: a run that failed this many receives (throttling or 5xx outliving boto3's retries
# each time) goes to the dead-letter queue. WORKER_BATCH runs per invocation: the dispatcher
# queues the clients that share a payer next to each other (lambdas/orchestration/dispatch.py), so
# they share a batch and, run in order by one worker, the first run's Cost Explorer answer is in
# the cache for the others. Both in infrastructure/config.py, which the emulator reads too.
# Cost Explorer's request rate is per calling account. Clients that share a payer share its
# quota, so the worst case is every client behind one payer: 5 concurrent workers, each running
# its batch one client at a time with about one request (plus pages) per run, stay at a few
# requests a second, and boto3's adaptive retries absorb bursts. Throughput at 1 to 3 s a run:
# 10,000 clients in one to two hours, well inside a day.
MAX_CONCURRENCY = 5
# The export worker reads the payer's export from S3, not Cost Explorer: no API rate to share. Each
# instance holds up to 6 GB while it reads (infrastructure/config.py); 5 at once bound what a burst of
# large clients costs and takes from the account's concurrency, and 100 export clients a day at a
# minute each still finish in 20 minutes.
EXPORT_MAX_CONCURRENCY = 5


class FanOut(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        key: kms.IKey,
        worker_timeout: Duration,
        export_worker_timeout: Duration,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = self._queue("JobsDeadLetterQueue", config.dead_letter_queue, key)
        self.jobs_queue = self._queue(
            "JobsQueue",
            config.jobs_queue,
            key,
            # AWS's guidance for Lambda event sources: six times the function timeout, so a message
            # is not redelivered while a retried invocation may still be working on it.
            visibility_timeout=Duration.seconds(worker_timeout.to_seconds() * 6),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=MAX_RECEIVES, queue=self.dead_letter_queue),
        )
        # The same pattern for the data_exports clients' runs (lambdas/orchestration/dispatch.py routes them).
        self.export_dead_letter_queue = self._queue("ExportJobsDeadLetterQueue", config.export_dead_letter_queue, key)
        self.export_jobs_queue = self._queue(
            "ExportJobsQueue",
            config.export_jobs_queue,
            key,
            visibility_timeout=Duration.seconds(export_worker_timeout.to_seconds() * 6),
            dead_letter_queue=sqs.DeadLetterQueue(max_receive_count=MAX_RECEIVES, queue=self.export_dead_letter_queue),
        )
        self.events_dead_letter_queue = self._queue("EventsDeadLetterQueue", config.events_dead_letter_queue, key)

    def feed(self, worker: lambda_.Function) -> None:
        """The worker consumes the jobs queue in batches, reporting which runs of a batch failed."""
        worker.add_event_source(
            sources.SqsEventSource(
                self.jobs_queue,
                batch_size=WORKER_BATCH,
                report_batch_item_failures=True,
                max_concurrency=MAX_CONCURRENCY,
            )
        )

    def feed_exports(self, export_worker: lambda_.Function) -> None:
        """The export worker consumes the export jobs queue one run per invocation (EXPORT_WORKER_BATCH)."""
        export_worker.add_event_source(
            sources.SqsEventSource(
                self.export_jobs_queue,
                batch_size=EXPORT_WORKER_BATCH,
                report_batch_item_failures=True,
                max_concurrency=EXPORT_MAX_CONCURRENCY,
            )
        )

    def _queue(
        self,
        construct_id: str,
        name: str,
        key: kms.IKey,
        *,
        visibility_timeout: Duration | None = None,
        dead_letter_queue: sqs.DeadLetterQueue | None = None,
    ) -> sqs.Queue:
        return sqs.Queue(
            self,
            construct_id,
            queue_name=name,
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=key,
            data_key_reuse=Duration.hours(1),  # fewer KMS calls; the key is still the project's
            enforce_ssl=True,
            retention_period=RETENTION,
            visibility_timeout=visibility_timeout,
            dead_letter_queue=dead_letter_queue,
        )
