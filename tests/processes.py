"""Running the services' own commands (as docker-compose.yml names them) as local processes."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def start_service(name: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a compose service's command with `env`, appending its output to `log`."""
    command = COMPOSE["services"][name]["command"]
    assert command[0] == "python"
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, *command[1:]], env=env, stdout=out, stderr=out)


def service_env(redis_url: str, **values: str) -> dict[str, str]:
    return {**os.environ, "REDIS_URL": redis_url, "LOG_LEVEL": "INFO", **values}


async def wait_for(condition: Callable[[], Awaitable[bool]], timeout: float = 60) -> None:
    async def poll() -> None:
        while not await condition():
            await asyncio.sleep(0.02)  # ok-sleep: polling with a deadline

    await asyncio.wait_for(poll(), timeout)


async def wait_for_log(log: Path, text: str, timeout: float = 60) -> None:
    """Wait until a service's log says `text` (e.g. that it is consuming)."""

    async def logged() -> bool:
        return log.exists() and text in log.read_text(errors="replace")

    await wait_for(logged, timeout)


def stop_services(processes: list[subprocess.Popen[bytes]], timeout: float = 30) -> None:
    """SIGTERM each (a graceful stop), then SIGKILL what is still running after `timeout`."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class RedisServer:
    """A redis-server of the test's own on a free port, to kill and start again. Its data is
    kept in an append-only file synced on every write, as a deployment that must not lose
    accepted turns would run it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            "redis-server",
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.directory),
            "--save", "",
            "--appendonly", "yes",
            "--appendfsync", "always",
        ]  # fmt: skip
        with (self.directory / "redis.log").open("ab") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=out)
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server on port {self.port} did not start")
            time.sleep(0.05)  # ok-sleep: polling a starting server with a deadline

    def kill(self) -> None:
        """SIGKILL, as a crash or an OOM kill would stop it."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
