"""The voice pipeline's brain: user turns go to the routers over Redis, bot events come back as
speech frames. There is no LLM in the pipeline; this processor stands where it would.

- A finished user turn (the user aggregator's `on_user_turn_stopped`, or typed text from the
  client, `RTVISendTextFrame`) becomes a turn on the Redis stream.
- A turn's reply enters as `LLMFullResponseStartFrame`, `LLMTextFrame`s in sequence order,
  `LLMFullResponseEndFrame`; UI actions and task status go to the client as RTVI server messages.
- Barge-in: when the user starts speaking over a reply (Pipecat's interruption stops the TTS),
  the routers are told to stop streaming it and its late chunks are dropped by id.
- A delegated result (or a notice, like a timer) that arrives while the user or the bot is
  speaking is held, then spoken once both are silent, introduced in one short phrase.
  Progress ("still working on it") is spoken at most once per `progress_interval`.
"""

import asyncio
import logging
import time
from collections import deque
from typing import Any

from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    CancelFrame,
    EndFrame,
    Frame,
    LLMContextFrame,
    LLMFullResponseEndFrame,
    LLMFullResponseStartFrame,
    LLMMessagesAppendFrame,
    LLMRunFrame,
    LLMTextFrame,
    StartFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.processors.frameworks.rtvi.frames import RTVISendTextFrame, RTVIServerMessageFrame
from redis.exceptions import RedisError

from shared.bus.session_link import SPOKEN_BUS_DOWN, SessionLink, TurnTooLong
from shared.messages import (
    SPOKEN_TOO_LONG,
    ActionEvent,
    AnyBotEvent,
    ResponseDone,
    TaskStatusEvent,
    TextChunk,
)

logger = logging.getLogger(__name__)

PROGRESS_INTERVAL_SECONDS = 20.0
_LLM_INPUT_FRAMES = (LLMContextFrame, LLMMessagesAppendFrame, LLMRunFrame)
"""Frames meant for an LLM; the routers are the LLM here, so they stop at this processor."""


