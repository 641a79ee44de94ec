"""The dispatcher's job: one queued run per active client due on the schedule that fired."""

from __future__ import annotations

from datetime import date

from lambdas.dal.clients_table import ClientsTable
from lambdas.dal.jobs_queue import JobsQueue
from lambdas.models.events import ReportJob


def dispatch_due(schedule: str, as_of: date, clients: ClientsTable, queue: JobsQueue) -> list[ReportJob]:
    jobs = [ReportJob.scheduled(client_id, schedule, as_of) for client_id in clients.due(schedule)]
    queue.send(jobs)
    return jobs
