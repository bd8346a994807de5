"""What happens to a task whose worker died: it runs again, or the user is told it failed.

A worker renews its task's lease while it runs. When the lease ends unrenewed (the whole worker
was killed) a router's reaper finds it; when only the work horse dies, RQ tells the worker's
main process at once. Either way this module decides, once per lost run (a claim in Redis):
below `BOT_TASK_MAX_ATTEMPTS` runs the task is queued again and the user hears that it is being
restarted; after that the user hears that it failed. A task is never left "started".
"""

import logging
from typing import Literal

import redis.asyncio as aioredis

from shared.bus import keys
from shared.bus.responses import DurableResponse
from shared.bus.task_queue import TaskQueue
from shared.bus.tasks import FINISHED, end_lease, load_task, update_task

log = logging.getLogger(__name__)

CLAIM_TTL_SECONDS = 7 * 24 * 3600
Outcome = Literal["retried", "failed", "ignored"]


async def recover_lost_task(
    redis: aioredis.Redis,
    queue: TaskQueue | None,
    max_attempts: int,
    session_id: str,
    task_id: str,
) -> Outcome:
    """Run a task again or report it failed, unless it ended or someone else handles it."""
    record = await load_task(redis, session_id, task_id)
    if record is None or record.status in FINISHED:
        await end_lease(redis, session_id, task_id)
        return "ignored"
    claim = keys.task_recovery_claim(session_id, task_id, record.attempts)
    if not await redis.set(claim, "1", nx=True, ex=CLAIM_TTL_SECONDS):
        return "ignored"
    await end_lease(redis, session_id, task_id)
    publisher = DurableResponse(redis, session_id, task_id, origin="task")
    if queue is not None and record.attempts < max_attempts:
        message = f"The worker on {record.label} stopped, so I'm starting it again."
        record = await update_task(redis, record, status="queued", error="worker_lost")
        await publisher.text(message)
        await publisher.status("queued", record.label, message)
        await queue.enqueue(record)
        log.warning(
            "task run %d lost with its worker; queued again session=%s task=%s",
            record.attempts,
            session_id,
            task_id,
        )
        return "retried"
    message = f"Sorry, {record.label} failed: the worker running it stopped unexpectedly."
    await publisher.text(message)
    await publisher.status("failed", record.label, message)
    await publisher.done("worker_lost")
    await update_task(redis, record, status="failed", error="worker_lost")
    log.warning("task lost with its worker session=%s task=%s", session_id, task_id)
    return "failed"


async def superseded(redis: aioredis.Redis, session_id: str, task_id: str, attempt: int) -> bool:
    """Whether this run was given up for lost (its worker stalled past its lease) and is
    being handled elsewhere: the stalled run must then stop without a word."""
    return bool(await redis.exists(keys.task_recovery_claim(session_id, task_id, attempt)))
