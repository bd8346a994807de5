"""Finding delegated tasks whose worker died: leases that ended without being renewed.

Every router runs this loop (in hybrid mode); a claim per lost run makes sure one of them acts.
"""

import asyncio
import logging

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from shared.bus.task_queue import TaskQueue
from shared.bus.task_recovery import recover_lost_task
from shared.bus.tasks import expired_leases
from shared.settings import Settings

log = logging.getLogger(__name__)


async def reap_lost_tasks(redis: aioredis.Redis, queue: TaskQueue, settings: Settings) -> int:
    """Handle every task whose lease has ended; returns how many were run again or failed."""
    handled = 0
    for session_id, task_id in await expired_leases(redis):
        outcome = await recover_lost_task(
            redis, queue, settings.bot_task_max_attempts, session_id, task_id
        )
        handled += outcome != "ignored"
    return handled


async def run_task_reaper(
    redis: aioredis.Redis, queue: TaskQueue, settings: Settings, stop: asyncio.Event
) -> None:
    """Look for lost tasks a few times per lease until `stop` is set."""
    interval = max(0.2, min(settings.bot_task_lease_seconds / 3, 5.0))
    while not stop.is_set():
        try:
            await reap_lost_tasks(redis, queue, settings)
        except (RedisError, OSError) as exc:
            log.warning("task reaper: redis error: %s", exc)
        except Exception:
            log.exception("task reaper failed; trying again")
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except TimeoutError:
            pass
