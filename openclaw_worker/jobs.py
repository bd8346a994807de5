"""The RQ job of a delegated task: ask OpenClaw, speak its answer sentence by sentence.

Every event goes to the session's channel and its durable inbox, so a voice session that was
away hears the result when it comes back. The answer is appended to the session's history, so
the fast model can discuss it afterwards.
"""

import asyncio
import logging
from typing import Any

import httpx
import redis.asyncio as aioredis
from rq import get_current_job
from rq.job import Job
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential,
)

from openclaw_worker.gateway import GatewayError, OpenClawGateway, is_known_error_text
from shared.bus.connection import connect_redis
from shared.bus.history import SessionHistory
from shared.bus.responses import DurableResponse
from shared.bus.task_queue import RefusedJob, TaskQueue, rq_connection, task_arguments
from shared.bus.task_recovery import recover_lost_task, superseded
from shared.bus.tasks import (
    FINISHED,
    TaskRecord,
    cancel_requested,
    end_lease,
    load_task,
    renew_lease,
    update_task,
)
from shared.messages import TaskStatus, task_result_message
from shared.settings import Settings, configure_logging
from shared.speech import SentenceSplitter, SpeechFilter

log = logging.getLogger(__name__)

WATCH_INTERVAL_SECONDS = 0.25
"""How often a running task checks for cancellation, silence and its deadline."""
RETRY_BACKOFF_SECONDS = 0.5
"""First wait before retrying a task the gateway refused to start; doubles each time."""
CONTEXT_MESSAGES = 6
"""Recent history messages passed to OpenClaw as context for the task."""
SYSTEM_MESSAGE = (
    "You are the research and action back end of a voice assistant. Your answer will be read "
    "aloud: write short, plain spoken sentences, no markdown, tables, lists or URLs, and put "
    "the most useful point first."
)


MAX_ANSWER_CHARS = 20_000
"""An answer is spoken and kept up to this size; the rest is cut (and said to be)."""
SPOKEN_CUT = "That answer was too long to read out, so I stopped there."


class AnswerTooLong(Exception):
    """The gateway's answer passed MAX_ANSWER_CHARS: stop reading it."""


class TaskCancelled(Exception):
    """The user asked to cancel the task while it ran."""


class TaskSuperseded(Exception):
    """This run stalled past its lease and was given up for lost; another run took over."""


