"""Delegated tasks: the record both the router and the OpenClaw workers keep of each one."""

import json
import logging
import time

import redis.asyncio as aioredis
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from shared.bus import keys
from shared.bus.connection import decode_member, raw_members_by_score, text
from shared.bus.responses import DurableResponse
from shared.dropped import drop
from shared.messages import ProfileName, SessionId, TaskStatus

log = logging.getLogger(__name__)

TASK_JOB = "openclaw_worker.jobs.run_task"
"""The RQ job function, named by path so the router need not import the worker."""
FINISHED: frozenset[TaskStatus] = frozenset({"done", "failed", "cancelled"})


class TaskRecord(BaseModel):
    """One `bot_openclaw_task` call and how it is going."""

    task_id: str
    session_id: SessionId
    profile: ProfileName = "default"
    task: str
    """What the fast model asked OpenClaw to do."""
    label: str
    """A few words to name it when speaking ("the GPU research")."""
    status: TaskStatus = "queued"
    created_at: float = Field(default_factory=time.time)
    updated_at: float = Field(default_factory=time.time)
    error: str | None = None
    attempts: int = 0
    worker: str | None = None
    answer_preview: str = ""
    number: int = 0
    """Creation number within the session, from a Redis counter (set by create_task_record)."""

    @property
    def creation_order(self) -> tuple[int, float, str]:
        """A total order that never depends on the order Redis returns a hash in."""
        return (self.number, self.created_at, self.task_id)


