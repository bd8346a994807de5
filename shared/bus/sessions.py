"""What the voice service keeps of the sessions it issued: the key signing their tokens, each
session's current nonce (only the token carrying it resumes the session), and the access token
it generates when none is configured (shared by replicas like the key)."""

import secrets

import redis.asyncio as aioredis

from shared.bus import keys
from shared.bus.connection import text

SESSION_TTL_SECONDS = 30 * 24 * 3600
"""A session nobody resumed for this long is forgotten."""

ROTATE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return 1
"""
"""Swap the session's current nonce for a new one only if the presented one is current."""


async def _shared_value(redis: aioredis.Redis, key: str, candidate: str) -> str:
    """The value every voice replica uses for `key`: the one in Redis, else `candidate`,
    written only if no replica wrote one first."""
    await redis.set(key, candidate, nx=True)
    stored = await redis.get(key)
    if stored is None:
        raise RuntimeError(f"{key} vanished right after it was set")
    return text(stored)


async def signing_secret(redis: aioredis.Redis, keep: bytes | None = None) -> bytes:
    """The key signing session tokens, shared by every voice replica: the one in Redis, or,
    when there is none, `keep` (a replica's secret, after Redis lost it) or a new one."""
    candidate = keep.decode() if keep is not None else secrets.token_hex(32)
    return (await _shared_value(redis, keys.VOICE_SESSION_SECRET, candidate)).encode()


async def shared_access_token(redis: aioredis.Redis) -> str:
    """The voice service's generated access token, shared by every replica like the secret."""
    return await _shared_value(redis, keys.VOICE_ACCESS_TOKEN, secrets.token_hex(16))


async def set_nonce(redis: aioredis.Redis, session_id: str, nonce: str) -> None:
    await redis.set(keys.session_nonce(session_id), nonce, ex=SESSION_TTL_SECONDS)


async def nonce_is_current(redis: aioredis.Redis, session_id: str, nonce: str) -> bool:
    return await redis.get(keys.session_nonce(session_id)) == nonce


async def rotate_nonce(redis: aioredis.Redis, session_id: str, current: str, fresh: str) -> bool:
    """Replace the session's nonce with `fresh` only if `current` is its nonce now."""
    rotated = await redis.eval(
        ROTATE, 1, keys.session_nonce(session_id), current, fresh, SESSION_TTL_SECONDS
    )
    return bool(rotated == 1)
