"""Trust boundaries against real processes: jobs on the queue are data, secrets never reach the
logs, and the voice service only serves who may connect, from where, in their own session."""

import contextlib
import json
import os
import pickle
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import redis.asyncio as aioredis
from rq import Queue
from rq.job import JobStatus

from shared.bus import keys
from shared.bus.responses import DurableResponse
from shared.bus.task_queue import fetch_job, openclaw_queue
from shared.bus.tasks import TASK_JOB
from shared.local_redis import free_port
from shared.settings import Settings
from tests.conftest import RedisAtUrl
from tests.fakes.openai_server import FakeOpenClaw
from tests.processes import (
    ROUTER_CONSUMING,
    serves_page,
    service_env,
    start_service,
    stop_services,
    wait_for,
    wait_for_log,
    wait_until,
)
from voice.sessions import SessionIssuer


class RunsAShellCommand:
    """What an attacker pickles into a job's payload: unpickling it runs `touch marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (f"touch {self.marker}",))


async def test_a_worker_runs_no_job_but_a_task_and_says_why(
    redis_at_url: RedisAtUrl, tmp_path: Path
) -> None:
    markers = {name: tmp_path / f"{name}.ran" for name in ("pickled", "named", "payload")}
    rq = redis_at_url.rq_connection
    # RQ's default serializer (pickle), naming os.system: what `enqueue("os.system", ...)` does.
    pickled = Queue(keys.OPENCLAW_QUEUE, connection=rq).enqueue(
        "os.system", f"touch {markers['pickled']}"
    )
    # JSON, as our queue stores jobs, but naming another function.
    named = openclaw_queue(rq).enqueue("os.system", f"touch {markers['named']}")
    # A real task job whose payload is then replaced with a pickle that runs code when loaded.
    payload = openclaw_queue(rq).enqueue(TASK_JOB, "s1", "task-1")
    rq.hset(payload.key, "data", pickle.dumps(RunsAShellCommand(markers["payload"])))
    jobs = [pickled.id, named.id, payload.id]

    log = tmp_path / "worker.log"
    with FakeOpenClaw() as claw:
        env = service_env(redis_at_url.url, OPENCLAW_API_URL=claw.url)
        worker = start_service("openclaw_worker", env, log)
        try:

            def all_failed() -> bool:
                return all(fetch_job(j, rq).get_status() == JobStatus.FAILED for j in jobs)

            await wait_for(all_failed, timeout=60)
        finally:
            stop_services([worker])
        assert not claw.requests
    assert not [name for name, marker in markers.items() if marker.exists()]
    text = log.read_text()
    assert "refused job=" + named.id + ": it names 'os.system'" in text
    for not_json in (pickled.id, payload.id):  # RQ itself fails these: JSON cannot load them
        assert f"job {not_json}: exception raised while executing (<DeserializationError>)" in text


def test_the_same_attack_succeeds_without_the_guard_proving_the_test_can_fail(
    tmp_path: Path,
) -> None:
    """The payload above is a real exploit: unpickled by plain pickle, it runs."""
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(RunsAShellCommand(marker)))
    assert marker.exists()


SECRETS = {
    "OPENAI_API_KEY": "sk-planted-model-key-1",
    "OPENCLAW_API_TOKEN": "planted-gateway-token-2",
    "YOUTUBE_API_KEY": "planted-youtube-key-3",
}
URL_PASSWORD = "planted/url:pass word-4"
QUERY_SECRET = "planted query key 5"


async def test_start_up_logs_at_debug_hold_no_secret_in_any_form(
    redis_at_url: RedisAtUrl, tmp_path: Path
) -> None:
    env = service_env(
        redis_at_url.url,
        LOG_LEVEL="DEBUG",
        OPENCLAW_API_URL=f"http://hybridbot:{quote(URL_PASSWORD, safe='')}@127.0.0.1:9/gw",
        OPENAI_BASE_URL=f"http://127.0.0.1:9/v1?api-key={quote(QUERY_SECRET)}&region=eu",
        **SECRETS,
    )
    services = {name: tmp_path / f"{name}.log" for name in ("router", "openclaw_worker")}
    started = [start_service(name, env, log) for name, log in services.items()]
    try:
        await wait_for_log(services["router"], ROUTER_CONSUMING, timeout=60)
        await wait_for_log(services["openclaw_worker"], "Listening on", timeout=60)
    finally:
        stop_services(started)
    logs = "".join(log.read_text() for log in services.values())
    assert "starting mode=hybrid" in logs and "hybridbot:***@127.0.0.1:9" in logs
    for secret in [*SECRETS.values(), URL_PASSWORD, QUERY_SECRET]:
        for form in {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}:
            assert form not in logs, form


def http(
    method: str, url: str, body: dict | None = None, **headers: str
) -> tuple[int, dict[str, str], dict]:
    """One request: (status, headers, JSON body or {})."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    for name, value in headers.items():
        request.add_header(name.replace("_", "-"), value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, raw, got = response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        status, raw, got = error.code, error.read(), dict(error.headers)
    try:
        return status, {k.lower(): v for k, v in got.items()}, json.loads(raw or b"{}")
    except ValueError:
        return status, {k.lower(): v for k, v in got.items()}, {}


@contextlib.contextmanager
def voice_service(
    redis_url: str, tmp_path: Path, host: str = "127.0.0.1", **env: str
) -> Iterator[str]:
    """The voice service on a free port; yields its base URL (always reached over loopback)."""
    port = free_port()
    tmp_path.mkdir(parents=True, exist_ok=True)
    log = tmp_path / f"voice-{port}.log"
    service = start_service(
        "voice",
        service_env(redis_url, VOICE_STT="none", VOICE_TTS="none", **env),
        log,
        {"--host": host, "--port": str(port)},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        started = wait_until(lambda: serves_page(base + "/") or service.poll() is not None)
        assert started and service.poll() is None, log.read_text()[-3000:]
        yield base
    finally:
        stop_services([service])


def test_a_page_of_another_origin_is_refused(redis_at_url: RedisAtUrl, tmp_path: Path) -> None:
    with voice_service(redis_at_url.url, tmp_path) as base:
        evil = "https://evil.example"
        status, headers, _ = http("POST", base + "/start", {"transport": "webrtc"}, Origin=evil)
        assert status == 403
        assert headers.get("access-control-allow-origin") != evil
        status, headers, _ = http("POST", base + "/session", {}, Origin=evil)
        assert status == 403 and "access-control-allow-origin" not in headers
        status, _, session = http("POST", base + "/session", {}, Origin=base)
        assert status == 200 and session["session_id"].startswith("voice-")


def test_beyond_loopback_with_no_token_set_one_is_generated_shared_and_logged(
    redis_at_url: RedisAtUrl, tmp_path: Path
) -> None:
    """`docker compose up` with no .env: like Jupyter, a token is generated (kept in Redis, so
    a second replica uses the same), the link carrying it is logged, and nothing but the page
    is served without it."""
    with (
        voice_service(redis_at_url.url, tmp_path / "a", "0.0.0.0") as first,
        voice_service(redis_at_url.url, tmp_path / "b", "0.0.0.0") as second,
    ):
        logged = [
            re.findall(r"#token=([0-9a-f]{32})", log.read_text())
            for log in (
                *(tmp_path / "a").glob("voice-*.log"),
                *(tmp_path / "b").glob("voice-*.log"),
            )
        ]
        assert len(logged) == 2 and logged[0] and logged[0] == logged[1]
        token = logged[0][0]
        for base in (first, second):
            assert serves_page(base + "/")
            assert http("POST", base + "/session", {})[0] == 401
            assert http("POST", base + "/session", {}, Authorization=f"Bearer {token}")[0] == 200


def test_beyond_loopback_the_service_needs_a_token_and_refuses_requests_without_it(
    redis_at_url: RedisAtUrl, tmp_path: Path
) -> None:
    tokens = "first-device-token,second-device-token"
    with voice_service(redis_at_url.url, tmp_path, "0.0.0.0", VOICE_ACCESS_TOKEN=tokens) as base:
        assert serves_page(base + "/")  # the page itself, to ask for the token
        for path in ("/session", "/start", "/api/offer"):
            assert http("POST", base + path, {})[0] == 401, path
        assert http("POST", base + "/session", {}, Authorization="Bearer wrong")[0] == 401
        bearer = {"Authorization": "Bearer second-device-token"}
        assert http("POST", base + "/session", {}, **bearer)[0] == 200
        cookie = {"Cookie": "hybridbot_access=first-device-token"}
        assert http("POST", base + "/session", {}, **cookie)[0] == 200


async def test_a_session_is_resumed_only_with_its_current_token(
    redis_at_url: RedisAtUrl, tmp_path: Path
) -> None:
    client = redis_at_url.client
    with voice_service(redis_at_url.url, tmp_path) as base:
        _, _, victim = http("POST", base + "/session", {"profile": "alice"})
        sid = victim["session_id"]
        assert len(sid.removeprefix("voice-")) == 32 and victim["profile"] == "alice"
        result = DurableResponse(client, sid, "task-1", origin="task")
        await result.text("Your private research result.")
        await result.done()
        inbox_before = await client.xrange(keys.session_inbox(sid))

        forged = "~".join([*victim["token"].split("~")[:4], "0" * 64])
        attempts = [
            {"session_id": sid, "profile": "alice"},  # naming the session
            {"token": forged},  # a token it was never issued
            {"token": victim["token"].replace("alice", "bob")},  # a profile swapped in
        ]
        for attempt in attempts:
            _, _, got = http("POST", base + "/session", attempt)
            assert (got["session_id"] != sid and got["profile"] != "alice") or attempt.get(
                "profile"
            )
            assert got["session_id"] != sid, attempt

        _, _, resumed = http("POST", base + "/session", {"token": victim["token"]})
        assert (resumed["session_id"], resumed["profile"]) == (sid, "alice")
        assert resumed["token"] != victim["token"]
        _, _, replayed = http("POST", base + "/session", {"token": victim["token"]})
        assert replayed["session_id"] != sid

        assert await client.xrange(keys.session_inbox(sid)) == inbox_before
        assert not await client.smembers(keys.session_inbox_heard(sid))


async def test_a_connection_joins_only_the_session_its_current_token_resumes(
    redis_client: aioredis.Redis,
) -> None:
    issuer = SessionIssuer(redis_client, b"server secret")
    victim = await issuer.resume_or_issue(None, "alice")
    named = await issuer.for_connection({"session_id": victim.session_id, "profile": "alice"})
    assert (named.session_id, named.profile) != (victim.session_id, "alice")
    assert await issuer.for_connection({"session_token": victim.token}) == victim
    assert (await issuer.for_connection({"session_token": 42})).session_id != victim.session_id
    newer = await issuer.resume_or_issue(victim.token, "default")
    replayed = await issuer.for_connection({"session_token": victim.token})
    assert replayed.session_id != victim.session_id
    assert (await issuer.for_connection({"session_token": newer.token})).session_id == (
        victim.session_id
    )


async def test_replicas_keep_one_session_secret_after_redis_loses_it(
    redis_at_url: RedisAtUrl,
) -> None:
    """Two voice replicas with a generated secret; Redis loses it, a third replica starts (and
    writes a new one): every replica accepts every other's new tokens."""
    settings = Settings(_env_file=None, REDIS_URL=redis_at_url.url)
    first = await SessionIssuer.from_settings(redis_at_url.client, settings)
    second = await SessionIssuer.from_settings(redis_at_url.client, settings)
    await redis_at_url.client.delete(keys.VOICE_SESSION_SECRET)
    third = await SessionIssuer.from_settings(redis_at_url.client, settings)
    assert third.secret != first.secret

    by_third = await third.issue("alice")
    # The first replica, holding the lost secret, meets a token signed with the new one.
    assert await first.current(by_third.token) == by_third
    by_first = await first.issue("bob")
    by_second = await second.issue("carol")

    for replica in (first, second, third):
        for grant in (by_third, by_first, by_second):
            assert await replica.current(grant.token) == grant


def test_a_rebinding_host_name_is_refused_on_every_route(
    redis_at_url: RedisAtUrl, tmp_path: Path
) -> None:
    """A page at rebind.evil.example, whose name resolves to 127.0.0.1, calls the token-less
    loopback service as its own origin: 403 on every route. The loopback names still work."""
    with voice_service(redis_at_url.url, tmp_path) as base:
        port = base.rsplit(":", 1)[1]
        rebound = {
            "Host": f"rebind.evil.example:{port}",
            "Origin": f"http://rebind.evil.example:{port}",
        }
        for method, path in [
            ("GET", "/"),
            ("GET", "/docs"),
            ("GET", "/client/"),
            ("POST", "/session"),
            ("POST", "/start"),
            ("POST", "/api/offer"),
        ]:
            body: dict | None = None if method == "GET" else {}
            assert http(method, base + path, body, **rebound)[0] == 403, path
        for name in ("localhost", "127.0.0.1", "[::1]"):
            own = {"Host": f"{name}:{port}", "Origin": f"http://{name}:{port}"}
            assert http("POST", base + "/session", {}, **own)[0] == 200, name
