"""The text console prints replies and UI actions readably."""

import io

from shared.actions import WindowOpen
from shared.messages import ActionEvent, AnyBotEvent, ResponseDone, TextChunk
from voice.console import ConsolePrinter


def test_reply_and_actions_are_printed_readably() -> None:
    out = io.StringIO()
    printer = ConsolePrinter(out)
    events: list[AnyBotEvent] = [
        ActionEvent(
            session_id="s",
            response_id="t1",
            seq=0,
            action=WindowOpen(window_id="w1", app="notes", title="Notes"),
        ),
        TextChunk(session_id="s", response_id="t1", seq=1, text="Opened Notes."),
        TextChunk(session_id="s", response_id="t1", seq=2, text="Anything else?"),
        ResponseDone(session_id="s", response_id="t1", seq=3),
        TextChunk(session_id="s", response_id="t2", seq=0, text="Sorry."),
        ResponseDone(
            session_id="s", response_id="t2", seq=1, outcome="error", error="model_unavailable"
        ),
    ]
    for event in events:
        printer.show(event)
    assert out.getvalue() == (
        "     [window.open] window_id=w1 app=notes title=Notes\n"
        "bot> Opened Notes. Anything else?\n"
        "bot> Sorry.\n"
        "     (ended with error: model_unavailable)\n"
    )
    assert printer.finished == {"t1", "t2"}


def test_a_notice_while_the_prompt_waits_gets_its_own_line_and_the_prompt_returns() -> None:
    out = io.StringIO()
    printer = ConsolePrinter(out)
    printer.show_prompt()
    events: list[AnyBotEvent] = [
        TextChunk(session_id="s", response_id="timer-1", seq=0, origin="notice", text="Your"),
        TextChunk(session_id="s", response_id="timer-1", seq=1, origin="notice", text="timer."),
        ResponseDone(session_id="s", response_id="timer-1", seq=2, origin="notice"),
    ]
    for event in events:
        printer.show(event)
    assert out.getvalue() == "you> \nbot> Your timer.\nyou> "
    # A line typed at the prompt ends with the user's own Enter (echoed by the terminal).
    printer.line_entered()
    printer.show(TextChunk(session_id="s", response_id="t1", seq=0, text="Done."))
    printer.show(ResponseDone(session_id="s", response_id="t1", seq=1))
    assert out.getvalue() == "you> \nbot> Your timer.\nyou> bot> Done.\n"
