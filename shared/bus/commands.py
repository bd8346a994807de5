"""Redis writes collected first and run together in one script: always, or only if an ack lands.

The writes that finish a turn (its done event, the exchange in history, closing it) must happen
together and at most once, even if two routers answered the same turn (one stalled past the
reclaim time, the other took it over): they run in one script, only if that router's XACK
removes the entry from the pending list.
"""

import json

import redis.asyncio as aioredis

RUN_ALL = """
for _, command in ipairs(cjson.decode(ARGV[1])) do redis.call(unpack(command)) end
return 1
"""
ACK_THEN_RUN = """
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
for _, command in ipairs(cjson.decode(ARGV[3])) do redis.call(unpack(command)) end
return 1
"""


class Commands:
    """Redis commands queued as argument lists, to run later in one script."""

    def __init__(self) -> None:
        self.queued: list[list[str]] = []

    def add(self, *args: str | int | float) -> None:
        self.queued.append([str(arg) for arg in args])

    def _encoded(self) -> str:
        return json.dumps(self.queued, ensure_ascii=False)

    async def run(self, redis: aioredis.Redis) -> bool:
        """Run them all, atomically."""
        await redis.eval(RUN_ALL, 0, self._encoded())
        return True

    async def run_if_acked(
        self, redis: aioredis.Redis, stream: str, group: str, entry_id: str
    ) -> bool:
        """Ack the stream entry and run them, atomically; False (nothing run) if the entry was
        no longer pending, because another consumer finished it first."""
        return bool(await redis.eval(ACK_THEN_RUN, 1, stream, group, entry_id, self._encoded()))
