"""9. How far one Redis carries: `redis-benchmark` on this machine for the command mix one turn
sends (the `INFO commandstats` deltas of `bench.router_cpu`), 50 clients, no pipelining.

Each command of the mix gets a representative command line (payloads of a typical event's
size); MULTI, EXEC and commands with no line of their own are weighed as a PING. The time one
turn takes of Redis at saturation is the sum over its commands of count / (ops per second),
and one over that is the turns per second one Redis primary carries for that mix.
"""

import csv
import io
import shutil
import subprocess

from bench.common import redis_url

REQUESTS = 50_000
CLIENTS = 50
PAYLOAD = "x" * 250
"""About the size of a text event's JSON."""
LINES: dict[str, list[str]] = {
    "xadd": ["XADD", "bench:stream", "MAXLEN", "~", "10000", "*", "event", PAYLOAD],
    "publish": ["PUBLISH", "bench:channel", PAYLOAD],
    "expire": ["EXPIRE", "bench:key:__rand_int__", "600"],
    "set": ["SET", "bench:key:__rand_int__", PAYLOAD],
    "get": ["GET", "bench:key:__rand_int__"],
    "del": ["DEL", "bench:gone:__rand_int__"],
    "exists": ["EXISTS", "bench:key:__rand_int__"],
    "incr": ["INCR", "bench:count:__rand_int__"],
    "hset": ["HSET", "bench:hash:__rand_int__", "field", PAYLOAD],
    "hvals": ["HVALS", "bench:hash:__rand_int__"],
    "zadd": ["ZADD", "bench:zset", "__rand_int__", "member:__rand_int__"],
    "zrem": ["ZREM", "bench:zset", "member:__rand_int__"],
    "zrangebyscore": ["ZRANGEBYSCORE", "bench:zset", "-inf", "(1000", "LIMIT", "0", "1"],
    "rpush": ["RPUSH", "bench:list:__rand_int__", PAYLOAD],
    "ltrim": ["LTRIM", "bench:list:__rand_int__", "-40", "-1"],
    "lrange": ["LRANGE", "bench:list:__rand_int__", "-40", "-1"],
    "eval": ["EVAL", "return 1", "0"],
    "ping": ["PING"],
}


def ops_per_second(command: list[str]) -> float:
    output = subprocess.run(
        [
            "redis-benchmark",
            "-u",
            redis_url(),  # the benchmarks' own Redis, never a default port
            "-n",
            str(REQUESTS),
            "-c",
            str(CLIENTS),
            "-r",
            "100000",
            "--csv",
            *command,
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    rows = list(csv.reader(io.StringIO(output)))
    return float(rows[-1][1])


def run(by_command: dict[str, float]) -> dict | None:
    """Turns per second one Redis carries for a turn sending `by_command` (per turn); None
    when there is no redis-benchmark on this machine."""
    if shutil.which("redis-benchmark") is None:
        print("9. Redis capacity skipped: no redis-benchmark (it comes with redis-server)")
        return None
    measured = {name: ops_per_second(line) for name, line in LINES.items()}
    seconds = sum(
        count / measured.get(name, measured["ping"]) for name, count in by_command.items()
    )
    return {"ops_per_s": measured, "turns_per_s": 1 / seconds, "commands": sum(by_command.values())}
