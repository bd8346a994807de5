"""What the voice service keeps of the sessions it issued: the key signing their tokens and
each session's current nonce (only the token carrying it resumes the session)."""

import secrets

import redis
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


async def signing_secret(redis: aioredis.Redis, keep: bytes | None = None) -> bytes:
    """The key signing session tokens, shared by every voice replica: the one in Redis, or,
    when there is none, `keep` (a replica's secret, after Redis lost it) or a new one, written
    only if no replica wrote one first."""
    candidate = keep.decode() if keep is not None else secrets.token_hex(32)
    await redis.set(keys.VOICE_SESSION_SECRET, candidate, nx=True)
    stored = await redis.get(keys.VOICE_SESSION_SECRET)
    if stored is None:
        raise RuntimeError(f"{keys.VOICE_SESSION_SECRET} vanished right after it was set")
    return text(stored).encode()


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


def shared_access_token(client: redis.Redis) -> str:
    """The voice service's generated access token: the one in Redis, else a new one written
    unless another replica wrote one first (so every replica accepts the same)."""
    client.set(keys.VOICE_ACCESS_TOKEN, secrets.token_hex(16), nx=True)
    stored = client.get(keys.VOICE_ACCESS_TOKEN)
    if not isinstance(stored, bytes | str):
        raise RuntimeError(f"{keys.VOICE_ACCESS_TOKEN} vanished right after it was set")
    return text(stored)
