"""Running the services' own commands (as docker-compose.yml names them) as local processes."""

import asyncio
import inspect
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path

import trustme
import yaml

from shared.local_redis import LocalRedis

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def start_service(
    name: str, env: dict[str, str], log: Path, options: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """Start a compose service's command with `env`, appending its output to `log`; `options`
    replace the values of the command's options (e.g. `{"--port": "8123"}`)."""
    command = list(COMPOSE["services"][name]["command"])
    assert command[0] == "python"
    for option, value in (options or {}).items():
        command[command.index(option) + 1] = value
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, *command[1:]], env=env, stdout=out, stderr=out)


ROUTER_CONSUMING = "consuming stream="
"""What a router logs once it reads turns (`TurnGroup` names the stream)."""


def service_env(redis_url: str, **values: str) -> dict[str, str]:
    return {**os.environ, "REDIS_URL": redis_url, "LOG_LEVEL": "INFO", **values}


def hybrid_env(redis_url: str, model_url: str, gateway_url: str, **values: str) -> dict[str, str]:
    """Services in hybrid mode against a fake model and a fake gateway, tier 0 off (the tests
    are about the model path)."""
    return service_env(
        redis_url,
        OPENAI_BASE_URL=model_url,
        OPENAI_API_KEY="sk-test",
        OPENCLAW_API_URL=gateway_url,
        BOT_TIER0="false",
        **values,
    )


async def wait_for(condition: Callable[[], bool | Awaitable[bool]], timeout: float = 60) -> None:
    """Wait until `condition()` (a bool, or an awaitable of one) holds, polling, with a deadline;
    for state another process or thread changes, which nothing can wait on directly."""

    async def holds() -> bool:
        result = condition()
        return await result if inspect.isawaitable(result) else result

    async def poll() -> None:
        while not await holds():
            await asyncio.sleep(0.02)  # ok-sleep: polling with a deadline

    await asyncio.wait_for(poll(), timeout)


def wait_until(condition: Callable[[], bool], timeout: float = 60) -> bool:
    """`wait_for` for synchronous fixtures: poll `condition()` until it holds (True) or the
    deadline passes (False, for the caller to assert on with what explains it)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)  # ok-sleep: polling with a deadline
    return True


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


def serves_page(url: str) -> bool:
    """Whether `url` answers 200 now."""
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


class RedisServer(LocalRedis):
    """A redis-server of the test's own on a free port, to kill and start again. Its data is
    kept in an append-only file synced on every write, as a deployment that must not lose
    accepted turns would run it. With `password` it requires AUTH; with `tls` (a trustme CA)
    it only accepts TLS connections, with a certificate for 127.0.0.1 signed by that CA."""

    def __init__(
        self, directory: Path, password: str | None = None, tls: "trustme.CA | None" = None
    ) -> None:
        super().__init__(directory, durable=True)
        self.password = password
        self.tls = tls

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        if self.tls is None:
            return f"redis://{auth}127.0.0.1:{self.port}/0"
        return f"rediss://{auth}127.0.0.1:{self.port}/0?ssl_ca_certs={self.ca_file}"

    def command(self) -> list[str]:
        command = super().command()
        if self.password:
            command += ["--requirepass", self.password]
        if self.tls is None:
            return command
        self.tls.cert_pem.write_to_path(str(self.ca_file))
        leaf = self.tls.issue_cert("127.0.0.1")
        leaf.private_key_pem.write_to_path(str(self.directory / "key.pem"))
        leaf.cert_chain_pems[0].write_to_path(str(self.directory / "cert.pem"))
        return [
            *command,
            "--port", "0",
            "--tls-port", str(self.port),
            "--tls-cert-file", str(self.directory / "cert.pem"),
            "--tls-key-file", str(self.directory / "key.pem"),
            "--tls-ca-cert-file", str(self.ca_file),
            "--tls-auth-clients", "no",
        ]  # fmt: skip

    def __exit__(self, *exc_info: object) -> None:
        self.kill()


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
