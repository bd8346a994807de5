"""Every message on the bus, as a pydantic model; JSON on the wire.

Each message carries the schema version, the session id, the id of the turn or task it belongs
to and, for bot events, a sequence number, so a voice service can order chunks and drop the
stale ones of an interrupted response.
"""

import time
import uuid
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from shared.actions import ACTIONS_VERSION, AnyAction

SCHEMA_VERSION: Final = 1
"""Bumped on any incompatible change; readers reject other versions with a logged reason."""

SessionId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")]
"""Safe inside a Redis hash tag and a log line: no braces, spaces or control characters."""
ProfileName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


MAX_TURN_CHARS = 2000
"""The default of BOT_MAX_TURN_CHARS: the longest turn a voice service sends, a router takes."""
SPOKEN_TOO_LONG = "Sorry, that was too long for me. Could you say it more briefly?"


def new_id() -> str:
    """A short random id for turns, responses and tasks."""
    return uuid.uuid4().hex[:16]


class BusMessage(BaseModel):
    """Fields every message shares."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    v: Literal[1] = SCHEMA_VERSION
    session_id: SessionId


class UserTurn(BusMessage):
    """One finished user utterance (or typed line), published by a voice service."""

    kind: Literal["turn"] = "turn"
    turn_id: str = Field(default_factory=new_id, min_length=1, max_length=64)
    text: str
    profile: ProfileName = "default"
    sent_at: float = Field(default_factory=time.time, allow_inf_nan=False, ge=0)
    """Wall-clock send time, so the router can log how long the turn waited in the queue."""
    timezone: str | None = Field(default=None, max_length=64)
    """The user's IANA time zone (e.g. `Europe/Paris`), when the client knows it."""
    heard_unsure: bool = False
    """Speech-to-text was not sure of these words: tier 0 does not act on them (a misheard
    "turn it down" must not turn it on); the model, which can ask, gets them."""


class Interrupt(BusMessage):
    """The user barged in: stop streaming this response; what was not spoken is dropped."""

    kind: Literal["interrupt"] = "interrupt"
    response_id: str


class BotEvent(BusMessage):
    """Fields every event sent back to a session shares."""

    response_id: str
    """The turn id (fast path) or task id (slow path) this event answers."""
    seq: int = Field(ge=0)
    """Position within the response, from 0."""
    origin: Literal["turn", "task", "notice"] = "turn"
    """What the response answers: the user's turn, a delegated task, or nothing (a timer)."""
    inbox_id: str | None = None
    """Entry id in the session's durable inbox, for events that were also stored there."""


class TextChunk(BotEvent):
    """A speakable piece of a response: one or more whole sentences, plain text."""

    type: Literal["text"] = "text"
    text: str


class ResponseDone(BotEvent):
    """The response is complete; `outcome` says whether it ended normally."""

    type: Literal["done"] = "done"
    outcome: Literal["ok", "error"] = "ok"
    error: str | None = None
    """A short machine-readable reason when the outcome is an error (e.g. `model_auth`)."""


class ActionEvent(BotEvent):
    """Something for the client to show or do on screen; see docs/actions.md."""

    type: Literal["action"] = "action"
    actions_version: int = ACTIONS_VERSION
    action: AnyAction


TaskStatus = Literal["queued", "started", "progress", "done", "failed", "cancelled"]


class TaskStatusEvent(BotEvent):
    """How a delegated task is going; `message` is a short sentence fit to be spoken."""

    type: Literal["status"] = "status"
    status: TaskStatus
    label: str
    """A few words naming the task ("the GPU research")."""
    message: str = ""


AnyBotEvent = Annotated[
    TextChunk | ResponseDone | ActionEvent | TaskStatusEvent, Field(discriminator="type")
]
BOT_EVENT = TypeAdapter(AnyBotEvent)
"""Parses any bot event from JSON: `BOT_EVENT.validate_json(raw)`."""


TASK_RESULT_PREFIX = "(Result of "
"""How a delegated task's result starts in the session's history: the router knows it for
content the user did not say (`router/confirmation.py`)."""


def task_result_message(label: str, text: str) -> dict[str, str]:
    """A delegated task's result as the history message the fast model reads next turn."""
    return {"role": "assistant", "content": f"{TASK_RESULT_PREFIX}{label}) {text}"}
