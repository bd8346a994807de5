"""Redis clients that ride out short outages: retries with jittered backoff, health checks."""

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry as BlockingRetry

from shared.settings import redact_url

log = logging.getLogger(__name__)


MAX_CONNECTIONS = 256
"""Per client; past it a command waits for a free connection (up to 20 s) instead of failing."""


def connect_redis(url: str, max_connections: int = MAX_CONNECTIONS) -> aioredis.Redis:
    """An asyncio client returning str; commands are retried through brief disconnects.

    Bytes that are not UTF-8 arrive as U+FFFD instead of raising inside redis-py (which no
    loop could catch as a Redis error): whoever wrote them, the entry then fails validation at
    its boundary and is dead-lettered or skipped. Sorted-set members, which must be removed by
    their exact bytes, are read raw (`raw_members_by_score`).
    """
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=20,
        decode_responses=True,
        encoding_errors="replace",
        retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=2.0), retries=6),
        health_check_interval=15,
        socket_connect_timeout=5,
    )
    # from_pool: the client owns its pool, so `aclose()` closes the pool's connections too (a
    # client made with `connection_pool=` leaves them open: one voice session's pool per visit).
    return aioredis.Redis.from_pool(pool)


async def raw_members_by_score(
    redis: aioredis.Redis, key: str, max_score: float, count: int
) -> list[bytes]:
    """Up to `count` members of a sorted set scored up to `max_score`, as the bytes stored, so
    a member that is not UTF-8 or not valid can still be removed exactly."""
    return await redis.execute_command(
        "ZRANGEBYSCORE", key, "-inf", repr(max_score), "LIMIT", 0, count, NEVER_DECODE=True
    )


StreamEntry = tuple[str, dict[str, str]]
"""A stream entry as read: its id and its fields."""


def text(value: bytes | str) -> str:
    """A value read by the decoding client, as the str it is (raw reads give bytes)."""
    return value if isinstance(value, str) else value.decode("utf-8", "replace")


def text_map(mapping: Mapping[Any, Any] | None) -> dict[str, str]:
    """A hash or stream entry's fields as str → str (None, a deleted entry's, gives {})."""
    return {text(field): text(value) for field, value in (mapping or {}).items()}


def stream_entries(entries: Iterable[Any] | None) -> list[StreamEntry]:
    """The entries of an XRANGE/XREADGROUP/XAUTOCLAIM reply, typed; an entry deleted from the
    stream while pending (it comes back with no fields) is left out."""
    return [
        (text(entry_id), text_map(fields))
        for entry_id, fields in entries or []
        if fields is not None
    ]


def read_entries(reply: Any) -> list[StreamEntry]:
    """The entries of an XREAD/XREADGROUP reply (one list per stream read), typed, in order."""
    return [entry for _stream, entries in reply or [] for entry in stream_entries(entries)]


def decode_member(raw: bytes) -> str | None:
    """A sorted-set member as text, or None when its bytes are not UTF-8."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


OUTAGE_BACKOFF_CAP_SECONDS = 2.0
"""Longest wait between two tries of a loop riding out a Redis outage."""


def connect_and_ping(url: str, timeout: float) -> redis.Redis:
    """A plain (bytes, blocking) client for one-shot checks, once Redis answered a PING."""
    client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    client.ping()
    return client


def _outage_backoff() -> ExponentialWithJitterBackoff:
    return ExponentialWithJitterBackoff(base=0.1, cap=OUTAGE_BACKOFF_CAP_SECONDS)


def _attempts_within(timeout: float) -> int:
    """Tries that take about `timeout` seconds at the backoff's longest wait."""
    return max(1, round(timeout / OUTAGE_BACKOFF_CAP_SECONDS))


def until_redis_answers(attempts: int = -1) -> Retry:
    """redis-py's own Retry, for the few loops that must outlive an outage longer than one
    command's retries (a Redis restart): jittered backoff up to 2 s between tries, forever by
    default. Connection and timeout errors are retried; any other error is raised."""
    return Retry(
        _outage_backoff(), attempts, supported_errors=(RedisConnectionError, RedisTimeoutError)
    )


def log_outage(what: str) -> Callable[[Exception], Awaitable[None]]:
    """A Retry failure handler that logs one warning per failed try."""

    async def warn(error: Exception) -> None:
        log.warning("%s: redis not answering (%s); retrying", what, error)

    return warn


async def wait_for_redis(client: aioredis.Redis, url: str, timeout: float = 60.0) -> None:
    """Block until Redis answers PING, logging while it does not; raise after about `timeout`
    seconds of tries."""
    await until_redis_answers(_attempts_within(timeout)).call_with_retry(
        client.ping, log_outage(f"start-up, {redact_url(url)}")
    )


def connect_blocking(url: str, timeout: float = 60.0) -> redis.Redis:
    """A plain (bytes, blocking) client, what RQ expects, once Redis answers PING: tried with
    the same backoff as `wait_for_redis` for about `timeout` seconds."""
    client = redis.Redis.from_url(url, health_check_interval=15, socket_connect_timeout=5)
    BlockingRetry(_outage_backoff(), _attempts_within(timeout)).call_with_retry(
        client.ping,
        lambda exc: log.warning("start-up, %s: redis not answering (%s)", redact_url(url), exc),
    )
    return client
