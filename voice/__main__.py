"""`python -m voice`: the browser voice service (Pipecat's runner, WebRTC; hybridbot's web client
at http://localhost:7860/, Pipecat's prebuilt UI at /client/); `python -m voice --text`: the
text console on the same bus."""

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from pydantic import SecretStr

from shared.bus.connection import connect_redis, wait_for_redis
from shared.bus.session_link import SessionLink
from shared.bus.sessions import shared_access_token
from shared.settings import RedactSecrets, Settings, configure_logging, process_settings
from voice.access import is_loopback
from voice.console import default_session_id, run_console
from voice.memory import MemoryReturner
from voice.peer import peer_connected
from voice.sessions import IssuerSource
from voice.signalling import LiveSessions, StartEntryReaper

if TYPE_CHECKING:
    from fastapi import FastAPI
    from loguru import Record

log = logging.getLogger("voice")
SESSIONS = IssuerSource()
"""The service's session issuer, shared by the session route and every session's `bot`."""
MEMORY = MemoryReturner()
"""Gives ended sessions' memory back to the system (voice/memory.py)."""
LIVE = LiveSessions()
"""The sessions the service holds, by client (voice/signalling.py)."""
START_ENTRIES = StartEntryReaper(LIVE)
"""Drops the runner's unused `/start` entries (voice/signalling.py)."""


def parse_text_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m voice --text", description=__doc__)
    parser.add_argument("--text", action="store_true", help="text console instead of speech")
    parser.add_argument("--session", default=None, help="resume this session id")
    parser.add_argument("--profile", default="default", help="user profile (owns the notes)")
    return parser.parse_args(argv)


async def console_main(settings: Settings, session_id: str, profile: str) -> int:
    redis = connect_redis(settings.redis_url)
    try:
        await wait_for_redis(redis, settings.redis_url, timeout=15)
        async with SessionLink(redis, session_id, profile, settings.bot_max_turn_chars) as link:
            return await run_console(link)
    finally:
        await redis.aclose()


async def bot(runner_args: object) -> None:
    """One browser session (called by Pipecat's runner per answered offer): nothing is built
    until its peer connects, and everything it holds is released when it ends."""
    settings = process_settings()
    connection = getattr(runner_args, "webrtc_connection", None)
    runner_session = str(getattr(runner_args, "session_id", ""))
    LIVE.runner_sessions.add(runner_session)
    try:
        if connection is None or await peer_connected(connection, settings.voice_connect_timeout):
            await run_session(runner_args, settings)
    finally:
        LIVE.runner_sessions.discard(runner_session)
        if connection is not None:
            LIVE.ended(connection.pc_id)
        MEMORY.session_ended()


async def run_session(runner_args: object, settings: Settings) -> None:
    """The session's pipeline, from its connection until the client leaves."""
    from pipecat.pipeline.worker import PipelineParams, PipelineWorker
    from pipecat.runner.utils import create_transport
    from pipecat.transports.base_transport import TransportParams
    from pipecat.workers.runner import WorkerRunner

    from voice.pipeline import build_pipeline, speech_in
    from voice.services import SPEECH_OUTPUT_OFF, make_tts

    grant = await (await SESSIONS()).for_connection(getattr(runner_args, "body", None))
    session_id, profile = grant.session_id, grant.profile
    transport = await create_transport(
        runner_args,
        {"webrtc": lambda: TransportParams(audio_in_enabled=True, audio_out_enabled=True)},
    )
    redis = connect_redis(settings.redis_url)
    try:
        async with SessionLink(redis, session_id, profile, settings.bot_max_turn_chars) as link:
            stt, user_aggregator, turn_processor = speech_in(link, settings)
            tts = make_tts(settings)
            pipeline = build_pipeline(
                transport.input(),
                stt,
                user_aggregator,
                turn_processor,
                tts,
                transport.output(),
            )
            worker = PipelineWorker(pipeline, params=PipelineParams(), enable_rtvi=True)

            if tts is None:

                @worker.rtvi.event_handler("on_client_ready")
                async def say_speech_is_off(rtvi: object) -> None:
                    await worker.rtvi.send_server_message(
                        {"type": "notice", "text": SPEECH_OUTPUT_OFF}
                    )

            @transport.event_handler("on_client_disconnected")
            async def on_client_disconnected(_transport: object, _client: object) -> None:
                # The session's history, inbox and tasks stay in Redis for a reconnect.
                log.info("client left session=%s", session_id)
                await worker.cancel()

            log.info("voice session started session=%s profile=%s", session_id, profile)
            await WorkerRunner(handle_sigint=getattr(runner_args, "handle_sigint", False)).run(
                worker
            )
    finally:
        await redis.aclose()
        log.info("voice session ended session=%s", session_id)


def check_voice_services(settings: Settings) -> None:
    """Fail at start-up, not at the first connection, when a speech service cannot start."""
    from voice.services import (
        SPEECH_OUTPUT_OFF,
        VoiceConfigError,
        make_stt,
        make_tts,
        stt_choice,
        tts_choice,
    )

    try:
        make_stt(settings)
        tts = make_tts(settings)
    except VoiceConfigError as exc:
        sys.exit(f"voice: {exc}")
    log.info("speech: stt=%s tts=%s", stt_choice(settings), tts_choice(settings))
    if stt_choice(settings) == "none":
        log.warning(
            "speech input is off (no VOICE_STT, VOICE_WHISPER_MODEL or OPENAI_API_KEY): "
            "typed text only"
        )
    if tts is None:
        log.warning("%s", SPEECH_OUTPUT_OFF)


