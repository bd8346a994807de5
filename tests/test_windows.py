"""Window tools: open, act on "that window", arrange, list; the client told each change."""

from shared.actions import WindowClose, WindowFocus, WindowOpen, WindowsArrange, WindowSetState
from tests.conftest import ToolHarness


async def test_open_then_close_that_window(tools: ToolHarness) -> None:
    assert await tools("open_window", app="notes") == "Opened Notes."
    assert await tools("open_window", app="web browser") == "Opened Browser."
    assert await tools("window_action", action="close") == "Closed Browser."
    assert await tools("list_windows") == "Open windows: Notes (focused)"
    assert await tools.actions() == [
        WindowOpen(window_id="w1", app="notes", title="Notes"),
        WindowOpen(window_id="w2", app="browser", title="Browser"),
        WindowClose(window_id="w2"),
    ]
    assert [w.id for w in (await tools.ui()).windows] == ["w1"]


async def test_focus_minimize_maximize_restore(tools: ToolHarness) -> None:
    for app in ("notes", "music", "terminal"):
        await tools("open_window", app=app)
    assert await tools("window_action", action="focus", window="notes") == "Switched to Notes."
    assert await tools("window_action", action="minimize") == "Minimized Notes."
    # With Notes minimized, "that window" is the last visible one.
    assert await tools("window_action", action="maximize", window="that") == "Maximized Terminal."
    assert await tools("window_action", action="restore", window="notes") == "Restored Notes."
    assert await tools("list_windows") == "Open windows: Notes (focused), Terminal, Music"
    assert (await tools.actions())[3:] == [
        WindowFocus(window_id="w1"),
        WindowSetState(window_id="w1", state="minimized"),
        WindowSetState(window_id="w3", state="maximized"),
        WindowSetState(window_id="w1", state="normal"),
    ]


async def test_arrange_lays_out_visible_windows(tools: ToolHarness) -> None:
    await tools("open_window", app="notes")
    await tools("open_window", app="clock")
    await tools("window_action", action="minimize", window="clock")
    await tools("open_window", app="calendar")
    assert (
        await tools("arrange_windows", layout="side_by_side")
        == "Arranged the windows: side by side."
    )
    assert (await tools.actions())[-1] == WindowsArrange(
        layout="side_by_side", window_ids=["w3", "w1"]
    )


async def test_unknown_apps_and_windows_are_explained(tools: ToolHarness) -> None:
    assert await tools("window_action", action="close") == "Error: no windows are open"
    assert (await tools("open_window", app="photoshop")).startswith(
        "Error: there is no app called 'photoshop'"
    )
    await tools("open_window", app="notes")
    assert await tools("window_action", action="close", window="spreadsheet") == (
        "Error: no open window matches 'spreadsheet'; open: Notes"
    )
    assert (await tools("window_action", action="explode")).startswith(
        "Error: invalid arguments for window_action"
    )
    assert await tools("arrange_windows", layout="tile") == "Arranged the windows: tile."
    assert len(await tools.actions()) == 2
