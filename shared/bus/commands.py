"""The one way hybridbot writes to Redis atomically: commands queued on a redis-py pipeline
through its typed methods, then run together, in a MULTI/EXEC transaction, or in a script when
they must depend on an ack.

The writes that finish a turn (its done event, the exchange in history, closing it) must happen
together and at most once, even if two routers answered the same turn (one stalled past the
reclaim time, the other took it over): they run in one script, only if that router's XACK
removes the entry from the pending list. (Screen state, read, changed and written back, uses
WATCH in `screen.py`: a conditional write on what was read, which no batch of commands is.)
"""

import json

import redis.asyncio as aioredis
from redis.asyncio.client import Pipeline

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


def new_batch(redis: aioredis.Redis) -> Pipeline:
    """A MULTI/EXEC transaction to queue commands on through redis-py's typed methods
    (`batch.rpush(key, ...)`); `await batch.execute()` runs them in one round trip, or
    `run_if_acked` runs them in the ack-then-run script."""
    return redis.pipeline(transaction=True)


def _argument(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def queued(batch: Pipeline) -> list[list[str]]:
    """The commands queued on `batch`, as the argument lists redis-py would send."""
    return [[_argument(arg) for arg in args] for args, _options in batch.command_stack]


async def run_if_acked(
    redis: aioredis.Redis, batch: Pipeline, stream: str, group: str, entry_id: str
) -> bool:
    """Ack the stream entry and run `batch`'s commands, atomically; False (nothing run) if the
    entry was no longer pending, because another consumer finished it first. OversizedWrite,
    with nothing acked or run, when they exceed the script's bounds (checked here and again in
    the script, before its ack: an ack must never be followed by a failing command)."""
    commands = queued(batch)
    await batch.reset()
    if len(commands) > MAX_COMMANDS:
        raise OversizedWrite(f"{len(commands)} commands, over {MAX_COMMANDS}")
    longest = max((len(command) for command in commands), default=0)
    if longest > MAX_ARGUMENTS:
        raise OversizedWrite(f"a command of {longest} arguments, over {MAX_ARGUMENTS}")
    encoded = json.dumps(commands, ensure_ascii=False)
    return bool(
        await redis.eval(
            ACK_THEN_RUN, 1, stream, group, entry_id, encoded, MAX_COMMANDS, MAX_ARGUMENTS
        )
    )
