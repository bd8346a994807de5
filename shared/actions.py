"""UI actions: what a client must do on screen when a tool changes what the user sees.

Each action is a pydantic model named by its `name`; they travel inside an `action` bot event.
`docs/actions.md` is generated from these models (`python -m shared.actions_doc`), so the
documentation cannot drift from the code.
"""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

ACTIONS_VERSION = 1
"""Version of the action payloads; bumped on any incompatible change."""

WindowState = Literal["normal", "minimized", "maximized"]
Layout = Literal["tile", "cascade", "side_by_side", "stack"]


class Action(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class WindowOpen(Action):
    """A new window appears and takes the focus."""

    name: Literal["window.open"] = "window.open"
    window_id: str
    app: str
    title: str


class WindowClose(Action):
    """A window goes away."""

    name: Literal["window.close"] = "window.close"
    window_id: str


class WindowFocus(Action):
    """A window comes to the front (restored if it was minimized)."""

    name: Literal["window.focus"] = "window.focus"
    window_id: str


class WindowSetState(Action):
    """A window is minimized, maximized or restored to normal."""

    name: Literal["window.state"] = "window.state"
    window_id: str
    state: WindowState


class WindowsArrange(Action):
    """Visible windows are laid out; `window_ids` in order, first one focused."""

    name: Literal["windows.arrange"] = "windows.arrange"
    layout: Layout
    window_ids: list[str]


class NoteShow(Action):
    """The notes panel shows this note (after open, create, edit or navigation)."""

    name: Literal["note.show"] = "note.show"
    note_id: str
    title: str
    text: str
    position: int = Field(description="1-based position in the note list")
    count: int


class NoteRemoved(Action):
    """A note was deleted; the panel drops it."""

    name: Literal["note.removed"] = "note.removed"
    note_id: str


class NotesList(Action):
    """The notes panel shows the list of note titles."""

    name: Literal["notes.list"] = "notes.list"
    titles: list[str]


class YoutubePlay(Action):
    """Play a video: by id when it was resolved, else the client searches `query`."""

    name: Literal["youtube.play"] = "youtube.play"
    query: str
    video_id: str | None = None
    title: str | None = None
    url: str | None = None


class YoutubeControl(Action):
    """Transport control of the YouTube player."""

    name: Literal["youtube.control"] = "youtube.control"
    command: Literal["pause", "resume", "stop", "next", "previous"]


class YoutubeSeek(Action):
    """Move the YouTube player to `seconds`, or by `seconds` when `relative` (negative: back)."""

    name: Literal["youtube.seek"] = "youtube.seek"
    seconds: int
    relative: bool


class SoundtrackPlay(Action):
    """Play background music: a named track, or anything of a mood."""

    name: Literal["soundtrack.play"] = "soundtrack.play"
    track: str | None = None
    mood: str | None = None


class SoundtrackControl(Action):
    """Transport control of the soundtrack."""

    name: Literal["soundtrack.control"] = "soundtrack.control"
    command: Literal["pause", "resume", "next", "previous"]


class SoundtrackVolume(Action):
    """Soundtrack volume 0-100 and mute."""

    name: Literal["soundtrack.volume"] = "soundtrack.volume"
    volume: int = Field(ge=0, le=100)
    muted: bool


class SpriteSet(Action):
    """The on-screen sprite: which character, which animation, shown or hidden."""

    name: Literal["sprite.set"] = "sprite.set"
    sprite: str
    animation: str
    visible: bool


class ViewSwitch(Action):
    """The screen switches to another view (layout)."""

    name: Literal["view.switch"] = "view.switch"
    view: str


class ProfileSwitch(Action):
    """The session now acts for another user profile (its notes, its settings)."""

    name: Literal["profile.switch"] = "profile.switch"
    profile: str


class TimerStart(Action):
    """Show a countdown; the router announces when it ends."""

    name: Literal["timer.start"] = "timer.start"
    timer_id: str
    label: str
    ends_at: float = Field(description="Unix time the timer ends")


class TimerEnd(Action):
    """A countdown finished or was cancelled; the client removes it."""

    name: Literal["timer.end"] = "timer.end"
    timer_id: str
    cancelled: bool


AnyAction = Annotated[
    WindowOpen
    | WindowClose
    | WindowFocus
    | WindowSetState
    | WindowsArrange
    | NoteShow
    | NoteRemoved
    | NotesList
    | YoutubePlay
    | YoutubeControl
    | YoutubeSeek
    | SoundtrackPlay
    | SoundtrackControl
    | SoundtrackVolume
    | SpriteSet
    | ViewSwitch
    | ProfileSwitch
    | TimerStart
    | TimerEnd,
    Field(discriminator="name"),
]
