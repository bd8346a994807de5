"""Redis writes collected first and run together: in a transaction, or only if an ack lands.

The writes that finish a turn (its done event, the exchange in history, closing it) must happen
together and at most once, even if two routers answered the same turn (one stalled past the
reclaim time, the other took it over): they run in one script, only if that router's XACK
removes the entry from the pending list.
"""

import json

import redis.asyncio as aioredis

ACK_THEN_RUN = """
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
for _, command in ipairs(cjson.decode(ARGV[3])) do redis.call(unpack(command)) end
return 1
"""


class Commands:
    """Redis commands queued as argument lists, to run later in one go."""

    def __init__(self) -> None:
        self.queued: list[list[str]] = []

    def add(self, *args: str | int | float) -> None:
        self.queued.append([str(arg) for arg in args])

    async def run(self, redis: aioredis.Redis) -> bool:
        """Run them all in one MULTI/EXEC transaction."""
        async with redis.pipeline(transaction=True) as pipe:
            for command in self.queued:
                pipe.execute_command(*command)
            await pipe.execute()
        return True

    async def run_if_acked(
        self, redis: aioredis.Redis, stream: str, group: str, entry_id: str
    ) -> bool:
        """Ack the stream entry and run them, atomically; False (nothing run) if the entry was
        no longer pending, because another consumer finished it first."""
        script_args = [group, entry_id, json.dumps(self.queued, ensure_ascii=False)]
        return bool(await redis.eval(ACK_THEN_RUN, 1, stream, *script_args))
