"""Windows: open, close, focus, minimize, maximize, restore, arrange and list app windows.

"Close that window" means the window most recently opened or focused that is not minimized.
"""

import re
from typing import Literal

from pydantic import BaseModel, Field

from router.tools.names import quoted
from router.tools.registry import ToolContext, ToolError, phrase, tool
from shared.actions import (
    AnyAction,
    Layout,
    WindowClose,
    WindowFocus,
    WindowOpen,
    WindowsArrange,
    WindowSetState,
    WindowState,
)
from shared.bus.screen import UiState, Window, change_ui

APPS = {
    "notes": "Notes",
    "browser": "Browser",
    "youtube": "YouTube",
    "music": "Music",
    "calculator": "Calculator",
    "terminal": "Terminal",
    "files": "Files",
    "settings": "Settings",
    "calendar": "Calendar",
    "clock": "Clock",
    "mail": "Mail",
    "photos": "Photos",
    "weather": "Weather",
}
ALIASES = {
    "notepad": "notes",
    "note": "notes",
    "web browser": "browser",
    "chrome": "browser",
    "firefox": "browser",
    "internet": "browser",
    "file explorer": "files",
    "file manager": "files",
    "explorer": "files",
    "finder": "files",
    "console": "terminal",
    "command line": "terminal",
    "spotify": "music",
    "player": "music",
    "email": "mail",
    "gallery": "photos",
    "preferences": "settings",
    "timer": "clock",
    "alarm": "clock",
}
MAX_WINDOWS = 20
STATE_AFTER: dict[str, WindowState] = {
    "minimize": "minimized",
    "maximize": "maximized",
    "restore": "normal",
}


def app_of(spoken: str) -> str:
    """The app a spoken name means ("file explorer" → files), or ToolError."""
    name = spoken.casefold().strip().removesuffix(" app").removesuffix(" window").strip()
    name = ALIASES.get(name, name)
    if name in APPS:
        return name
    raise ToolError(f"there is no app called {spoken!r}; apps: {', '.join(APPS)}")


def find_window(state: UiState, spoken: str | None) -> Window:
    """The window meant: by id, app or title; none given means "that" window."""
    if not state.windows:
        raise ToolError("no windows are open")
    if not spoken or spoken.casefold().strip() in {"that", "this", "it", "current", "that window"}:
        found = state.focused_window
        assert found is not None
        return found
    wanted = spoken.casefold().strip().removesuffix(" window").strip()
    app = ALIASES.get(wanted, wanted)
    for match in (
        lambda w: w.id == wanted,
        lambda w: w.app == app,
        lambda w: wanted in w.title.casefold(),
    ):
        hits = [w for w in state.windows if match(w)]
        if hits:
            return hits[-1]
    raise ToolError(
        f"no open window matches {spoken!r}; open: {', '.join(w.title for w in state.windows)}"
    )


def _to_front(state: UiState, window: Window) -> None:
    state.windows = [w for w in state.windows if w.id != window.id] + [window]


def _known_app(spoken: str, suffix: str | None) -> str | None:
    """The app a phrase names, if it names one for sure; "open my notes" lists notes instead."""
    try:
        app = app_of(spoken)
    except ToolError:
        return None
    if app == "notes" and not suffix:
        return None
    return app


def _open_app(match: re.Match[str], _ui: UiState) -> dict[str, str] | None:
    app = _known_app(match["app"], match["suffix"])
    return {"app": app} if app else None


_ACTIONS = {
    "close": "close",
    "shut": "close",
    "minimize": "minimize",
    "minimise": "minimize",
    "hide": "minimize",
    "maximize": "maximize",
    "maximise": "maximize",
    "restore": "restore",
    "focus": "focus",
    "switch to": "focus",
}


def _act_on_that(match: re.Match[str], _ui: UiState) -> dict[str, str]:
    return {"action": _ACTIONS[match["action"]]}


def _act_on_it(match: re.Match[str], ui: UiState) -> dict[str, str] | None:
    """ "Close it" means a window only while one is open (else "it" is something else)."""
    return _act_on_that(match, ui) if ui.windows else None


def _act_on_app(match: re.Match[str], _ui: UiState) -> dict[str, str] | None:
    app = _known_app(match["app"], match["suffix"] or "window")
    action = match.groupdict().get("action") or "maximize"
    return {"action": _ACTIONS[action], "window": app} if app else None


class OpenWindowArgs(BaseModel):
    app: str = Field(min_length=1, max_length=60, description=f"One of: {', '.join(APPS)}")


class WindowActionArgs(BaseModel):
    action: Literal["close", "focus", "minimize", "maximize", "restore"]
    window: str | None = Field(
        default=None, max_length=80, description="App or title; omit for 'that window'"
    )


class ArrangeArgs(BaseModel):
    layout: Layout = "tile"


class NoArgs(BaseModel):
    pass


