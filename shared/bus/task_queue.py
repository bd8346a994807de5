"""Handing delegated tasks to the OpenClaw workers through RQ (queue `openclaw`), from the
router (a new task) or from whoever finds a task whose worker died (its next run).

RQ is synchronous; its calls take about a millisecond, so they run in a thread rather than
blocking the router's event loop.

Jobs are data: they are stored as JSON (RQ's default, pickle, runs whatever code a payload hides
when it is read), and a worker runs only the task function, with arguments that parse as a
session id and a task id (see `task_arguments`).
"""

import asyncio
from dataclasses import dataclass
from typing import Annotated

import redis
from pydantic import Field, TypeAdapter, ValidationError
from rq import Queue
from rq.exceptions import DeserializationError, InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer

from shared.bus import keys
from shared.bus.tasks import TASK_JOB, TaskRecord, job_id
from shared.messages import SessionId

JOB_TIMEOUT_MARGIN_SECONDS = 120
"""RQ's job timeout is the task deadline plus this, so the task's own deadline fires first."""
RESULT_TTL_SECONDS = 24 * 3600
FAILURE_TTL_SECONDS = 7 * 24 * 3600
JOB_SERIALIZER = JSONSerializer
"""How every job of the `openclaw` queue is stored, by the router and the workers alike."""
_TASK_ARGUMENTS: TypeAdapter[tuple[str, str]] = TypeAdapter(
    tuple[SessionId, Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]]
)
"""A task job's arguments: the session id, then the task id."""


class RefusedJob(Exception):
    """A job on the queue that is not a delegated task as the router enqueues it."""


def task_arguments(job: Job) -> tuple[str, str]:
    """(session id, task id) of a task job; RefusedJob (with the reason) for anything else: a
    payload that is not JSON, another function, extra arguments, malformed ids."""
    try:
        func_name, instance, args, kwargs = job.func_name, job.instance, job.args, job.kwargs
    except DeserializationError:
        raise RefusedJob("its payload is not JSON") from None
    if func_name != TASK_JOB or instance is not None:
        raise RefusedJob(f"it names {str(func_name)[:100]!r}, not {TASK_JOB}")
    if kwargs:
        raise RefusedJob("it has keyword arguments")
    try:
        session_id, task_id = _TASK_ARGUMENTS.validate_python(tuple(args or ()))
    except (ValidationError, TypeError):
        raise RefusedJob("its arguments are not a session id and a task id") from None
    return session_id, task_id


def openclaw_queue(connection: redis.Redis, name: str = keys.OPENCLAW_QUEUE) -> Queue:
    """An OpenClaw task queue (by default `openclaw`), storing jobs as JSON."""
    return Queue(name, connection=connection, serializer=JOB_SERIALIZER)


def openclaw_queues(connection: redis.Redis) -> list[Queue]:
    """The task queues in the order a worker takes from them: a session's first open task
    before any session's further ones (RQ dequeues from the first non-empty queue)."""
    return [openclaw_queue(connection, name) for name in TASK_QUEUES]


TASK_QUEUES = (keys.OPENCLAW_QUEUE, keys.OPENCLAW_MORE_QUEUE)


@dataclass(frozen=True)
class TaskQuota:
    """How much of the slow path one session may take (BOT_MAX_OPEN_TASKS,
    BOT_TASKS_PER_HOUR)."""

    max_open: int = 3
    per_hour: int = 30


def fetch_job(job_id: str, connection: redis.Redis) -> Job:
    return Job.fetch(job_id, connection=connection, serializer=JOB_SERIALIZER)


def rq_connection(redis_url: str) -> redis.Redis:
    """A blocking client for RQ (which is synchronous) to the Redis at `redis_url`."""
    return redis.Redis.from_url(redis_url, socket_connect_timeout=5)


class TaskQueue:
    """Enqueues and cancels OpenClaw task jobs over `connection` (`rq_connection`)."""

    def __init__(
        self, connection: redis.Redis, task_timeout: float, quota: TaskQuota | None = None
    ) -> None:
        self.connection = connection
        self.queue, self.more_queue = openclaw_queues(self.connection)
        self.job_timeout = int(task_timeout + JOB_TIMEOUT_MARGIN_SECONDS)
        self.quota = quota or TaskQuota()

    async def enqueue(self, record: TaskRecord, behind_others: bool = False) -> None:
        """Enqueue the task's next run (the first has the task id as job id); with
        `behind_others` (its session has another open task) on the queue workers take from
        only when no session's first task waits. The caller makes sure a run is enqueued once
        (HSETNX of the record; a claim for a rerun)."""
        await asyncio.to_thread(self._enqueue, record, behind_others)

    def _enqueue(self, record: TaskRecord, behind_others: bool) -> None:
        queue = self.more_queue if behind_others else self.queue
        queue.enqueue(
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
            job = fetch_job(job_id(record.task_id, record.attempts + 1), self.connection)
        except NoSuchJobError:
            return False
        if job.get_status() != JobStatus.QUEUED:
            return False
        try:
            job.cancel()
        except InvalidJobOperation:  # a worker took it meanwhile; it will see the cancel flag
            return False
        # The task record keeps the outcome; RQ keeps cancelled jobs (and its registry of them)
        # with no expiry, so the job goes.
        job.delete()
        return True