def task_messages(record: TaskRecord, history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """System message, recent conversation as context, then the task itself."""
    lines = [
        f"{m['role'].capitalize()}: {m['content']}"
        for m in history[-CONTEXT_MESSAGES:]
        if m.get("role") in ("user", "assistant") and m.get("content")
    ]
    task = record.task
    if lines:
        task = "Recent conversation, for context:\n" + "\n".join(lines) + f"\n\nTask: {task}"
    return [{"role": "system", "content": SYSTEM_MESSAGE}, {"role": "user", "content": task}]


class TaskRunner:
    """Runs one task to a spoken outcome: done, failed or cancelled."""

    def __init__(
        self, settings: Settings, redis: aioredis.Redis, gateway: OpenClawGateway, worker: str
    ) -> None:
        self.settings = settings
        self.redis = redis
        self.gateway = gateway
        self.worker = worker
        self.history = SessionHistory.from_settings(redis, settings)

    async def run(self, session_id: str, task_id: str) -> TaskStatus:
        record = await load_task(self.redis, session_id, task_id)
        if record is None:
            log.warning("task record missing session=%s task=%s", session_id, task_id)
            return "failed"
        if record.status in FINISHED:
            return record.status
        publisher = DurableResponse(self.redis, session_id, task_id, origin="task")
        if await cancel_requested(self.redis, session_id, task_id):
            return await self._cancelled(record, publisher)
        record = await update_task(
            self.redis, record, status="started", worker=self.worker, attempts=record.attempts + 1
        )
        await self._renew_lease(record)
        try:
            status = await self._run_started(record, publisher)
        except TaskSuperseded:
            # The lease is the new run's now: leave it alone.
            log.warning("task run %d given up for lost; stopping it", record.attempts)
            return "failed"
        await end_lease(self.redis, session_id, task_id)
        return status

    async def _renew_lease(self, record: TaskRecord) -> None:
        """Keep the task ours; stop at once if it was already given up for lost."""
        if await superseded(self.redis, record.session_id, record.task_id, record.attempts):
            raise TaskSuperseded
        await renew_lease(
            self.redis, record.session_id, record.task_id, self.settings.bot_task_lease_seconds
        )

    async def _run_started(self, record: TaskRecord, publisher: DurableResponse) -> TaskStatus:
        session_id, task_id = record.session_id, record.task_id
        await publisher.status("started", record.label)
        history = await self.history.load(session_id)
        spoken: list[str] = []
        try:
            await self._answer(record, publisher, task_messages(record, history), spoken)
        except TaskCancelled:
            return await self._cancelled(record, publisher)
        except GatewayError as exc:
            return await self._failed(record, publisher, exc, spoken)
        answer = " ".join(spoken)
        await publisher.status("done", record.label)
        await publisher.done()
        await self._remember(record, answer)
        await update_task(self.redis, record, status="done", answer_preview=answer[:200])
        log.info("task done session=%s task=%s chars=%d", session_id, task_id, len(answer))
        return "done"

    async def _answer(
        self,
        record: TaskRecord,
        publisher: DurableResponse,
        messages: list[dict[str, Any]],
        spoken: list[str],
    ) -> None:
        """Stream the answer into spoken sentences, watching for cancel, silence and deadline."""
        loop = asyncio.get_running_loop()
        splitter = SentenceSplitter()
        speech = SpeechFilter()
        last_heard = loop.time()
        deadline = loop.time() + self.settings.openclaw_task_timeout
        renew_every = self.settings.bot_task_lease_seconds / 3
        next_renewal = loop.time() + renew_every

        async def speak(sentence: str) -> None:
            text = speech.speakable(sentence)
            if not text:
                return
            if is_known_error_text(text):
                raise GatewayError("openclaw_error", "OpenClaw ran into an error.", detail=text)
            await publisher.text(text)
            spoken.append(text)

        received = 0

        async def on_text(delta: str) -> None:
            nonlocal last_heard, received
            last_heard = loop.time()
            received += len(delta)
            if received > MAX_ANSWER_CHARS:
                raise AnswerTooLong
            for sentence in splitter.feed(delta):
                await speak(sentence)

        streaming = asyncio.create_task(self._stream_with_retries(record, messages, on_text))
        try:
            while not streaming.done():
                await asyncio.wait({streaming}, timeout=WATCH_INTERVAL_SECONDS)
                if streaming.done():
                    break
                if await cancel_requested(self.redis, record.session_id, record.task_id):
                    raise TaskCancelled
                if loop.time() >= next_renewal:
                    await self._renew_lease(record)
                    next_renewal = loop.time() + renew_every
                if loop.time() > deadline:
                    raise GatewayError("openclaw_timeout", "OpenClaw took too long.")
                if loop.time() - last_heard >= self.settings.openclaw_progress_after:
                    last_heard = loop.time()
                    await publisher.status(
                        "progress", record.label, f"Still working on {record.label}."
                    )
            streaming.result()
        except AnswerTooLong:
            log.warning("task answer cut session=%s task=%s", record.session_id, record.task_id)
            await speak(SPOKEN_CUT)
            return
        finally:
            # Closing the HTTP stream is what tells OpenClaw to abort the run.
            streaming.cancel()
            await asyncio.gather(streaming, return_exceptions=True)
        await speak(splitter.flush())
        if not spoken:
            raise GatewayError("openclaw_empty", "OpenClaw sent no answer.")

    async def _stream_with_retries(
        self, record: TaskRecord, messages: list[dict[str, Any]], on_text: Any
    ) -> None:
        """The answer streamed from the gateway, tried again (up to OPENCLAW_MAX_ATTEMPTS, 0.5 s
        then doubling between tries) when it failed before sending anything."""

        def log_retry(state: RetryCallState) -> None:
            log.warning(
                "task retry session=%s task=%s attempt=%d error=%s",
                record.session_id,
                record.task_id,
                state.attempt_number,
                state.outcome.exception() if state.outcome else None,
            )

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.settings.openclaw_max_attempts),
            wait=wait_exponential(multiplier=RETRY_BACKOFF_SECONDS),
            retry=retry_if_exception(lambda exc: isinstance(exc, GatewayError) and exc.retryable),
            before_sleep=log_retry,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                await self.gateway.stream_answer(messages, f"hybridbot-{record.task_id}", on_text)

    async def _remember(self, record: TaskRecord, text: str) -> None:
        """Add the result to the session's history so the fast model can discuss it."""
        await self.history.append(record.session_id, [task_result_message(record.label, text)])

    async def _failed(
        self, record: TaskRecord, publisher: DurableResponse, exc: GatewayError, spoken: list[str]
    ) -> TaskStatus:
        log.warning(
            "task failed session=%s task=%s error=%s", record.session_id, record.task_id, exc
        )
        message = f"Sorry, {record.label} failed: {exc.spoken}"
        await publisher.text(message)
        await publisher.status("failed", record.label, message)
        await publisher.done(exc.reason)
        await self._remember(record, " ".join([*spoken, message]))
        await update_task(self.redis, record, status="failed", error=exc.reason)
        return "failed"

    async def _cancelled(self, record: TaskRecord, publisher: DurableResponse) -> TaskStatus:
        log.info("task cancelled session=%s task=%s", record.session_id, record.task_id)
        await publisher.status("cancelled", record.label, f"Cancelled {record.label}.")
        await publisher.done("cancelled")
        await update_task(self.redis, record, status="cancelled")
        return "cancelled"


