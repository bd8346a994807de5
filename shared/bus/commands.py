"""The one way hybridbot writes to Redis atomically: commands collected first, then run
together, in a MULTI/EXEC transaction, or in a script when they must depend on an ack.

The writes that finish a turn (its done event, the exchange in history, closing it) must happen
together and at most once, even if two routers answered the same turn (one stalled past the
reclaim time, the other took it over): they run in one script, only if that router's XACK
removes the entry from the pending list. (Screen state, read, changed and written back, uses
WATCH in `screen.py`: a conditional write on what was read, which no batch of commands is.)
"""

import json
from typing import Any

import redis.asyncio as aioredis

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

    async def run(self, redis: aioredis.Redis) -> list[Any]:
        """Run them all in one MULTI/EXEC transaction (one round trip); returns their replies."""
        async with redis.pipeline(transaction=True) as pipe:
            for command in self.queued:
                pipe.execute_command(*command)
            return list(await pipe.execute())

    async def run_if_acked(
        self, redis: aioredis.Redis, stream: str, group: str, entry_id: str
    ) -> bool:
        """Ack the stream entry and run them, atomically; False (nothing run) if the entry was
        no longer pending, because another consumer finished it first."""
        return bool(await redis.eval(ACK_THEN_RUN, 1, stream, group, entry_id, self._encoded()))