class TurnProcessor(FrameProcessor):
    """Stands in for the LLM: turns out to Redis, replies and results back in as frames."""

    def __init__(
        self,
        link: SessionLink,
        progress_interval: float = PROGRESS_INTERVAL_SECONDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.session_link = link
        self.progress_interval = progress_interval
        self.user_speaking = False
        self.bot_speaking = False
        self.speaking_reply: str | None = None
        """The turn reply whose frames are going out now (between start and end frames)."""
        self.dropped: set[str] = set()
        self.last_seq: dict[str, int] = {}
        self.held: deque[AnyBotEvent] = deque()
        self.introduced: set[str] = set()
        self.labels: dict[str, str] = {}
        self.last_progress_spoken = float("-inf")
        self._reader: asyncio.Task[None] | None = None

    async def send_turn(self, text: str, heard_unsure: bool = False) -> None:
        """Publish a finished user turn for the routers (empty ones are not worth a turn); if
        Redis cannot take it, say so: the turn was not accepted."""
        if not text.strip():
            return
        try:
            await self.session_link.send_turn(text, heard_unsure)
        except TurnTooLong as exc:
            logger.warning("turn refused session=%s: %s", self.session_link.session_id, exc)
            await self._say(SPOKEN_TOO_LONG)
        except (RedisError, OSError) as exc:
            logger.warning("turn not sent session=%s: %s", self.session_link.session_id, exc)
            await self._say(SPOKEN_BUS_DOWN)

    async def _say(self, text: str) -> None:
        """Speak one sentence of the voice service's own."""
        await self.push_frame(LLMFullResponseStartFrame())
        await self.push_frame(LLMTextFrame(text))
        await self.push_frame(LLMFullResponseEndFrame())

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, _LLM_INPUT_FRAMES):
            return
        if isinstance(frame, StartFrame):
            await self.push_frame(frame, direction)
            self._reader = self.create_task(self._read_events(), "redis-bot-events")
            return
        if isinstance(frame, EndFrame | CancelFrame) and self._reader is not None:
            await self.cancel_task(self._reader)
            self._reader = None
        elif isinstance(frame, RTVISendTextFrame):
            await self.send_turn(frame.text)
        elif isinstance(frame, UserStartedSpeakingFrame):
            self.user_speaking = True
            await self._barge_in()
        elif isinstance(frame, UserStoppedSpeakingFrame):
            self.user_speaking = False
        elif isinstance(frame, BotStartedSpeakingFrame):
            self.bot_speaking = True
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self.bot_speaking = False
        await self.push_frame(frame, direction)
        if isinstance(frame, UserStoppedSpeakingFrame | BotStoppedSpeakingFrame):
            await self._release_held()

    @property
    def quiet(self) -> bool:
        return not (self.user_speaking or self.bot_speaking or self.speaking_reply)

    async def _read_events(self) -> None:
        async for event in self.session_link.events():
            await self.take_event(event)

    async def take_event(self, event: AnyBotEvent) -> None:
        """Turn one bot event into frames, hold it for a pause, or drop it as stale."""
        if event.response_id in self.dropped:
            return
        if event.seq <= self.last_seq.get(event.response_id, -1):
            return  # already heard (an inbox replay overlapping the live channel)
        self.last_seq[event.response_id] = event.seq
        # The client shows every event (transcript, desktop, task cards) as it arrives; what
        # is spoken, and when, is decided below.
        await self.push_frame(RTVIServerMessageFrame(data=event.model_dump(mode="json")))
        if isinstance(event, TaskStatusEvent):
            self.labels[event.response_id] = event.label
            if event.status == "progress":
                await self._maybe_speak_progress(event)
            return
        if isinstance(event, ActionEvent):
            return
        if event.origin == "turn":
            await self._speak_reply(event)
        elif self.quiet and not self.held:
            await self._speak_delegated([event])
        else:
            self.held.append(event)

    async def _speak_reply(self, event: TextChunk | ResponseDone) -> None:
        if self.speaking_reply != event.response_id:
            await self.push_frame(LLMFullResponseStartFrame())
            self.speaking_reply = event.response_id
        if isinstance(event, TextChunk):
            await self.push_frame(LLMTextFrame(event.text))
        else:
            await self.push_frame(LLMFullResponseEndFrame())
            self.speaking_reply = None
            await self._release_held()

    async def _speak_delegated(self, events: list[AnyBotEvent]) -> None:
        """Speak a run of held task or notice events as one response."""
        texts = []
        for event in events:
            if not isinstance(event, TextChunk):
                continue
            text = event.text
            label = self.labels.get(event.response_id)
            if label and event.response_id not in self.introduced:
                text = f"About {label}: {text}"
            self.introduced.add(event.response_id)
            texts.append(text)
        if not texts:
            return
        await self.push_frame(LLMFullResponseStartFrame())
        for text in texts:
            await self.push_frame(LLMTextFrame(text))
        await self.push_frame(LLMFullResponseEndFrame())

    async def _release_held(self) -> None:
        if self.quiet and self.held:
            events = list(self.held)
            self.held.clear()
            await self._speak_delegated(events)

    async def _maybe_speak_progress(self, event: TaskStatusEvent) -> None:
        now = time.monotonic()
        if not self.quiet or now - self.last_progress_spoken < self.progress_interval:
            return
        self.last_progress_spoken = now
        await self.push_frame(LLMFullResponseStartFrame())
        await self.push_frame(LLMTextFrame(event.message))
        await self.push_frame(LLMFullResponseEndFrame())

    async def _barge_in(self) -> None:
        """The user talks over a reply: the rest of it will not be spoken."""
        if self.speaking_reply is None:
            return
        interrupted, self.speaking_reply = self.speaking_reply, None
        self.dropped.add(interrupted)
        await self.session_link.interrupt(interrupted)
