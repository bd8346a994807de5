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

MAX_COMMANDS = 64
"""Commands one finishing script may run (a turn's finish queues about ten)."""
MAX_ARGUMENTS = 1000
"""Arguments one command may have: Lua's `unpack` fails past about 8,000 values."""
ACK_THEN_RUN = """
local commands = cjson.decode(ARGV[3])
if #commands > tonumber(ARGV[4]) then return redis.error_reply('too many commands') end
for _, command in ipairs(commands) do
  if #command > tonumber(ARGV[5]) then return redis.error_reply('too many arguments') end
end
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
for _, command in ipairs(commands) do redis.call(unpack(command)) end
return 1
"""


class OversizedWrite(ValueError):
    """Commands too many or too long to run in one script: refused before anything runs."""


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
        no longer pending, because another consumer finished it first. OversizedWrite, with
        nothing acked or run, when they exceed the script's bounds (checked here and again in
        the script, before its ack: an ack must never be followed by a failing command)."""
        if len(self.queued) > MAX_COMMANDS:
            raise OversizedWrite(f"{len(self.queued)} commands, over {MAX_COMMANDS}")
        longest = max((len(command) for command in self.queued), default=0)
        if longest > MAX_ARGUMENTS:
            raise OversizedWrite(f"a command of {longest} arguments, over {MAX_ARGUMENTS}")
        return bool(
            await redis.eval(
                ACK_THEN_RUN,
                1,
                stream,
                group,
                entry_id,
                self._encoded(),
                MAX_COMMANDS,
                MAX_ARGUMENTS,
            )
        )
