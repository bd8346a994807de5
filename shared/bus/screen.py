"""What a session's screen shows, kept in Redis so the model can answer "what's playing?" and
resolve "close that window"; changed together with the action events that tell the client.
"""

from collections.abc import Callable
from typing import Literal

import redis.asyncio as aioredis
from pydantic import BaseModel, Field, ValidationError
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from shared.actions import AnyAction, Layout, WindowState
from shared.bus import keys
from shared.bus.responses import LiveResponse, send_live_event_in
from shared.dropped import drop

UI_TTL_SECONDS = 7 * 24 * 3600
"""A session's screen state outlives short disconnects, not abandoned sessions."""


class Window(BaseModel):
    id: str
    app: str
    title: str
    state: WindowState = "normal"


class YoutubeState(BaseModel):
    query: str
    video_id: str | None = None
    title: str | None = None
    status: Literal["playing", "paused", "stopped"] = "playing"


class SoundtrackState(BaseModel):
    track: str | None = None
    mood: str | None = None
    status: Literal["playing", "paused", "stopped"] = "stopped"
    volume: int = 50
    muted: bool = False


class SpriteState(BaseModel):
    sprite: str = "robot"
    animation: str = "idle"
    visible: bool = True


class Timer(BaseModel):
    id: str
    label: str
    ends_at: float


class UiState(BaseModel):
    """One session's screen."""

    windows: list[Window] = Field(default_factory=list)
    """Open windows, the most recently opened or focused last."""
    layout: Layout | None = None
    youtube: YoutubeState | None = None
    soundtrack: SoundtrackState = Field(default_factory=SoundtrackState)
    sprite: SpriteState = Field(default_factory=SpriteState)
    view: str = "desktop"
    profile: str | None = None
    """The profile the user switched to in this session, if any."""
    current_note_id: str | None = None
    next_window_number: int = 1
    timers: list["Timer"] = Field(default_factory=list)

    @property
    def active_players(self) -> set[str]:
        """Which players are in use ("youtube", "soundtrack"): what a bare "pause" can mean."""
        players = set()
        if self.youtube is not None and self.youtube.status != "stopped":
            players.add("youtube")
        if self.soundtrack.status != "stopped":
            players.add("soundtrack")
        return players

    @property
    def focused_window(self) -> Window | None:
        """The window "that" means: the last focused or opened one that is not minimized."""
        visible = [w for w in self.windows if w.state != "minimized"]
        return visible[-1] if visible else (self.windows[-1] if self.windows else None)


UiChange = Callable[[UiState], list[AnyAction]]


def read_ui_in(batch: Pipeline, session_id: str) -> None:
    """Queue reading the session's screen (its reply goes to `ui_from`)."""
    batch.get(keys.session_ui(session_id))


def ui_from(raw: str | bytes | None) -> UiState:
    """The screen state stored; a blank screen (the bad entry dropped with a log line) when
    what is stored is not one, so one corrupt key cannot fail every turn of its session."""
    if not raw:
        return UiState()
    try:
        return UiState.model_validate_json(raw)
    except ValidationError as exc:
        drop("screen state", raw, str(exc.errors()[0]["msg"]))
        return UiState()


class ScreenStore:
    """Sessions' screen state, for the tools that read it (changes go through `change_ui`,
    which publishes the actions with the change)."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self._redis = redis

    async def load(self, session_id: str) -> UiState:
        """The session's screen as last changed (a blank screen before any change)."""
        return ui_from(await self._redis.get(keys.session_ui(session_id)))


async def change_ui(publisher: LiveResponse, change: UiChange) -> UiState:
    """Apply `change` to the session's screen state and publish the actions it returns as part
    of `publisher`'s response, in one transaction: both happen or neither. `change` may raise
    (a ToolError, say) to change nothing.
    """
    key = keys.session_ui(publisher.session_id)
    async with publisher.redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                await pipe.watch(key)
                state = ui_from(await pipe.get(key))
                actions = change(state)
                events = publisher.action_events(actions)
                pipe.multi()
                pipe.set(key, state.model_dump_json(), ex=UI_TTL_SECONDS)
                for event in events:
                    send_live_event_in(pipe, publisher.session_id, event)
                await pipe.execute()
                publisher.advance(len(events))
                return state
            except WatchError:
                continue
