"""Soak: sessions come and go for a long while; nothing they used stays behind.

The voice service, a router and an OpenClaw worker run as their own processes (hybrid mode,
espeak-ng speech when installed), the fake model and gateway in another, on the benchmark's
private Redis. N sessions (default 200; SOAK_SESSIONS) each connect over real WebRTC (aiortc),
type a turn, hear the reply and hang up, a few at a time; then 100 offers (SOAK_HALF_OPEN) that
never complete ICE. RSS, open files and Redis client connections of each service are printed at
the start, after the first 10 sessions (the warm baseline), every 50 sessions, after the
half-open offers and once they are closed, each once the voice service's periodic collection of
ended sessions' memory has run; with the voice service's peak RSS, Redis memory and key count.

    python -m bench.soak            # alone; `make bench` runs it as row 10
    SOAK_SESSIONS=1000 python -m bench.soak
"""

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import redis
import redis.asyncio as aioredis

from bench.common import redis_url
from shared.bus.connection import connect_redis
from tests.processes import serves_page, wait_for
from tests.webrtc_client import WebRTCVoiceClient
from voice.memory import PERIOD_SECONDS

VOICE_PORT = 7891
PARALLEL = 4
"""Sessions connected at the same time."""
HALF_OPEN_CLOSED_AFTER = 20.0
"""Seconds after which the voice service has closed an offer that never connected (15 s)."""
SETTLE_SECONDS = PERIOD_SECONDS + 2
"""Wait before a row: the voice service collects ended sessions' memory every PERIOD_SECONDS."""


def _status(pid: int) -> dict[str, float]:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return {
        "rss_mb": int(fields["VmRSS"].split()[0]) / 1024,
        "peak_rss_mb": int(fields["VmHWM"].split()[0]) / 1024,
        "open_files": len(os.listdir(f"/proc/{pid}/fd")),
    }


async def _redis_clients(redis: aioredis.Redis) -> dict[str, int]:
    """Redis client connections by service, from CLIENT LIST's client names (lib-name falls
    back to the connecting process's address)."""
    clients = await redis.client_list()
    return {"redis_clients": len(clients)}


class Services:
    """The services under soak, started from their own commands."""

    def __init__(self, url: str, log_dir: Path) -> None:
        self.url = url
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, fakes: dict[str, str]) -> None:
        env = {
            **os.environ,
            "REDIS_URL": self.url,
            "OPENAI_BASE_URL": fakes["model"],
            "OPENAI_API_KEY": "sk-soak",
            "OPENCLAW_API_URL": fakes["openclaw"],
            "BOT_TIER0": "false",
            "VOICE_STT": "none",
            "VOICE_TTS": "espeak" if shutil.which("espeak-ng") else "none",
            "LOG_LEVEL": "INFO",
            # The soak is one client: lift the per-client limits it would otherwise meet (the
            # half-open offers must reach the service to show what it keeps of them).
            "VOICE_SIGNALLING_PER_MINUTE": "100000",
            "VOICE_MAX_SESSIONS_PER_CLIENT": "1000",
            "VOICE_MAX_SESSIONS": "1000",
        }
        voice = ["-m", "voice", "-t", "webrtc", "--host", "127.0.0.1", "--port", str(VOICE_PORT)]
        commands = {"voice": voice, "router": ["-m", "router"], "worker": ["-m", "openclaw_worker"]}
        for name, command in commands.items():
            with (self.log_dir / f"{name}.log").open("ab") as out:
                self.processes[name] = subprocess.Popen(
                    [sys.executable, *command], env=env, stdout=out, stderr=out
                )

    def sample(self) -> dict[str, dict[str, float]]:
        return {name: _status(p.pid) for name, p in self.processes.items()}

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()


async def one_session(http: aiohttp.ClientSession, base: str) -> bool:
    """Connect, say one thing, hear the reply, hang up; whether the reply came."""
    client = WebRTCVoiceClient(http, base)
    try:
        await client.offer()
        await client.connect()
        return bool(await client.say("hello there"))
    except (TimeoutError, aiohttp.ClientError) as exc:
        print(f"  session failed: {exc!r}", file=sys.stderr)
        return False
    finally:
        await client.close()


