"""Only the user's words act: the router's half of the rule in docs/security.md.

Everything the model reads that the user did not say (a note's text, a video's title, an
OpenClaw result, any tool result) is data. Once the model has read such content, a call of a
tool that acts runs only if the user's own words this turn ask for it (`Tool.asked`);
otherwise it is not run, and the user hears what it would do as a question. Their next turn
answers it: a yes runs exactly those calls, a no or anything else forgets them.
"""

import re
from collections.abc import Iterable
from typing import Any

from router.tier0 import normalise
from router.tools.registry import Unasked
from shared.messages import TASK_RESULT_PREFIX

ASKING_RESULT = (
    "Not run: the user did not ask for this in their own words this turn; they are being asked "
    "to confirm it. Do not call it again."
)
"""The tool result the model reads for a call that waits for the user's yes."""
SPOKEN_NOT_DONE = "Okay, I won't."

_YES = re.compile(
    r"(?:yes|yeah|yep|yup|sure|ok|okay|alright|all right|please do|do it|go ahead|go for it"
    r"|confirm(?:ed)?|correct|right|absolutely|of course|that's right)"
    r"(?: (?:yes|please|do it|go ahead|thanks|thank you|sure))*"
)
_NO = re.compile(
    r"(?:no|nope|nah|don't|do not|never mind|forget it|leave it|don't do (?:it|that))"
    r"(?: (?:thanks|thank you|please|don't|no|don't do (?:it|that)))*"
)


def answer_to_question(text: str) -> bool | None:
    """True for a whole-turn yes, False for a no, None for anything else (a new request)."""
    said = normalise(text)
    if _YES.fullmatch(said):
        return True
    if _NO.fullmatch(said):
        return False
    return None


def question(waiting: Iterable[Unasked]) -> str:
    """ "Do you want me to close 'browser' and play 'lofi' on YouTube?" """
    doing = [item.question for item in waiting]
    listed = doing[0] if len(doing) == 1 else f"{', '.join(doing[:-1])} and {doing[-1]}"
    return f"Do you want me to {listed}?"


def holds_content(message: dict[str, Any]) -> bool:
    """Whether a chat message carries content the user did not say: a tool result, or a
    delegated task's result (kept in history as an assistant message, `TASK_RESULT_PREFIX`)."""
    content = message.get("content")
    return message.get("role") == "tool" or (
        message.get("role") == "assistant"
        and isinstance(content, str)
        and content.startswith(TASK_RESULT_PREFIX)
    )
