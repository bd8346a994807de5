"""Route first, for small models: one short constrained step chooses where a turn goes — a tool
family, delegation to OpenClaw, or a spoken answer — before the model sees any tool.

A 1.5B model offered ~40 tools at once picks a fast tool or answers itself where it should
delegate (12 % delegation recall on the eval dataset). Asked first for one word out of a dozen
routes, under a JSON schema the server enforces (llama.cpp grammar, vLLM guided decoding, Ollama
`format`), with examples of each, it routes far better; the call itself is then made with only
that family's tools, decoded under a schema only such a call satisfies (servers enforce
`response_format` where many ignore `tool_choice`). The prompts are fixed prefixes a local
server caches, so the extra step costs a few output tokens. Measured in docs/models.md; off
for OpenAI's models, which route well in one request (BOT_ROUTE_FIRST).
"""

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from router.llm import ModelError, ModelReply, PrimaryModel, ToolCallRequest
from router.tools import DELEGATION, FAMILIES, fast_tools
from router.tools.registry import ToolRegistry
from shared.messages import new_id
from shared.speech import TextSink

log = logging.getLogger(__name__)

DELEGATE = "delegate"
ANSWER = "answer"

ROUTE_NAMES = {
    "soundtrack": "background_music",
    "sprites": "character",
    "views": "screen_layout",
    "misc": "time_or_now_playing",
}
"""Routes named for what they do where a family's name says little to a small model (it sent
general questions to `misc`); other routes are named as their family."""

ROUTE_HINTS = {
    ANSWER: "small talk, greetings, thanks, 'never mind', and questions of general knowledge "
    "(facts, meanings, spelling, history, people, places) answered in a sentence or two; "
    "never arithmetic (calculator) or anything on the screen",
    DELEGATE: "work needing the internet, running code, files or folders on the computer, "
    "other apps and services, several steps or deep analysis: research, news, prices, weather, "
    "anything current; writing or fixing code; reading, converting, moving or changing files "
    "and documents; email, messages, calendars, bookings, payments, posting; plans, "
    "schedules, reviews, comparisons",
    "notes": "only the user's own notes in this app: list, open, read, create, add to, edit, "
    "rename, delete or search them",
    "youtube": "play, pause, resume, stop, skip, rewind or seek a YouTube video",
    "windows": "open any app (email, settings, photos, files, the calculator app, ...), close, "
    "focus, minimize, maximize, restore, arrange or list app windows",
    "background_music": "the background music: play a mood or track, pause, skip, volume, mute",
    "character": "the on-screen character (robot, fox, ...): show, hide, switch, animate it",
    "screen_layout": "switch the whole screen's layout or view: desktop, notes, media, focus, "
    "minimal, gallery",
    "profiles": "switch, list or describe the user profiles",
    "calculator": "arithmetic on numbers the user says: add, subtract, multiply, divide, "
    "percent, square root",
    "timers": "set, cancel or list countdown timers and reminders in a few minutes",
    "time_or_now_playing": "only the current time or date, or which song or video is playing",
}
"""What each route is for, as the routing prompt says it; the general routes first."""

