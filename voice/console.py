"""The text front end: type turns, watch the bot's reply stream in, sentence by sentence.

It goes through the same `SessionLink` as the voice pipeline, so it exercises the real path.
"""

import asyncio
import logging
import sys
import threading
from typing import TextIO

from redis.exceptions import RedisError

from shared.actions import AnyAction
from shared.bus.session_link import SPOKEN_BUS_DOWN, SessionLink, TurnTooLong
from shared.messages import (
    SPOKEN_TOO_LONG,
    ActionEvent,
    AnyBotEvent,
    ResponseDone,
    TaskStatusEvent,
    TextChunk,
    new_id,
)

log = logging.getLogger(__name__)

REPLY_TIMEOUT_SECONDS = 120.0
"""How long to wait for the last replies after the input ends."""
TASK_TIMEOUT_SECONDS = 900.0
"""How long to wait, after the input ends, for delegated tasks still running."""
PROMPT = "you> "


def _read_lines_in_background(
    source: TextIO, loop: asyncio.AbstractEventLoop
) -> asyncio.Queue[str | None]:
    """Lines from a blocking stream, delivered to the event loop; None marks the end."""
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def pump() -> None:
        for line in source:
            loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\n"))
        loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=pump, name="console-input", daemon=True).start()
    return queue


def describe_action(action: AnyAction) -> str:
    """`[window.open] app=notes title=Notes`: one readable line per UI action."""
    fields = action.model_dump(exclude={"name"}, exclude_none=True)
    text = " ".join(f"{key}={value}" for key, value in fields.items())
    return f"[{action.name}] {text}".rstrip()[:200]


class ConsolePrinter:
    """Prints each response on its own `bot>` line as its chunks arrive, other events on their
    own indented lines; a delegated task's answer is introduced by its label. Something that
    arrives while the prompt waits for input (a timer, a task's answer) is printed on lines of
    its own, and the prompt is shown again after it."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.awaiting_input = False
        """The user is being asked for a line (interactive only)."""
        self.at_prompt = False
        """The cursor stands right after a prompt."""
        self.open_response: str | None = None
        self.finished: set[str] = set()
        self.tasks: dict[str, str] = {}
        """Delegated tasks seen, task id → label; their answers arrive after the turn's."""
        self.changed = asyncio.Event()

    def show_prompt(self) -> None:
        self.awaiting_input = True
        self.at_prompt = True
        self.out.write(PROMPT)
        self.out.flush()

    def line_entered(self) -> None:
        """The user pressed Enter: the cursor is on a fresh line."""
        self.awaiting_input = False
        self.at_prompt = False

    def _leave_prompt(self) -> None:
        if self.at_prompt:
            self.out.write("\n")
            self.at_prompt = False

    def _close_line(self) -> None:
        if self.open_response is not None:
            self.out.write("\n")
            self.open_response = None

    def _note(self, text: str) -> None:
        self._close_line()
        self.out.write(f"     {text}\n")

    def show(self, event: AnyBotEvent) -> None:
        self._leave_prompt()
        if isinstance(event, TextChunk):
            if self.open_response != event.response_id:
                self._close_line()
                label = self.tasks.get(event.response_id)
                self.out.write(f"bot> ({label}) " if label else "bot> ")
                self.open_response = event.response_id
            else:
                self.out.write(" ")
            self.out.write(event.text)
        elif isinstance(event, ActionEvent):
            self._note(describe_action(event.action))
        elif isinstance(event, TaskStatusEvent):
            self.tasks[event.response_id] = event.label
            self._note(f"[task {event.status}] {event.message or event.label}")
        elif isinstance(event, ResponseDone):
            if self.open_response == event.response_id:
                self._close_line()
            if event.outcome == "error":
                self._note(f"(ended with error: {event.error})")
            self.finished.add(event.response_id)
        if self.awaiting_input and self.open_response is None:
            self.show_prompt()
        self.out.flush()
        self.changed.set()

    async def wait_until_finished(self, response_ids: set[str], timeout: float) -> bool:
        """True once every response id has its done event, False on timeout."""

        async def all_done() -> None:
            while not response_ids <= self.finished:
                self.changed.clear()
                await self.changed.wait()

        try:
            await asyncio.wait_for(all_done(), timeout)
        except TimeoutError:
            return False
        return True


async def run_console(
    link: SessionLink, source: TextIO = sys.stdin, out: TextIO = sys.stdout
) -> int:
    """Send each input line as a turn until the input ends; 0 if every reply came, else 1."""
    printer = ConsolePrinter(out)
    interactive = source.isatty()

    async def print_events() -> None:
        async for event in link.events():
            printer.show(event)

    printing = asyncio.create_task(print_events())
    lines = _read_lines_in_background(source, asyncio.get_running_loop())
    sent: set[str] = set()
    out.write(f"hybridbot console, session {link.session_id}. Type a request; Ctrl-D quits.\n")
    try:
        while True:
            if interactive:
                printer.show_prompt()
            line = await lines.get()
            printer.line_entered()
            if line is None:
                break
            if not line.strip():
                continue
            try:
                turn = await link.send_turn(line)
            except TurnTooLong as exc:
                log.warning("turn refused: %s", exc)
                out.write(f"bot> {SPOKEN_TOO_LONG}\n")
                continue
            except (RedisError, OSError) as exc:
                log.warning("turn not sent: %s", exc)
                out.write(f"bot> {SPOKEN_BUS_DOWN}\n")
                continue
            sent.add(turn.turn_id)
            if interactive:
                await printer.wait_until_finished({turn.turn_id}, REPLY_TIMEOUT_SECONDS)
        # Piped input ends before delegated answers arrive: wait for those too.
        complete = await printer.wait_until_finished(sent, REPLY_TIMEOUT_SECONDS)
        complete = complete and await printer.wait_until_finished(
            set(printer.tasks), TASK_TIMEOUT_SECONDS
        )
        if not complete:
            out.write("(some replies did not arrive in time; is the router running?)\n")
        return 0 if complete else 1
    finally:
        printing.cancel()


def default_session_id() -> str:
    return f"console-{new_id()}"
