"""`make run`: the whole stack on this machine, no Docker and no API key needed.

Starts an embedded Redis (unless REDIS_URL is set, in the environment or `.env`), the router,
an OpenClaw worker when OPENCLAW_API_URL is set (hybrid mode), the voice service with the
browser client at http://localhost:7860/ (`VOICE_PORT`; not with VOICE=text), and the text
console in the foreground (not with VOICE=webrtc); Ctrl-C (or Ctrl-D in the console) stops
everything. Service logs go to `.run/*.log`; a service that cannot start says why here.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shared.bus.turns import last_router_heartbeat
from shared.local_redis import LocalRedis
from shared.settings import NO_MODEL_HINT, Mode, Settings, process_settings, redact_url

RUN_DIR = Path(".run")


@contextlib.contextmanager
def embedded_redis() -> Iterator[str]:
    """A private redis-server on a free port; AOF on, so notes survive `make run` restarts."""
    try:
        server = LocalRedis(RUN_DIR / "redis", durable=True)
    except FileNotFoundError as missing:
        sys.exit(str(missing))
    with server:
        yield server.url


def stop(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM, then SIGKILL if it does not exit in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


START_TIMEOUT_SECONDS = 60.0
"""How long a service may take to be ready (a cold start imports Pipecat's whole stack)."""


@dataclass
class Service:
    """A service process of this run and its log (`.run/<module>.log`, appended to)."""

    module: str
    process: subprocess.Popen[bytes]
    log: Path
    log_start: int

    def failure(self) -> str | None:
        """None while it runs; once it has exited, the last lines it wrote (its reason)."""
        if self.process.poll() is None:
            return None
        with self.log.open("rb") as log:
            log.seek(self.log_start)
            lines = log.read().decode(errors="replace").strip().splitlines()
        return "\n".join(lines[-5:]) or f"exit status {self.process.returncode}"


def start_service(module: str, env: dict[str, str], *args: str) -> Service:
    """`python -m <module> <args>` in the background, its output in `.run/<module>.log`."""
    log = RUN_DIR / f"{module}.log"
    with log.open("ab") as out:
        start = out.tell()
        process = subprocess.Popen(
            [sys.executable, "-m", module, *args], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    print(f"{module} started (log: {log})", flush=True)
    return Service(module, process, log, start)


def wait_until_ready(service: Service, ready: Callable[[], bool]) -> str | None:
    """Wait until `ready()` holds; the reason instead when the service exits or is too slow."""
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while not ready():
        reason = service.failure()
        if reason is not None:
            return reason
        if time.monotonic() > deadline:
            return f"not ready after {START_TIMEOUT_SECONDS:.0f} s (see {service.log})"
        time.sleep(0.05)  # ok-sleep: polling another process with a deadline
    return None


def router_consuming(redis_url: str, since: float) -> Callable[[], bool]:
    """Whether a router on this host went round its consume loop after `since`."""
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=1)

    def beat_since() -> bool:
        try:
            beat = last_router_heartbeat(client, socket.gethostname())
        except redis.RedisError:
            return False
        return beat is not None and beat >= since

    return beat_since


def page_served(url: str) -> Callable[[], bool]:
    def answers() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    return answers


def run_stack(redis_url: str, settings: Settings) -> int:
    """The router (and an OpenClaw worker in hybrid mode), the browser client's voice service
    (unless VOICE=text) and the text console in the foreground (unless VOICE=webrtc); the
    console's prompt appears once the router is consuming, and a service that cannot start
    says why here, not only in its log."""
    env = {**os.environ, "REDIS_URL": redis_url}
    voice = settings.voice
    port = str(settings.voice_port)
    started_at = time.time()
    router = start_service("router", env)
    services = [router]
    if settings.mode is Mode.HYBRID:
        services.append(start_service("openclaw_worker", env))
    web: Service | None = None
    if voice != "text":
        options = ["-t", "webrtc", "--host", "127.0.0.1", "--port", port]
        web = start_service("voice", env, *options)
        services.append(web)
    try:
        problem = wait_until_ready(router, router_consuming(redis_url, started_at))
        if problem:
            print(f"The router did not start:\n{problem}", file=sys.stderr)
            return 1
        if web is not None:
            problem = wait_until_ready(web, page_served(f"http://127.0.0.1:{port}/"))
            if problem:
                print(f"The voice service did not start:\n{problem}", file=sys.stderr)
                if voice == "webrtc":
                    return 1
                print("The browser client is off; the text console works.", file=sys.stderr)
            else:
                print(f"browser client: open http://localhost:{port}/", flush=True)
        if web is not None and voice == "webrtc":
            return web.process.wait()
        return subprocess.Popen([sys.executable, "-m", "voice", "--text"], env=env).wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for service in services:
            stop(service.process)


def main() -> int:
    RUN_DIR.mkdir(exist_ok=True)
    settings = process_settings()
    print(f"hybridbot: mode={settings.mode}, primary model={settings.bot_hybrid_primary_model}")
    if not settings.primary_model_configured and settings.mode is not Mode.OPENCLAW:
        print(f"No primary model is configured. {NO_MODEL_HINT}")
    if "redis_url" in settings.model_fields_set:  # REDIS_URL from the environment or .env
        print(f"redis at {redact_url(settings.redis_url)} (REDIS_URL)", flush=True)
        return run_stack(settings.redis_url, settings)
    with embedded_redis() as url:
        print(f"embedded redis at {url} (data in {RUN_DIR / 'redis'})", flush=True)
        return run_stack(url, settings)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sys.exit(main())