ROUTE_EXAMPLES = (
    ("good morning", ANSWER),
    ("thank you so much", ANSWER),
    ("make me laugh", ANSWER),
    ("who painted the mona lisa", ANSWER),
    ("how many legs does a spider have", ANSWER),
    ("what does ephemeral mean", ANSWER),
    ("what year did the berlin wall fall", ANSWER),
    ("forget it", ANSWER),
    ("how are you doing", ANSWER),
    ("search the web for reviews of the new kindle", DELEGATE),
    ("what's the weather going to be in berlin tomorrow", DELEGATE),
    ("find the latest news about the mars mission", DELEGATE),
    ("how much is bitcoin worth right now", DELEGATE),
    ("write a bash script that backs up my home folder", DELEGATE),
    ("fix the failing build in my rust project", DELEGATE),
    ("rename every file in the invoices folder to include the month", DELEGATE),
    ("turn the scanned receipts into one pdf", DELEGATE),
    ("find the biggest expenses in my tax spreadsheet", DELEGATE),
    ("summarize the article at the link i sent", DELEGATE),
    ("compare the top three robot vacuums and pick one for me", DELEGATE),
    ("plan a week of vegetarian dinners with a shopping list", DELEGATE),
    ("email the landlord that the heater is broken", DELEGATE),
    ("put the dentist on my calendar for thursday at ten", DELEGATE),
    ("check if my home server is still up", DELEGATE),
    ("explain step by step why there are infinitely many primes", DELEGATE),
    ("jot down that the dentist moved to tuesday", "notes"),
    ("find the note where i wrote the wifi password", "notes"),
    ("read me my packing list", "notes"),
    ("open my budget note", "notes"),
    ("play the lakers highlights on youtube", "youtube"),
    ("play a video about how volcanoes work", "youtube"),
    ("pause the video", "youtube"),
    ("skip ahead two minutes", "youtube"),
    ("minimize the terminal", "windows"),
    ("open the text editor", "windows"),
    ("open the browser", "windows"),
    ("put on something relaxing in the background", "background_music"),
    ("mute the music", "background_music"),
    ("hide the little character", "character"),
    ("go to focus view", "screen_layout"),
    ("switch to the kids profile", "profiles"),
    ("how much is 37 times 12", "calculator"),
    ("remind me in ten minutes to check the oven", "timers"),
    ("what's the date today", "time_or_now_playing"),
    ("find out how volcanoes form and what triggers eruptions", DELEGATE),
    ("open the browser and book me a table for two tonight", DELEGATE),
)
"""Short, made-up examples of each route, with the pairs that tell a fast tool from
delegation ("open my budget note" / "find the biggest expenses in my tax spreadsheet"). None is
taken from an eval set; the general routes' hints and the meaning, email, calendar and file
examples were added after reading the misroutes on the dataset (`make eval`), and the held-out
sets measure them (docs/models.md)."""

CONTEXT_MESSAGES = 2
"""The last spoken exchange shown to the routing step, so "do that again" routes like "that"."""


def routing_prompt(routes: list[str]) -> str:
    """The routing step's system message: every route with its use, then examples of the ones
    offered (no delegation examples without a delegate route)."""
    lines = [
        "You route a desktop voice assistant's requests. Choose where the user's last message goes:"
    ]
    lines += [f"- {route}: {ROUTE_HINTS[route]}" for route in routes]
    lines.append("Examples:")
    lines += [f'"{text}" -> {route}' for text, route in ROUTE_EXAMPLES if route in routes]
    lines.append('Reply with JSON only, like {"route": "notes"}.')
    return "\n".join(lines)


def call_schema(tools: list[dict[str, Any]]) -> dict[str, Any]:
    """A JSON schema that only a call of one of `tools` satisfies: `{"name": ..., "arguments":
    {...}}` with that tool's own parameters. Servers enforce `response_format` where many
    ignore `tool_choice: "required"` (llama.cpp with Qwen2.5-Coder wrote prose instead)."""
    return {
        "anyOf": [
            {
                "type": "object",
                "properties": {
                    "name": {"const": tool["function"]["name"]},
                    "arguments": tool["function"].get("parameters") or {"type": "object"},
                },
                "required": ["name", "arguments"],
            }
            for tool in tools
        ]
    }


def call_from(reply: ModelReply) -> ModelReply | None:
    """The routed reply as a tool call, or None when its text is no whole call (cut short)."""
    try:
        call = json.loads(reply.text)
    except ValueError:
        return None
    if not isinstance(call, dict) or not isinstance(call.get("name"), str):
        return None
    arguments = call.get("arguments")
    request = ToolCallRequest(
        f"call_{new_id()}",
        call["name"],
        json.dumps(arguments if isinstance(arguments, dict) else {}, ensure_ascii=False),
    )
    return replace(reply, text="", tool_calls=[request])


@dataclass(frozen=True)
class Route:
    """Where a turn goes: the tools its first model call is offered, and whether it must call
    one (a family or delegation was chosen: the call is decoded under `call_schema`) or may
    only speak (an answer)."""

    name: str
    tools: ToolRegistry
    must_call: bool