async def save_task(redis: aioredis.Redis, record: TaskRecord) -> None:
    key = keys.session_tasks(record.session_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hset(key, record.task_id, record.model_dump_json())
        pipe.expire(key, keys.TASKS_TTL_SECONDS)
        await pipe.execute()


async def create_task_record(redis: aioredis.Redis, record: TaskRecord) -> bool:
    """Store a new task, numbered after the session's earlier ones and counted in this hour's
    quota; False when a task with that id exists already (nothing is changed). Past
    MAX_TASK_RECORDS the session's oldest finished records are dropped."""
    session_id = record.session_id
    counter, key = keys.session_task_counter(session_id), keys.session_tasks(session_id)
    hour = _this_hour(session_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.incr(counter)
        pipe.expire(counter, keys.TASKS_TTL_SECONDS)
        number, _ = await pipe.execute()
    numbered = record.model_copy(update={"number": number})
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hsetnx(key, record.task_id, numbered.model_dump_json())
        pipe.expire(key, keys.TASKS_TTL_SECONDS)
        pipe.incr(hour)
        pipe.expire(hour, 2 * 3600)
        pipe.hlen(key)
        created, _, _, _, stored = await pipe.execute()
    if stored > keys.MAX_TASK_RECORDS:
        await _drop_oldest_finished(redis, session_id, stored - keys.MAX_TASK_RECORDS)
    return bool(created)


async def _drop_oldest_finished(redis: aioredis.Redis, session_id: str, count: int) -> None:
    finished = [t for t in await load_session_tasks(redis, session_id) if t.status in FINISHED]
    dropped = [t.task_id for t in finished[:count]]
    if dropped:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.hdel(keys.session_tasks(session_id), *dropped)
            pipe.srem(keys.task_cancel_requests(session_id), *dropped)
            await pipe.execute()


def _this_hour(session_id: str) -> str:
    """The key counting the session's tasks in the current hour."""
    return keys.session_tasks_this_hour(session_id, int(time.time() // 3600))


async def tasks_this_hour(redis: aioredis.Redis, session_id: str) -> int:
    """How many tasks the session delegated in the current hour."""
    return int(await redis.get(_this_hour(session_id)) or 0)


def _parsed(raw: str) -> TaskRecord | None:
    """A stored record, or None (logged) for an entry that is not one."""
    try:
        return TaskRecord.model_validate_json(raw)
    except ValidationError:
        drop("task record", raw)
        return None


async def load_task(redis: aioredis.Redis, session_id: str, task_id: str) -> TaskRecord | None:
    """The task's record; None when there is none, or none that can be read."""
    raw = await redis.hget(keys.session_tasks(session_id), task_id)
    return _parsed(text(raw)) if raw else None


async def load_session_tasks(redis: aioredis.Redis, session_id: str) -> list[TaskRecord]:
    """The session's tasks, oldest first (records that cannot be read are skipped)."""
    records = [_parsed(text(raw)) for raw in await redis.hvals(keys.session_tasks(session_id))]
    return sorted((r for r in records if r is not None), key=lambda t: t.creation_order)


async def update_task(redis: aioredis.Redis, record: TaskRecord, **changes: object) -> TaskRecord:
    """Save a changed copy of the record and return it."""
    updated = record.model_copy(update={**changes, "updated_at": time.time()})
    await save_task(redis, updated)
    return updated


async def request_cancel(redis: aioredis.Redis, session_id: str, task_id: str) -> None:
    """Ask the task's worker to stop it (checked between chunks and before it starts)."""
    key = keys.task_cancel_requests(session_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.sadd(key, task_id)
        pipe.expire(key, keys.TASKS_TTL_SECONDS)
        await pipe.execute()


async def cancel_requested(redis: aioredis.Redis, session_id: str, task_id: str) -> bool:
    return bool(await redis.sismember(keys.task_cancel_requests(session_id), task_id))


def job_id(task_id: str, attempt: int) -> str:
    """The RQ job id of a task's `attempt`-th run (a run after a dead worker is a new job)."""
    return task_id if attempt <= 1 else f"{task_id}-run{attempt}"


def _lease_member(session_id: str, task_id: str) -> str:
    return json.dumps([session_id, task_id])


async def renew_lease(redis: aioredis.Redis, session_id: str, task_id: str, seconds: float) -> None:
    """Say the task's worker is alive for `seconds` more."""
    await redis.zadd(keys.TASK_LEASES, {_lease_member(session_id, task_id): time.time() + seconds})


async def end_lease(redis: aioredis.Redis, session_id: str, task_id: str) -> None:
    await redis.zrem(keys.TASK_LEASES, _lease_member(session_id, task_id))


MAX_EXPIRED_LEASES = 100
"""Lost tasks handled per round of the reaper; more wait for the next round."""
_LEASE_MEMBER: TypeAdapter[tuple[str, str]] = TypeAdapter(tuple[SessionId, str])


async def expired_leases(redis: aioredis.Redis) -> list[tuple[str, str]]:
    """(session id, task id) of running tasks whose worker stopped renewing its lease; a
    member that is not one (bad bytes, not JSON) is removed with a logged reason."""
    members = await raw_members_by_score(redis, keys.TASK_LEASES, time.time(), MAX_EXPIRED_LEASES)
    leases = []
    for member in members:
        try:
            leases.append(_LEASE_MEMBER.validate_json(decode_member(member) or ""))
        except ValidationError:
            drop("task lease", member)
            await redis.zrem(keys.TASK_LEASES, member)
    return leases


class TaskStore:
    """Delegated tasks as the bridge tools see them: create, look up, cancel. Tools are given
    stores, never the Redis client (`tests/test_layers.py`), so this is their handle on the
    functions above; each method is the function of the same job, with no logic of its own."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def create(self, record: TaskRecord) -> bool:
        return await create_task_record(self._redis, record)

    async def load(self, session_id: str, task_id: str) -> TaskRecord | None:
        return await load_task(self._redis, session_id, task_id)

    async def of_session(self, session_id: str) -> list[TaskRecord]:
        return await load_session_tasks(self._redis, session_id)

    async def this_hour(self, session_id: str) -> int:
        return await tasks_this_hour(self._redis, session_id)

    async def update(self, record: TaskRecord, **changes: object) -> TaskRecord:
        return await update_task(self._redis, record, **changes)

    async def request_cancel(self, session_id: str, task_id: str) -> None:
        await request_cancel(self._redis, session_id, task_id)

    def response(self, record: TaskRecord) -> DurableResponse:
        """Where the task's status and answer are published (durably: the user may reconnect
        before it is done)."""
        return DurableResponse(self._redis, record.session_id, record.task_id, origin="task")