@tool(
    "Open an app window.",
    phrasings=(
        phrase(
            r"(?:open|launch|start|bring up|pull up|fire up|run)(?: up)? (?:the |my )?"
            r"(?P<app>[a-z ]{3,20}?)(?P<suffix> app| window)?",
            _open_app,
        ),
        phrase(
            r"(?:show me|give me) (?:the |my )?(?P<app>[a-z ]{3,20}?)(?P<suffix> app)", _open_app
        ),
    ),
    asked=r"\b(open|launch|start|run|show|bring up|pull up|fire up|get me|give me)\b",
    says=lambda a: f"open {quoted(a.app)}",
)
async def open_window(args: OpenWindowArgs, ctx: ToolContext) -> str:
    app = app_of(args.app)

    def open_it(state: UiState) -> list[AnyAction]:
        if len(state.windows) >= MAX_WINDOWS:
            raise ToolError("too many windows are open; close some first")
        window = Window(id=f"w{state.next_window_number}", app=app, title=APPS[app])
        state.next_window_number += 1
        state.windows.append(window)
        return [WindowOpen(window_id=window.id, app=app, title=window.title)]

    await change_ui(ctx.publisher, open_it)
    return f"Opened {APPS[app]}."


@tool(
    "Close, focus, minimize, maximize or restore a window; no window means the current one.",
    phrasings=(
        phrase(
            r"(?P<action>close|shut|minimi[sz]e|maximi[sz]e|restore) (?:that|this|the) window",
            _act_on_that,
        ),
        phrase(r"(?P<action>close|minimi[sz]e|maximi[sz]e) (?:it|that|this)", _act_on_it),
        phrase(
            r"(?:make|put) (?:the |my )?(?P<app>[a-z ]{3,20}?)(?P<suffix> app| window)? "
            r"(?:full ?screen|maximi[sz]ed|as big as it goes)",
            _act_on_app,
        ),
        phrase(
            r"full ?screen (?:the |my )?(?P<app>[a-z ]{3,20}?)(?P<suffix> app| window)?",
            _act_on_app,
        ),
        phrase(
            r"(?P<action>close|shut|minimi[sz]e|maximi[sz]e|restore|focus|switch to) "
            r"(?:the |my )?(?P<app>[a-z ]{3,20}?)(?P<suffix> app| window)?",
            _act_on_app,
        ),
    ),
    asked=r"\b(close|shut|quit|exit|kill|dismiss|get rid of|focus|switch|go to|minimi[sz]e"
    r"|maximi[sz]e|restore|hide|show|bring|full ?screen|bigger|smaller)\b",
    says=lambda a: f"{a.action} {quoted(a.window) if a.window else 'the current window'}",
)
async def window_action(args: WindowActionArgs, ctx: ToolContext) -> str:
    title = ""

    def act(state: UiState) -> list[AnyAction]:
        nonlocal title
        window = find_window(state, args.window)
        title = window.title
        if args.action == "close":
            state.windows = [w for w in state.windows if w.id != window.id]
            return [WindowClose(window_id=window.id)]
        if args.action == "focus":
            window.state = "normal" if window.state == "minimized" else window.state
            _to_front(state, window)
            return [WindowFocus(window_id=window.id)]
        window.state = STATE_AFTER[args.action]
        if window.state != "minimized":
            _to_front(state, window)
        return [WindowSetState(window_id=window.id, state=window.state)]

    await change_ui(ctx.publisher, act)
    done = {"close": "Closed", "focus": "Switched to", "minimize": "Minimized"}
    return f"{done.get(args.action, args.action.capitalize() + 'd')} {title}."


@tool(
    "Arrange the open windows: tile, cascade, side_by_side or stack.",
    phrasings=(
        phrase(
            r"(?P<layout>tile|cascade|stack) (?:the |my |all )?(?:open )?windows",
            lambda m, _ui: {"layout": m["layout"]},
        ),
        phrase(r"(?:put )?(?:the |my )?windows side by side", {"layout": "side_by_side"}),
    ),
    asked=r"\b(arrange|tile|stack|cascade|layout|side by side|grid|organi[sz]e|split|tidy)\b",
    says=lambda a: f"arrange the windows as {a.layout}",
)
async def arrange_windows(args: ArrangeArgs, ctx: ToolContext) -> str:
    def arrange(state: UiState) -> list[AnyAction]:
        visible = [w for w in state.windows if w.state != "minimized"]
        if not visible:
            raise ToolError("no windows are open")
        for window in visible:
            window.state = "normal"
        state.layout = args.layout
        return [WindowsArrange(layout=args.layout, window_ids=[w.id for w in reversed(visible)])]

    await change_ui(ctx.publisher, arrange)
    return f"Arranged the windows: {args.layout.replace('_', ' ')}."


@tool(
    "List the open windows.",
    phrasings=(
        phrase(
            r"(?:what|which) (?:windows|apps|programs|applications) (?:are|do i have) "
            r"(?:open|running)|(?:list|show me) (?:my |the |all )?(?:open )?windows"
            r"|(?:list|show me) (?:my |the |all )?(?:open apps|apps that are open)"
        ),
    ),
    reads_only=True,
)
async def list_windows(args: NoArgs, ctx: ToolContext) -> str:
    state = await ctx.stores.screens.load(ctx.session_id)
    if not state.windows:
        return "No windows are open."
    focused = state.focused_window

    def describe(window: Window) -> str:
        notes = [
            label
            for label, on in (
                ("focused", window is focused),
                ("minimized", window.state == "minimized"),
            )
            if on
        ]
        return window.title + "".join(f" ({note})" for note in notes)

    return "Open windows: " + ", ".join(describe(w) for w in reversed(state.windows))


TOOLS = [open_window, window_action, arrange_windows, list_windows]
