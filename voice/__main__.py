"""`python -m voice`: the browser voice service (Pipecat's runner, WebRTC; hybridbot's web client
at http://localhost:7860/, Pipecat's prebuilt UI at /client/); `python -m voice --text`: the
text console on the same bus."""

import argparse
import asyncio
import logging
import sys

from shared.connection import connect_redis, wait_for_redis
from shared.messages import new_id
from shared.settings import Settings, configure_logging
from voice.bridge import SessionBridge
from voice.console import default_session_id, run_console

log = logging.getLogger("voice")


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
        async with SessionBridge(redis, session_id, profile) as bridge:
            return await run_console(bridge)
    finally:
        await redis.aclose()


async def bot(runner_args: object) -> None:
    """One browser session (called by Pipecat's runner per connection)."""
    from pipecat.audio.vad.silero import SileroVADAnalyzer
    from pipecat.pipeline.worker import PipelineParams, PipelineWorker
    from pipecat.runner.utils import create_transport
    from pipecat.transports.base_transport import TransportParams
    from pipecat.workers.runner import WorkerRunner

    from voice.pipeline import build_pipeline, user_turns_to_redis
    from voice.services import SPEECH_OUTPUT_OFF, make_stt, make_tts

    settings = Settings()
    body = getattr(runner_args, "body", None) or {}
    session_id = str(body.get("session_id") or f"voice-{new_id()}")
    profile = str(body.get("profile") or "default")
    transport = await create_transport(
        runner_args,
        {"webrtc": lambda: TransportParams(audio_in_enabled=True, audio_out_enabled=True)},
    )
    redis = connect_redis(settings.redis_url)
    try:
        async with SessionBridge(redis, session_id, profile) as bridge:
            user_aggregator, turn_bridge = user_turns_to_redis(bridge, SileroVADAnalyzer())
            tts = make_tts(settings)
            pipeline = build_pipeline(
                transport.input(),
                make_stt(settings),
                user_aggregator,
                turn_bridge,
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
        log.warning("speech input is off (no VOICE_STT, no OPENAI_API_KEY): typed text only")
    if tts is None:
        log.warning("%s", SPEECH_OUTPUT_OFF)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    settings = Settings()
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

    add_web_client(app)

    # Pipecat's runner looks for `bot` in the __main__ module, which is not this one when
    # started through the `hybridbot-voice` console script.
    sys.modules["__main__"].bot = bot  # type: ignore[attr-defined]
    sys.argv = [sys.argv[0], *(argv or ["-t", "webrtc"])]
    run_pipecat()


if __name__ == "__main__":
    main()
