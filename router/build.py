"""The router's parts as the settings say, decided here once: the mode (hybrid, direct or
openclaw) becomes explicit objects — which model, which tools, a task queue or none, tier 0 on
or off — so nothing downstream asks which mode it is in."""

import redis
import redis.asyncio as aioredis

from router.conversation import TurnAnswerer
from router.llm import PrimaryModel
from router.routing import RouteFirst
from router.tools import fast_tools
from shared.bus.task_queue import TaskQueue, TaskQuota, rq_connection
from shared.settings import Mode, Settings


def primary_model(settings: Settings) -> PrimaryModel | None:
    """The model that answers turns, or None when none is configured. In openclaw mode it is
    OpenClaw's own chat-completions endpoint with the app's tools passed as `tools`: the
    original, slow behaviour, kept to revert to."""
    limits = {"max_retries": settings.bot_model_max_retries, "max_tokens": settings.bot_max_tokens}
    if settings.mode is Mode.OPENCLAW and settings.openclaw_api_url:
        token = settings.openclaw_api_token
        return PrimaryModel.at(
            settings.openclaw_api_url.rstrip("/") + "/v1",
            token.get_secret_value() if token else None,
            f"openclaw/{settings.openclaw_agent_id}",
            timeout=settings.openclaw_task_timeout,
            **limits,
        )
    if not settings.primary_model_configured:
        return None
    key = settings.openai_api_key
    return PrimaryModel.at(
        settings.openai_base_url,
        key.get_secret_value() if key else None,
        settings.bot_hybrid_primary_model,
        timeout=settings.bot_model_timeout,
        **limits,
    )


def task_queue(settings: Settings, connection: redis.Redis | None = None) -> TaskQueue | None:
    """The OpenClaw task queue in hybrid mode (over `connection`, else a client of
    REDIS_URL); None in the other modes, which delegate nothing."""
    if settings.mode is not Mode.HYBRID:
        return None
    return TaskQueue(
        connection or rq_connection(settings.redis_url),
        settings.openclaw_task_timeout,
        TaskQuota(settings.bot_max_open_tasks, settings.bot_tasks_per_hour),
    )


def answerer(
    redis_client: aioredis.Redis, settings: Settings, rq: redis.Redis | None = None
) -> TurnAnswerer:
    """The router's turn answerer: in hybrid mode with the bridge tool and a task queue (RQ's
    client `rq`, else one of REDIS_URL); tier 0 unless BOT_TIER0 is off, and the routing step
    when BOT_ROUTE_FIRST says so, neither in openclaw mode (the revert path: every turn through
    OpenClaw, as before)."""
    queue = task_queue(settings, rq)
    own_model = settings.mode is not Mode.OPENCLAW
    return TurnAnswerer(
        redis_client,
        settings,
        model=primary_model(settings),
        tools=fast_tools(delegation=queue is not None),
        task_queue=queue,
        tier0=settings.bot_tier0 and own_model,
        route_first=(
            RouteFirst.over_families(delegation=queue is not None)
            if settings.route_first and own_model
            else None
        ),
    )
