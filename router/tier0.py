"""Tier 0: the commonest, unambiguous commands acted on in milliseconds, with no model call.

Tools declare the phrasings they recognise with certainty (`Phrasing`, next to their schema).
This stage normalises the utterance, and acts only when exactly one phrasing of one tool
matches the whole of it and the arguments validate; anything compound, ambiguous,
conversational or unknown goes to the model. A wrong local action is worse than a 1 s model
call, so it abstains whenever in doubt.
"""

import json
import re
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from router.tools.registry import Phrasing, Tool, ToolRegistry
from shared.bus.screen import UiState

_FILLERS = re.compile(
    r"^(?:(?:uh+|um+|er+|hmm+|hey|hi|ok(?:ay)?|so|please|just|now|hold on|wait|"
    r"(?:can|could|would|will) you(?: please)?|i want you to|i'd like you to|go ahead and)\s+)+"
)
_TRAILING = re.compile(r"(?:\s+(?:please|thanks|thank you|now|for me|right now))+$")
_COMPOUND = re.compile(
    r"\b(?:then|after that|also|but)\b|[,;]|\b(?:and|or) (?:open|close|play|pause|resume|stop|"
    r"set|turn|show|hide|switch|make|start|delete|remove|add|mute|go|put|launch|tell|what)\b"
)
"""Two requests in one ("pause and then open my notes"): the model sorts those out."""


_SPOKEN_FORMS = [
    (re.compile(r"\bsound track"), "soundtrack"),
    (re.compile(r"\blo[- ]?fi\b"), "lofi"),
    (re.compile(r"\byou tube\b"), "youtube"),
    (re.compile(r"(?<=\d)x(?=\d)"), " x "),  # "3.5x4"
]
"""How speech-to-text writes words the phrasings spell otherwise (Whisper, measured with
`bench/spoken_commands.py`)."""


def normalise(text: str) -> str:
    """Lower case, spoken punctuation dropped, fillers and politeness trimmed."""
    text = text.casefold().replace("’", "'").strip()
    text = re.sub(r"[!?\"“”]", " ", text)
    text = re.sub(r"(?<!\d)[.,]|[.,](?!\d)", " ", text)  # keep 3.5 and 1,000; not "60."
    for written, form in _SPOKEN_FORMS:
        text = written.sub(form, text)
    text = " ".join(text.split())
    text = _FILLERS.sub("", text)
    return _TRAILING.sub("", text).strip()


@dataclass(frozen=True)
class Tier0Call:
    """A complete, validated tool call decided locally."""

    tool: str
    arguments: dict[str, Any]
    phrasing: Phrasing

    def spoken(self, result: str) -> str:
        """The reply to speak for the tool's result."""
        if result.startswith("Error: ") or not self.phrasing.reply:
            return spoken_result(result)
        return self.phrasing.reply(result)


def spoken_result(result: str) -> str:
    """A tool's result as a reply: as it is, or "Sorry, <reason>." for an error."""
    if result.startswith("Error: "):
        return f"Sorry, {result.removeprefix('Error: ').rstrip('.')}."
    return result


class Tier0:
    """The local route in front of the primary model."""

    def __init__(self, registry: ToolRegistry) -> None:
        self._phrasings: list[tuple[Tool, Phrasing]] = [
            (item, phrasing) for item in registry.tools for phrasing in item.phrasings
        ]

    def decide(self, text: str, ui: UiState) -> Tier0Call | None:
        """The one certain tool call `text` asks for, or None to let the model decide."""
        said = normalise(text)
        if not said or len(said) > 120 or _COMPOUND.search(said):
            return None
        found: dict[tuple[str, str], Tier0Call] = {}
        for item, phrasing in self._phrasings:
            match = phrasing.pattern.fullmatch(said)
            if match is None:
                continue
            arguments = phrasing.arguments(match, ui)
            if arguments is None:
                continue
            key = (item.name, json.dumps(arguments, sort_keys=True))
            found.setdefault(key, Tier0Call(item.name, arguments, phrasing))
        if len(found) != 1:
            return None
        (call,) = found.values()
        item = next(t for t, _ in self._phrasings if t.name == call.tool)
        try:
            item.arguments.model_validate(call.arguments)
        except ValidationError:
            return None
        return call
