"""Handing delegated tasks to the OpenClaw workers through RQ (queue `openclaw`), from the
router (a new task) or from whoever finds a task whose worker died (its next run).

RQ is synchronous; its calls take about a millisecond, so they run in a thread rather than
blocking the router's event loop.
"""

import asyncio

import redis
from rq import Queue
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus

from shared import keys
from shared.tasks import TASK_JOB, TaskRecord, job_id

JOB_TIMEOUT_MARGIN_SECONDS = 120
"""RQ's job timeout is the task deadline plus this, so the task's own deadline fires first."""
RESULT_TTL_SECONDS = 24 * 3600
FAILURE_TTL_SECONDS = 7 * 24 * 3600


class TaskQueue:
    """Enqueues and cancels OpenClaw task jobs."""

    def __init__(self, redis_url: str, task_timeout: float) -> None:
        self.connection = redis.Redis.from_url(redis_url, socket_connect_timeout=5)
        self.queue = Queue(keys.OPENCLAW_QUEUE, connection=self.connection)
        self.job_timeout = int(task_timeout + JOB_TIMEOUT_MARGIN_SECONDS)

    async def enqueue(self, record: TaskRecord) -> None:
        """Enqueue the task's next run (the first has the task id as job id). The caller makes
        sure a run is enqueued once (HSETNX of the record; a claim for a rerun)."""
        await asyncio.to_thread(self._enqueue, record)

    def _enqueue(self, record: TaskRecord) -> None:
        self.queue.enqueue(
            TASK_JOB,
            record.session_id,
            record.task_id,
            job_id=job_id(record.task_id, record.attempts + 1),
            job_timeout=self.job_timeout,
            result_ttl=RESULT_TTL_SECONDS,
            failure_ttl=FAILURE_TTL_SECONDS,
            description=f"openclaw task: {record.label}",
        )

    async def cancel_if_queued(self, record: TaskRecord) -> bool:
        """Take a run no worker has started off the queue; False if it already started."""
        return await asyncio.to_thread(self._cancel_if_queued, record)

    def _cancel_if_queued(self, record: TaskRecord) -> bool:
        try:
            job = Job.fetch(job_id(record.task_id, record.attempts + 1), connection=self.connection)
        except NoSuchJobError:
            return False
        if job.get_status() != JobStatus.QUEUED:
            return False
        try:
            job.cancel()
        except InvalidJobOperation:  # a worker took it meanwhile; it will see the cancel flag
            return False
        return True