def runner_option(argv: list[str], option: str, default: str) -> str:
    """The value of one of the Pipecat runner's options (`--host`), as it will parse it."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument(option, default=default)
    known, _ = parser.parse_known_args(argv)
    return str(getattr(known, option.lstrip("-").replace("-", "_")))


def guard_the_web_service(app: "FastAPI", settings: Settings, argv: list[str]) -> list[str]:
    """Put the access rules in front of every route (voice/access.py), add the session route,
    scrub secrets from Pipecat's own (loguru) logs; returns the runner's arguments with its
    CORS list set to the allowed origins, never "any origin"."""
    from loguru import logger

    from voice.access import AccessConfigError, AccessGuard, allowed_hosts, check_bind
    from voice.sessions import add_session_route
    from voice.signalling import SignallingLimits

    host = runner_option(argv, "--host", "localhost")
    port = runner_option(argv, "--port", "7860")
    settings = with_generated_token(settings, host, port)
    try:
        check_bind(settings, host)
    except AccessConfigError as exc:
        sys.exit(f"voice: {exc}")
    # The last middleware added runs first: access is checked before anything is counted.
    app.add_middleware(
        SignallingLimits,
        sessions=LIVE,
        start_entries=START_ENTRIES.count,
        max_sessions=settings.voice_max_sessions,
        max_sessions_per_client=settings.voice_max_sessions_per_client,
        signalling_per_minute=settings.voice_signalling_per_minute,
    )
    app.add_middleware(
        AccessGuard,
        tokens=settings.access_tokens,
        allowed_origins=settings.allowed_origins,
        hosts=allowed_hosts(settings, host),
    )
    reap_start_entries_while_serving(app)
    add_session_route(app, SESSIONS)
    scrubber = RedactSecrets(settings.secrets)

    def scrub(record: "Record") -> None:
        record["message"] = scrubber.scrub(record["message"])

    logger.configure(patcher=scrub)
    cors = settings.allowed_origins or [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
    access = "token" if settings.access_tokens else "loopback only"
    if not settings.access_tokens and not is_loopback(host):
        access = "anonymous"
    origins = ",".join(settings.allowed_origins) or "same origin only"
    hosts = ",".join(sorted(allowed_hosts(settings, host) or ["any"]))
    log.info("voice on %s:%s access=%s origins=%s hosts=%s", host, port, access, origins, hosts)
    return [*argv, "--allowed-origins", *cors]


def with_generated_token(settings: Settings, host: str, port: str) -> Settings:
    """Beyond loopback with no VOICE_ACCESS_TOKEN (and no anonymous access chosen), as Jupyter
    does: a token generated once and kept in Redis (every replica shares it), and the link that
    carries it logged, so `docker compose up` needs no `.env`."""
    if is_loopback(host) or settings.access_tokens or settings.voice_allow_anonymous:
        return settings
    token = asyncio.run(generated_access_token(settings.redis_url))
    log.warning(
        "no VOICE_ACCESS_TOKEN set: using the generated one kept in Redis. Open the client at "
        "http://localhost:%s/#token=%s (or this machine's address instead of localhost); set "
        "VOICE_ACCESS_TOKEN to choose your own",
        port,
        token,
    )
    return settings.model_copy(update={"voice_access_token": SecretStr(token)})


async def generated_access_token(redis_url: str) -> str:
    """The access token shared by every replica (kept in Redis), once Redis answers."""
    redis = connect_redis(redis_url)
    try:
        await wait_for_redis(redis, redis_url)
        return await shared_access_token(redis)
    finally:
        await redis.aclose()


def reap_start_entries_while_serving(app: "FastAPI") -> None:
    """Run the `/start` entry reaper for as long as the app serves (it finds the runner's
    entries once the runner has added its routes, at start-up)."""
    serving = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app: "FastAPI") -> AsyncIterator[None]:
        async with serving(app):
            reaper = asyncio.create_task(START_ENTRIES.run(app))
            try:
                yield
            finally:
                reaper.cancel()

    app.router.lifespan_context = lifespan


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    settings = process_settings()
    configure_logging(settings)
    if "--text" in argv:
        args = parse_text_args(argv)
        try:
            code = asyncio.run(
                console_main(settings, args.session or default_session_id(), args.profile)
            )
        except KeyboardInterrupt:
            code = 0
        sys.exit(code)
    check_voice_services(settings)
    from pipecat.runner.run import app
    from pipecat.runner.run import main as run_pipecat

    from voice.web_client import add_web_client

    runner_argv = guard_the_web_service(app, settings, argv or ["-t", "webrtc"])
    add_web_client(app)

    # Pipecat's runner looks for `bot` in the __main__ module, which is not this one when
    # started through the `hybridbot-voice` console script.
    setattr(sys.modules["__main__"], "bot", bot)  # noqa: B010  (a module attribute, set late)
    sys.argv = [sys.argv[0], *runner_argv]
    MEMORY.freeze_start_up()
    run_pipecat()


if __name__ == "__main__":
    main()
