"""Tool calls a model wrote as text, recovered as calls and never spoken.

Small local models behind servers without a tool-call parser answer "open my notes" with the
call as text: `<tool_call>{"name": ...}</tool_call>` (Qwen/Hermes), `<tools>{...}</tools>`,
`<function=name>{...}</function>` (Llama 3.1), a fenced ```json block or a bare JSON object.
`TextCallGate` sits between the model's stream and the speech: text that starts like one of
these is held back until the reply ends (then it is a call, or released as text); anything else
flows on at once, so ordinary sentences are not delayed.
"""

import json
import re
from dataclasses import dataclass, field
from typing import Any

TAG_OPENERS = ("<tool_call>", "<tools>", "<function=")
"""Openers that make a reply a call whatever the tool name (unknown names get an error)."""
JSON_OPENERS = ("```", "{", "[")
"""Openers that make a reply a call only when it parses as a call to a known tool."""
_FUNCTION_TAG = re.compile(r"<function=([\w.-]+)>")
MAX_HELD_CHARS = 20_000
"""A held reply longer than this is not a tool call: it is released as text."""


@dataclass(frozen=True)
class TextCall:
    """One recovered call: the tool's name and its arguments as JSON text."""

    name: str
    arguments: str


def _objects(text: str) -> list[Any]:
    """Every JSON value that starts at a `{` or `[` of `text`, left to right."""
    decoder = json.JSONDecoder()
    found: list[Any] = []
    position = 0
    while position < len(text):
        starts = [i for i in (text.find("{", position), text.find("[", position)) if i >= 0]
        if not starts:
            break
        start = min(starts)
        try:
            value, end = decoder.raw_decode(text, start)
        except ValueError:
            position = start + 1
            continue
        found.append(value)
        position = end
    return found


def _as_call(value: Any, name: str | None = None) -> TextCall | None:
    """A `{"name", "arguments" | "parameters"}` object (or bare arguments with `name` given)."""
    if not isinstance(value, dict):
        return None
    if name is None:
        name = value.get("name")
        value = value.get("arguments", value.get("parameters", {}))
    if not isinstance(name, str) or not name:
        return None
    if isinstance(value, str):
        return TextCall(name, value)
    if isinstance(value, dict):
        return TextCall(name, json.dumps(value))
    return None


def parse_text_calls(text: str, known_tools: set[str]) -> list[TextCall]:
    """The tool calls `text` (a whole reply) begins with; [] when it is not a call."""
    lead = text.lstrip()
    if lead.startswith("<function="):
        calls = []
        for match in _FUNCTION_TAG.finditer(lead):
            values = _objects(lead[match.end() :])
            call = _as_call(values[0], match[1]) if values else None
            if call:
                calls.append(call)
        return calls
    if lead.startswith(("<tool_call>", "<tools>")):
        values = _objects(lead)
        flat = [v for value in values for v in (value if isinstance(value, list) else [value])]
        return [call for call in map(_as_call, flat) if call]
    if lead.startswith(JSON_OPENERS):
        values = _objects(lead)
        flat = [v for value in values[:1] for v in (value if isinstance(value, list) else [value])]
        calls = [call for call in map(_as_call, flat) if call]
        if calls and all(call.name in known_tools for call in calls):
            return calls
    return []


@dataclass
class TextCallGate:
    """Decides, while the reply streams, whether its text is speech or a tool call.

    `feed` returns the text that can be spoken now; `finish` returns what is left to speak and
    the recovered calls (then nothing of the reply is spoken).
    """

    known_tools: set[str]
    held: str = ""
    speech: bool = False
    calls: list[TextCall] = field(default_factory=list)

    def _could_be_call(self) -> bool:
        lead = self.held.lstrip()
        if not lead:
            return True
        if len(self.held) > MAX_HELD_CHARS:
            return False
        openers = (*TAG_OPENERS, *JSON_OPENERS)
        return any(lead.startswith(o) or o.startswith(lead) for o in openers)

    def feed(self, delta: str) -> str:
        if self.speech:
            return delta
        self.held += delta
        if self._could_be_call():
            return ""
        self.speech = True
        released, self.held = self.held, ""
        return released

    def finish(self) -> str:
        """The text still to speak (empty when the reply was a call; see `calls`)."""
        if self.speech or not self.held.strip():
            return ""
        self.calls = parse_text_calls(self.held, self.known_tools)
        return "" if self.calls else self.held
