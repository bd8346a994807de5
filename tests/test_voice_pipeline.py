"""The voice pipeline's Redis link, driven with Pipecat's `run_test` on both Redis flavours."""

import asyncio
import re
from collections.abc import AsyncIterator, Sequence

import pytest
import redis.asyncio as aioredis
from pipecat.frames.frames import (
    Frame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMMessagesAppendFrame,
    LLMTextFrame,
    TranscriptionFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
    VADUserStartedSpeakingFrame,
    VADUserStoppedSpeakingFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.frame_processor import FrameProcessor
from pipecat.processors.frameworks.rtvi.frames import RTVISendTextFrame, RTVIServerMessageFrame
from pipecat.tests.utils import run_test

from shared.actions import WindowOpen
from shared.bus import keys
from shared.bus.connection import stream_entries
from shared.bus.session_link import SessionLink
from shared.bus.turns import TURN_FIELD
from shared.messages import (
    ActionEvent,
    Interrupt,
    ResponseDone,
    TaskStatusEvent,
    TextChunk,
    UserTurn,
)
from tests.fakes.pipeline import BusEvents, BusInjector, WaitUntil
from voice.pipeline import user_turns_to_redis
from voice.turn_processor import TurnProcessor

SPEECH = (LLMFullResponseStartFrame, LLMTextFrame, LLMFullResponseEndFrame)


def spoken(frames: Sequence[Frame]) -> list[str]:
    """The speech frames as a readable list: start, each text, end."""
    names = {LLMFullResponseStartFrame: "<start>", LLMFullResponseEndFrame: "<end>"}
    return [
        frame.text if isinstance(frame, LLMTextFrame) else names[type(frame)]
        for frame in frames
        if isinstance(frame, SPEECH)
    ]


def text(response_id: str, seq: int, words: str, origin: str = "turn") -> TextChunk:
    return TextChunk(session_id="s1", response_id=response_id, seq=seq, text=words, origin=origin)


def done(response_id: str, seq: int, origin: str = "turn") -> ResponseDone:
    return ResponseDone(session_id="s1", response_id=response_id, seq=seq, origin=origin)


@pytest.fixture
async def session_link(redis_client: aioredis.Redis) -> AsyncIterator[SessionLink]:
    async with SessionLink(redis_client, "s1") as link:
        yield link


async def turns_on_stream(redis_client: aioredis.Redis) -> list[UserTurn]:
    entries = stream_entries(await redis_client.xrange(keys.TURNS_STREAM))
    return [UserTurn.model_validate_json(fields[TURN_FIELD]) for _id, fields in entries]


async def test_typed_text_becomes_a_turn(
    redis_client: aioredis.Redis, session_link: SessionLink
) -> None:
    down, _ = await run_test(
        TurnProcessor(session_link),
        frames_to_send=[
            LLMMessagesAppendFrame(messages=[{"role": "user", "content": "open my notes"}]),
            RTVISendTextFrame(msg_id="m1", text="open my notes"),
        ],
    )
    assert [t.text for t in await turns_on_stream(redis_client)] == ["open my notes"]
    assert not any(isinstance(f, LLMMessagesAppendFrame) for f in down)


async def spoken_turn(
    redis_client: aioredis.Redis,
    session_link: SessionLink,
    words: str,
    stt: FrameProcessor | None = None,
) -> UserTurn:
    """The turn published when the user aggregator hears `words` said (transcribed by `stt`)."""
    user_aggregator, turn_processor = user_turns_to_redis(session_link, stt=stt)

    async def turn_published() -> bool:
        return bool(await turns_on_stream(redis_client))

    await run_test(
        Pipeline([user_aggregator, turn_processor]),
        frames_to_send=[
            VADUserStartedSpeakingFrame(),
            TranscriptionFrame(words, "user", "2026-11-25T00:00:00"),
            VADUserStoppedSpeakingFrame(),
            WaitUntil(turn_published),
        ],
    )
    (turn,) = await turns_on_stream(redis_client)
    return turn


async def test_a_finished_spoken_turn_becomes_a_turn(
    redis_client: aioredis.Redis, session_link: SessionLink
) -> None:
    turn = await spoken_turn(redis_client, session_link, "play lofi on youtube")
    assert (turn.session_id, turn.text, turn.heard_unsure) == ("s1", "play lofi on youtube", False)


async def test_reply_events_become_speech_frames_and_actions_go_to_the_client(
    redis_client: aioredis.Redis, session_link: SessionLink
) -> None:
    turn_processor = TurnProcessor(session_link)
    action = ActionEvent(
        session_id="s1",
        response_id="t1",
        seq=0,
        action=WindowOpen(window_id="w1", app="notes", title="Notes"),
    )
    down, _ = await run_test(
        Pipeline([BusInjector(redis_client, turn_processor), turn_processor]),
        frames_to_send=[
            BusEvents(
                [
                    action,
                    text("t1", 1, "Opened your notes."),
                    text("t1", 2, "Anything else?"),
                    done("t1", 3),
                ]
            ),
        ],
    )
    assert spoken(down) == ["<start>", "Opened your notes.", "Anything else?", "<end>"]
    # Every event goes to the client too: it shows the transcript and renders the action.
    messages = [f.data for f in down if isinstance(f, RTVIServerMessageFrame)]
    assert [m["type"] for m in messages] == ["action", "text", "text", "done"]
    assert messages[0]["action"]["name"] == "window.open"


async def test_barge_in_stops_the_reply_and_tells_the_routers(
    redis_client: aioredis.Redis, session_link: SessionLink
) -> None:
    interrupts = redis_client.pubsub(ignore_subscribe_messages=True)
    await interrupts.subscribe(keys.INTERRUPTS_CHANNEL)
    turn_processor = TurnProcessor(session_link)
    down, _ = await run_test(
        Pipeline([BusInjector(redis_client, turn_processor), turn_processor]),
        frames_to_send=[
            BusEvents([text("t1", 0, "Here is a long story.")]),
            UserStartedSpeakingFrame(),
            BusEvents([text("t1", 1, "It goes on and on."), done("t1", 2)]),
            BusEvents([text("t2", 0, "Yes?"), done("t2", 1)]),
        ],
    )
    assert spoken(down) == ["<start>", "Here is a long story.", "<start>", "Yes?", "<end>"]

    async def interrupt_heard() -> Interrupt:
        while True:
            message = await interrupts.get_message(timeout=1.0)
            if message:
                return Interrupt.model_validate_json(message["data"])

    heard = await asyncio.wait_for(interrupt_heard(), 5)
    await interrupts.aclose()
    assert (heard.session_id, heard.response_id) == ("s1", "t1")


async def test_a_delegated_result_waits_while_the_user_speaks(
    redis_client: aioredis.Redis, session_link: SessionLink
) -> None:
    turn_processor = TurnProcessor(session_link)
    queued = TaskStatusEvent(
        session_id="s1",
        response_id="task-1",
        seq=0,
        origin="task",
        status="queued",
        label="the GPU research",
    )
    down, _ = await run_test(
        Pipeline([BusInjector(redis_client, turn_processor), turn_processor]),
        frames_to_send=[
            BusEvents([queued]),
            UserStartedSpeakingFrame(),
            BusEvents([text("task-1", 1, "The 4090 leads.", "task")]),
            UserStoppedSpeakingFrame(),
            BusEvents(
                [
                    text("task-1", 2, "A used 3090 is the value pick.", "task"),
                    done("task-1", 3, "task"),
                ]
            ),
        ],
    )
    assert spoken(down) == [
        "<start>",
        "About the GPU research: The 4090 leads.",
        "<end>",
        "<start>",
        "A used 3090 is the value pick.",
        "<end>",
    ]
    stopped_at = next(i for i, f in enumerate(down) if isinstance(f, UserStoppedSpeakingFrame))
    first_speech = next(i for i, f in enumerate(down) if isinstance(f, LLMFullResponseStartFrame))
    assert first_speech > stopped_at


async def test_progress_is_spoken_at_most_once_per_interval(
    redis_client: aioredis.Redis, session_link: SessionLink
) -> None:
    turn_processor = TurnProcessor(session_link, progress_interval=3600)

    def progress(seq: int) -> TaskStatusEvent:
        return TaskStatusEvent(
            session_id="s1",
            response_id="task-1",
            seq=seq,
            origin="task",
            status="progress",
            label="the GPU research",
            message="Still working on the GPU research.",
        )

    down, _ = await run_test(
        Pipeline([BusInjector(redis_client, turn_processor), turn_processor]),
        frames_to_send=[BusEvents([progress(0)]), BusEvents([progress(1)])],
    )
    assert spoken(down) == ["<start>", "Still working on the GPU research.", "<end>"]


async def test_replayed_and_live_copies_of_an_event_are_spoken_once(
    redis_client: aioredis.Redis, session_link: SessionLink
) -> None:
    turn_processor = TurnProcessor(session_link)
    chunk = text("t1", 0, "Only once.")
    down, _ = await run_test(
        Pipeline([BusInjector(redis_client, turn_processor), turn_processor]),
        frames_to_send=[BusEvents([chunk]), BusEvents([chunk, done("t1", 1)])],
    )
    assert spoken(down) == ["<start>", "Only once.", "<end>"]


class UnsureSTT(FrameProcessor):
    """An STT stage that was unsure of what it heard (as local Whisper under its floor)."""

    def take_unsure(self) -> bool:
        return True


async def test_a_turn_the_stt_was_unsure_of_is_marked_so(
    redis_client: aioredis.Redis, session_link: SessionLink
) -> None:
    turn = await spoken_turn(redis_client, session_link, "turn it on", UnsureSTT())
    assert (turn.text, turn.heard_unsure) == ("turn it on", True)


async def turns_heard(
    redis_client: aioredis.Redis, session_link: SessionLink, ssml: str, **values: str
) -> list[str]:
    """The turns a session publishes when a microphone says `ssml` (espeak-ng), heard in real
    time by the session's own VAD, turn-stop policy (`voice/turn_taking.py`) and local
    Whisper, once the microphone has been quiet for 2 s after the speech."""
    from shared.settings import Settings
    from tests.speech import MODEL_DIR, listening, silence
    from voice.espeak_tts import spoken
    from voice.pipeline import speech_in

    settings = Settings(_env_file=None, VOICE_WHISPER_MODEL=MODEL_DIR, **values)  # type: ignore[arg-type]
    stt, user_aggregator, turn_processor = speech_in(session_link, settings)
    pipeline = Pipeline([stage for stage in (stt, user_aggregator, turn_processor) if stage])
    async with listening(pipeline) as microphone:
        microphone.say(silence(0.5) + await spoken(ssml, ssml=True))
        await asyncio.wait_for(microphone.say(silence(2.0)), timeout=30)  # said, then 2 s quiet
        await asyncio.wait_for(microphone.say(silence(0.02)), timeout=30)
    return [turn.text for turn in await turns_on_stream(redis_client)]


@pytest.mark.parametrize(
    ("pause_ms", "silence", "turns"),
    [
        (250, {}, ["set a timer for 10 minutes"]),
        (400, {"VOICE_TURN_SILENCE_SECS": "0.3"}, 2),
    ],
    ids=["a-breath-default-silence", "a-pause-longer-than-the-silence"],
)
@pytest.mark.usefixtures("whisper_model")
async def test_a_short_pause_does_not_cut_a_spoken_command_in_two(
    redis_client: aioredis.Redis,
    session_link: SessionLink,
    pause_ms: int,
    silence: dict[str, str],
    turns: list[str] | int,
) -> None:
    """Real speech with a pause mid-command: a breath (0.25 s) with the default turn-stop
    policy leaves it one turn; a pause longer than the silence that ends a turn (the check
    that this test can fail) cuts it in two. Each margin is 0.1 s or more of audio."""
    said = f'<speak>set a timer <break time="{pause_ms}ms"/> for ten minutes</speak>'
    heard = await turns_heard(redis_client, session_link, said, **silence)
    words = [" ".join(re.sub(r"[^a-z0-9 ]", "", turn.lower()).split()) for turn in heard]
    assert words == turns if isinstance(turns, list) else len(words) == turns, heard
