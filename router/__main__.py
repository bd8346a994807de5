"""`python -m router`: run one router replica until SIGTERM or Ctrl-C."""

import asyncio
import logging
import signal

from router import build
from router.consumer import TurnConsumer, consumer_name
from router.task_reaper import run_task_reaper
from router.tools.timers import run_timer_announcer
from shared.bus.connection import connect_redis, wait_for_redis
from shared.settings import Settings, configure_logging, log_startup, process_settings

log = logging.getLogger("router")


def build_consumer(settings: Settings) -> TurnConsumer:
    """A consumer wired to Redis, the model and the tools as `settings` say."""
    redis = connect_redis(settings.redis_url)
    return TurnConsumer(
        redis,
        build.answerer(redis, settings),
        name=consumer_name(),
        concurrency=settings.bot_router_concurrency,
        reclaim_idle_ms=settings.bot_turn_reclaim_idle_ms,
    )


async def serve(settings: Settings) -> None:
    consumer = build_consumer(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await wait_for_redis(consumer.redis, settings.redis_url)
    consumer.answerer.warm_up_soon()
    background = [
        run_timer_announcer(consumer.redis, stop),
        consumer.answerer.interrupts.listen(consumer.redis, stop),
    ]
    if consumer.answerer.task_queue is not None:
        background.append(
            run_task_reaper(consumer.redis, consumer.answerer.task_queue, settings, stop)
        )
    await asyncio.gather(consumer.run(stop), *background)
    await consumer.redis.aclose()
    log.info("stopped")


def main() -> None:
    settings = process_settings()
    configure_logging(settings)
    log_startup("router", settings)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
