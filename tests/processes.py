"""Running the services' own commands (as docker-compose.yml names them) as local processes."""

import asyncio
import os
import signal
import subprocess
import sys
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