class RouteFirst:
    """The routing step of one router process: its prompt, schema and routes, and whether the
    server still takes it (a server that rejects `response_format` turns it off for good)."""

    def __init__(
        self,
        families: Mapping[str, ToolRegistry],
        delegation: ToolRegistry | None,
        catalog: ToolRegistry,
    ) -> None:
        """`families` and `delegation` are the routes' tools; `catalog`, every tool, offered
        when the routing step cannot be used."""
        self.catalog = catalog
        self.routes: dict[str, Route] = {ANSWER: Route(ANSWER, ToolRegistry(()), False)}
        if delegation is not None:
            self.routes[DELEGATE] = Route(DELEGATE, delegation, must_call=True)
        for family, tools in families.items():
            name = ROUTE_NAMES.get(family, family)
            self.routes[name] = Route(name, tools, must_call=True)
        unknown = set(self.routes) - set(ROUTE_HINTS)
        assert not unknown, f"routes without a hint: {sorted(unknown)}"
        self.prompt = routing_prompt(list(self.routes))
        self.schema: dict[str, Any] = {
            "type": "object",
            "properties": {"route": {"type": "string", "enum": list(self.routes)}},
            "required": ["route"],
            "additionalProperties": False,
        }
        self.enabled = True

    def messages(self, earlier: list[dict[str, Any]], text: str) -> list[dict[str, Any]]:
        """The routing request: its fixed prompt (cached by the server), the last spoken
        exchange, the user's words."""
        spoken = [
            {"role": m["role"], "content": m["content"]}
            for m in earlier
            if m.get("role") in ("user", "assistant")
            and isinstance(m.get("content"), str)
            and m["content"]
        ]
        return [
            {"role": "system", "content": self.prompt},
            *spoken[-CONTEXT_MESSAGES:],
            {"role": "user", "content": text},
        ]

    @classmethod
    def over_families(cls, delegation: bool) -> "RouteFirst":
        """Routes to each tool family of `router.tools`, to delegation when `delegation`, and
        to an answer."""
        return cls(
            {name: ToolRegistry(module.TOOLS) for name, module in FAMILIES.items()},
            ToolRegistry(DELEGATION.TOOLS) if delegation else None,
            fast_tools(delegation),
        )

    async def choose(
        self, model: PrimaryModel, earlier: list[dict[str, Any]], text: str
    ) -> tuple[Route | None, ModelReply | None]:
        """The route for `text` and the routing reply (for its tokens); no route when the step
        is off, the server rejects it, or the reply names none. Other ModelErrors (the server
        is down) are the turn's to speak."""
        if not self.enabled:
            return None, None
        try:
            reply = await model.choose(self.messages(earlier, text), self.schema)
        except ModelError as exc:
            if exc.reason != "model_rejected":
                raise
            self.turn_off(f"the server rejected response_format: {exc}")
            return None, None
        route = self.route_of(reply.text)
        if route is None:
            log.info("routing step named no route (%r); offering every tool", reply.text[:80])
        return route, reply

    async def first_reply(
        self,
        model: PrimaryModel,
        messages: list[dict[str, Any]],
        route: Route | None,
        on_text: TextSink,
    ) -> tuple[ModelReply, ToolRegistry]:
        """The turn's first model reply, and the tools it was given (the turn's later model
        calls get the same): for a family or delegation, a call of one of the route's tools,
        decoded under `call_schema`; for an answer, spoken text with no tools. With every tool
        when there is no route, when the routed call comes back cut short, or when the server
        rejects it (which turns routing off)."""
        if route is not None:
            tools = route.tools.schemas()
            try:
                if not route.must_call:
                    return await model.stream_reply(messages, tools, on_text), route.tools
                schema = call_schema(tools)
                reply = call_from(await model.choose(messages, schema, model.max_tokens, tools))
                if reply is not None:
                    return reply, route.tools
                log.info("routed call to %s came back cut short; offering every tool", route.name)
            except ModelError as exc:
                if exc.reason != "model_rejected":
                    raise
                self.turn_off(f"the server rejected a routed request: {exc}")
        return await model.stream_reply(messages, self.catalog.schemas(), on_text), self.catalog

    def route_of(self, reply: str) -> Route | None:
        """The route a reply names, or None for a reply that names none (the turn then goes
        to the whole catalog)."""
        try:
            chosen = json.loads(reply)
        except ValueError:
            return None
        name = chosen.get("route") if isinstance(chosen, dict) else None
        return self.routes.get(name) if isinstance(name, str) else None

    def turn_off(self, why: str) -> None:
        """The server cannot do the routing step: every turn goes to the whole catalog."""
        if self.enabled:
            log.warning("routing step off for this router: %s", why)
        self.enabled = False
