"""Trust boundaries against real processes: jobs on the queue are data, secrets never reach the
logs, and the voice service only serves who may connect, from where, in their own session."""

import os
import pickle
from pathlib import Path
from urllib.parse import quote, quote_plus

from rq import Queue
from rq.job import JobStatus

from shared import keys
from shared.task_queue import fetch_job, openclaw_queue
from shared.tasks import TASK_JOB
from tests.conftest import RedisAtUrl
from tests.fakes.openai_server import FakeOpenClaw
from tests.processes import service_env, start_service, stop_services, wait_for, wait_for_log


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
        await wait_for_log(services["router"], "consuming stream=", timeout=60)
        await wait_for_log(services["openclaw_worker"], "Listening on", timeout=60)
    finally:
        stop_services(started)
    logs = "".join(log.read_text() for log in services.values())
    assert "starting mode=hybrid" in logs and "hybridbot:***@127.0.0.1:9" in logs
    for secret in [*SECRETS.values(), URL_PASSWORD, QUERY_SECRET]:
        for form in {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}:
            assert form not in logs, form