async def half_open(http: aiohttp.ClientSession, base: str) -> bool:
    """An offer whose answer is never applied: the server's side never completes ICE; whether
    the offer was answered."""
    client = WebRTCVoiceClient(http, base)
    try:
        await client.offer()
        return True
    except aiohttp.ClientError as exc:
        print(f"  offer failed: {exc!r}", file=sys.stderr)
        return False
    finally:
        await client.close()


def start_fakes() -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """The fake model and gateway in their own process, and their URLs."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.fake_servers"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert process.stdout is not None
    return process, json.loads(process.stdout.readline())


async def soak(services: Services, sessions: int, half_open_offers: int) -> dict[str, Any]:
    bus = connect_redis(redis_url())
    base = f"http://127.0.0.1:{VOICE_PORT}"
    rows: list[dict[str, Any]] = []

    async def record(label: str) -> None:
        row: dict[str, Any] = {"at": label, **await _redis_clients(bus)}
        for name, values in services.sample().items():
            row.update({f"{name}_{k}": round(v, 1) for k, v in values.items()})
        info = await bus.info("memory")
        row["redis_mb"] = round(info["used_memory"] / 2**20, 1)
        row["redis_keys"] = await bus.dbsize()
        rows.append(row)
        print(json.dumps(row), flush=True)

    answered = answered_offers = 0
    started = time.monotonic()
    try:
        await wait_for(lambda: serves_page(base + "/"), timeout=60)
        # A fresh connection a request: a pooled one the server closed meanwhile fails.
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(connector=connector) as http:
            await record("start")
            done = 0
            while done < sessions:
                batch = min(PARALLEL, sessions - done)
                results = await asyncio.gather(*(one_session(http, base) for _ in range(batch)))
                answered += sum(results)
                crossed_baseline = done < 10 <= done + batch
                crossed_fifty = (done + batch) // 50 > done // 50
                done += batch
                if crossed_baseline or crossed_fifty or done == sessions:
                    # Let the last hang-ups end and the voice service's periodic collection
                    # run (voice/memory.py), so a row shows what is kept, not what awaits
                    # collection; the peak column shows the most it held.
                    await asyncio.sleep(SETTLE_SECONDS)  # ok-sleep: see above
                    await record(f"{done} sessions" + (" (baseline)" if crossed_baseline else ""))
            for _ in range(half_open_offers // 10):
                offered = await asyncio.gather(*(half_open(http, base) for _ in range(10)))
                answered_offers += sum(offered)
            await record(f"{half_open_offers} half-open offers sent")
            await asyncio.sleep(HALF_OPEN_CLOSED_AFTER + SETTLE_SECONDS)  # ok-sleep: see above
            await record("half-open offers closed")
    finally:
        await bus.aclose()
    baseline = next(r for r in rows if "baseline" in r["at"])
    end = rows[-1]
    growth = {
        f"{name}_{what}_growth": round(end[f"{name}_{what}"] - baseline[f"{name}_{what}"], 1)
        for name in services.processes
        for what in ("rss_mb", "open_files")
    }
    growth["redis_clients_growth"] = end["redis_clients"] - baseline["redis_clients"]
    growth["voice_peak_rss_mb"] = end["voice_peak_rss_mb"]
    return {
        "sessions": sessions,
        "answered": answered,
        "half_open_offers": half_open_offers,
        "half_open_answered": answered_offers,
        "seconds": round(time.monotonic() - started, 1),
        "rows": rows,
        **growth,
    }


def measure(sessions: int, half_open_offers: int) -> dict[str, Any]:
    """Run the soak with its own services and fakes; the rows and the growth figures."""
    log_dir = Path(os.environ.get("SOAK_LOG_DIR", "/tmp/hybridbot-soak"))
    log_dir.mkdir(parents=True, exist_ok=True)
    url = redis_url()
    redis.Redis.from_url(url).flushdb()  # the previous benchmark's data
    fakes_process, fakes = start_fakes()
    services = Services(url, log_dir)
    services.start(fakes)
    try:
        return asyncio.run(soak(services, sessions, half_open_offers))
    finally:
        services.stop()
        fakes_process.communicate(b"")


def main() -> None:
    sessions = int(os.environ.get("SOAK_SESSIONS", "200"))
    half = int(os.environ.get("SOAK_HALF_OPEN", "100"))
    result = measure(sessions, half)
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=1))


if __name__ == "__main__":
    main()