class TaskJob(Job):
    """The only kind of job an OpenClaw worker runs. RQ's own Job imports and calls whatever
    function a job names (and any callback it names); anyone who can write to Redis could make
    a worker run `os.system`. This one runs `run_task` with validated ids, or fails with the
    reason and runs nothing."""

    def _execute(self) -> Any:
        try:
            session_id, task_id = task_arguments(self)
        except RefusedJob as refused:
            log.error("refused job=%s: %s; nothing was run", self.id, refused)
            raise
        return run_task(session_id, task_id)

    # Callbacks are named by import path too; tasks use none, so none is ever imported.
    success_callback = None
    failure_callback = None
    stopped_callback = None


def on_work_horse_killed(job: Job, _pid: int, _status: int, _usage: object) -> None:
    """RQ's hook in the worker's main process when a job's work horse dies without finishing:
    run the task again or tell the user, now rather than when its lease ends."""
    try:
        session_id, task_id = task_arguments(job)
    except RefusedJob as refused:
        log.error("a refused job's work horse died job=%s: %s", job.id, refused)
        return
    settings = Settings()  # read per job, as in `run_task`

    async def recover() -> None:
        redis = connect_redis(settings.redis_url)
        try:
            queue = TaskQueue(rq_connection(settings.redis_url), settings.openclaw_task_timeout)
            await recover_lost_task(
                redis, queue, settings.bot_task_max_attempts, session_id, task_id
            )
        finally:
            await redis.aclose()

    asyncio.run(recover())


async def run_task_async(settings: Settings, session_id: str, task_id: str, worker: str) -> str:
    redis = connect_redis(settings.redis_url)
    try:
        async with httpx.AsyncClient() as client:
            runner = TaskRunner(settings, redis, OpenClawGateway(settings, client), worker)
            return await runner.run(session_id, task_id)
    finally:
        await redis.aclose()


def run_task(session_id: str, task_id: str) -> str:
    """RQ entry point (`shared.bus.tasks.TASK_JOB`); returns the final status."""
    # Read per job: RQ runs each job in a work horse of its own (a fork), so this is once per
    # process there; a worker running jobs in its own process (tests, `rq worker --burst`
    # with SimpleWorker) must see the environment the job runs in.
    settings = Settings()
    configure_logging(settings)
    job = get_current_job()
    worker = (job.worker_name if job else None) or "inline"
    return asyncio.run(run_task_async(settings, session_id, task_id, worker))
