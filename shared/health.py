"""`python -m shared.health <service>`: the container health check of each service.

Exit 0 when healthy, 1 with the reason otherwise. Every service must reach Redis; a router must
have heart-beaten recently; an OpenClaw worker must be registered with RQ and alive; the voice
service must answer HTTP.
"""

import socket
import sys
import time
import urllib.error
import urllib.request

import redis

from shared.bus.connection import connect_and_ping
from shared.bus.turns import last_router_heartbeat
from shared.settings import process_settings, redact_url

ROUTER_HEARTBEAT_MAX_AGE_SECONDS = 60.0
WORKER_HEARTBEAT_MAX_AGE_SECONDS = 600.0
"""RQ's worker heart-beats at least this often, also while a job runs."""


def check_redis(url: str) -> redis.Redis:
    try:
        return connect_and_ping(url, timeout=3)
    except redis.RedisError as exc:
        raise RuntimeError(f"redis unreachable at {redact_url(url)}: {exc}") from exc


def check_router(client: redis.Redis) -> None:
    beat = last_router_heartbeat(client, socket.gethostname())
    if beat is None:
        raise RuntimeError("no router heartbeat from this host")
    age = time.time() - beat
    if age > ROUTER_HEARTBEAT_MAX_AGE_SECONDS:
        raise RuntimeError(f"router heartbeat is {age:.0f}s old")


def check_worker(client: redis.Redis) -> None:
    from rq import Worker

    prefix = f"openclaw-{socket.gethostname()}-"
    mine = [w for w in Worker.all(connection=client) if w.name.startswith(prefix)]
    if not mine:
        raise RuntimeError("no OpenClaw worker of this host is registered with RQ")
    newest = max((w.last_heartbeat for w in mine if w.last_heartbeat), default=None)
    if newest is None or time.time() - newest.timestamp() > WORKER_HEARTBEAT_MAX_AGE_SECONDS:
        raise RuntimeError("the OpenClaw worker's RQ heartbeat is stale")


def check_voice(port: int) -> None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=3) as response:
            if response.status >= 500:
                raise RuntimeError(f"voice service answered HTTP {response.status}")
    except urllib.error.HTTPError as exc:
        if exc.code >= 500:
            raise RuntimeError(f"voice service answered HTTP {exc.code}") from exc
    except OSError as exc:
        raise RuntimeError(f"voice service does not answer on port {port}: {exc}") from exc


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ("router", "openclaw_worker", "voice"):
        print("usage: python -m shared.health router|openclaw_worker|voice", file=sys.stderr)
        return 2
    service = argv[0]
    try:
        settings = process_settings()
        client = check_redis(settings.redis_url)
        if service == "router":
            check_router(client)
        elif service == "openclaw_worker":
            check_worker(client)
        else:
            check_voice(settings.voice_port)
    except RuntimeError as exc:
        print(f"unhealthy: {exc}")
        return 1
    print("healthy")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
