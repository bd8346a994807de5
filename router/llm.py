"""Talking to the primary model: one streamed chat completion with tools, errors made speakable.

Retries with backoff on 429, 5xx, timeouts and refused connections are the openai client's own
(bounded by BOT_MODEL_MAX_RETRIES); what still fails becomes a `ModelError` carrying the sentence
the user hears.
"""

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import openai
from openai import AsyncOpenAI, AsyncStream, DefaultAioHttpClient
from openai.types.chat import ChatCompletionMessageParam

from router.text_calls import TextCallGate
from shared.messages import new_id
from shared.speech import TextSink

log = logging.getLogger(__name__)

SPOKEN_MISCONFIGURED = "Sorry, the assistant's model is not configured correctly."
SPOKEN_UNAVAILABLE = "Sorry, I couldn't reach my language model just now. Please try again."
SPOKEN_BAD_RESPONSE = "Sorry, my language model gave a garbled answer. Please try again."
LOCAL_SERVER_KEY = "not-needed"
"""Local OpenAI-compatible servers ignore the key, but the client insists on one."""


WARM_UP_TIMEOUT_SECONDS = 300.0
"""How long the warm-up request may take (it only reads the prompt)."""


class ModelError(Exception):
    """The model could not answer; `reason` is for logs and events, `spoken` for the user."""

    def __init__(self, reason: str, spoken: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.spoken = spoken


@dataclass
class ToolCallRequest:
    """A tool call as the model streamed it; `arguments` is the raw JSON text."""

    id: str
    name: str = ""
    arguments: str = ""

    def as_message_part(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass
class ModelReply:
    """Everything one completion produced."""

    text: str = ""
    tool_calls: list[ToolCallRequest] = field(default_factory=list)
    first_token_at: float | None = None
    """`time.monotonic()` of the first content or tool-call delta."""
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls_from_text: int = 0
    """Tool calls recovered from the reply's text (the server sent no native `tool_calls`)."""
    calls_not_read: int = 0
    """Tool calls past MAX_CALLS_READ, counted but not kept."""


def _error_from_api(exc: openai.OpenAIError) -> ModelError:
    if isinstance(
        exc, openai.AuthenticationError | openai.PermissionDeniedError | openai.NotFoundError
    ):
        return ModelError("model_auth", SPOKEN_MISCONFIGURED, f"{exc.__class__.__name__}")
    if isinstance(exc, openai.BadRequestError):
        return ModelError("model_rejected", SPOKEN_UNAVAILABLE, str(exc.message)[:300])
    return ModelError("model_unavailable", SPOKEN_UNAVAILABLE, exc.__class__.__name__)


@contextlib.contextmanager
def _speakable_errors() -> Iterator[None]:
    """What the client or a reply raises, as a ModelError the user can hear."""
    try:
        yield
    except openai.APIStatusError as exc:
        raise _error_from_api(exc) from exc
    except (openai.APITimeoutError, openai.APIConnectionError) as exc:
        raise _error_from_api(exc) from exc
    except openai.APIError as exc:
        raise ModelError("model_unavailable", SPOKEN_UNAVAILABLE, str(exc)[:300]) from exc
    except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
        raise ModelError("model_bad_response", SPOKEN_BAD_RESPONSE, repr(exc)[:300]) from exc


MAX_CALLS_READ = 64
"""Tool calls of one reply kept in memory; past it they are only counted (a turn runs fewer
still: BOT_MAX_TOOL_CALLS_PER_STEP)."""
MAX_CALL_TEXT_READ = 65_536
"""Characters of one call's name or arguments kept; longer ones are refused later anyway."""


def _merge_tool_call_delta(
    calls: dict[int, ToolCallRequest], delta: dict[str, Any], dropped: set[int]
) -> None:
    index = delta.get("index")
    index = index if isinstance(index, int) else len(calls)
    if index not in calls and len(calls) >= MAX_CALLS_READ:
        if len(dropped) < MAX_CALLS_READ * 1000:
            dropped.add(index)
        return
    call = calls.setdefault(index, ToolCallRequest(id=delta.get("id") or f"call_{index}"))
    if delta.get("id"):
        call.id = str(delta["id"])[:100]
    function = delta.get("function")
    if function:
        call.name = (call.name + (function.get("name") or ""))[:MAX_CALL_TEXT_READ]
        call.arguments = (call.arguments + (function.get("arguments") or ""))[:MAX_CALL_TEXT_READ]


class PrimaryModel:
    """The fast model at an OpenAI-compatible endpoint."""

    def __init__(self, client: AsyncOpenAI, model: str, max_tokens: int = 400) -> None:
        self.client = client
        self.model = model
        self.max_tokens = max_tokens

    @classmethod
    def at(
        cls,
        base_url: str | None,
        api_key: str | None,
        model: str,
        *,
        timeout: float,
        max_retries: int,
        max_tokens: int,
    ) -> "PrimaryModel":
        """The model `model` at an OpenAI-compatible endpoint (None: OpenAI's); a local server
        without a key gets a placeholder one."""
        client = AsyncOpenAI(
            api_key=api_key or LOCAL_SERVER_KEY,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            # aiohttp under the client's own API: 20 % less CPU a request than the default
            # httpx2 transport (1.14 against 1.43 ms, measured with bench/router_cpu's servers).
            http_client=DefaultAioHttpClient(),
        )
        return cls(client, model, max_tokens)

    async def close(self) -> None:
        await self.client.close()

    async def warm_up(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> None:
        """One request of a single token with the full prompt and tools, so a prefix-caching
        server (llama.cpp, vLLM) has them cached before a user waits on them; ModelError if the
        server cannot be reached."""
        # A cold CPU server can take half a minute to read the prompt: far longer than a turn's
        # per-request timeout, which would cancel and restart the very work that warms it.
        client = self.client.with_options(timeout=WARM_UP_TIMEOUT_SECONDS, max_retries=0)
        with _speakable_errors():
            await client.chat.completions.create(
                model=self.model,
                # Plain dicts in the chat-message shape (the client's typed params are TypedDicts).
                messages=cast("list[ChatCompletionMessageParam]", messages),
                max_tokens=1,
                extra_body={"tools": tools} if tools else None,
            )

    async def choose(
        self,
        messages: list[dict[str, Any]],
        schema: dict[str, Any],
        max_tokens: int = 24,
        tools: list[dict[str, Any]] | None = None,
    ) -> ModelReply:
        """One completion whose text the server constrains to the JSON `schema`
        (`response_format`), at temperature 0, with `tools` in the prompt for what they say;
        ModelError("model_rejected") when the server does not take the request."""
        request: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": max_tokens,
            "temperature": 0,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": "choice", "strict": True, "schema": schema},
            },
        }
        if tools:
            request["tools"] = tools
        with _speakable_errors():
            response = await self.client.post("/chat/completions", body=request, cast_to=object)
            if not isinstance(response, dict):
                raise TypeError(f"a completion that is not an object: {response!r}"[:300])
            usage = response.get("usage") or {}
            return ModelReply(
                text=str(response["choices"][0]["message"].get("content") or ""),
                # Not streamed: its first token is seen with the whole reply.
                first_token_at=time.monotonic(),
                prompt_tokens=usage.get("prompt_tokens") or 0,
                completion_tokens=usage.get("completion_tokens") or 0,
            )

    async def stream_reply(
        self,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        on_text: TextSink,
    ) -> ModelReply:
        """Stream one completion, passing text deltas to `on_text` as they arrive."""
        reply = ModelReply()
        calls: dict[int, ToolCallRequest] = {}
        dropped: set[int] = set()
        gate = TextCallGate({tool["function"]["name"] for tool in tools})
        request: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": self.max_tokens,
        }
        if tools:
            request["tools"] = tools
        with _speakable_errors():
            # The client's own transport, retries, errors and SSE decoding, with our plain JSON
            # as the body and each chunk kept as the dict it was decoded into: the typed
            # `chat.completions.create` walks every message and schema node of the request
            # against its TypedDicts (most of a turn's router CPU, see bench/README.md) and
            # builds a pydantic object per streamed chunk, neither of which a turn needs.
            stream = await self.client.post(
                "/chat/completions",
                body=request,
                cast_to=object,
                stream=True,
                stream_cls=AsyncStream[object],
            )
            # Closing the stream (also when on_text raises, e.g. on a barge-in) stops the model.
            async with stream:
                async for chunk in stream:
                    if not isinstance(chunk, dict):
                        raise TypeError(f"a stream chunk that is not an object: {chunk!r}")
                    usage = chunk.get("usage")
                    if usage:
                        reply.prompt_tokens = usage.get("prompt_tokens") or 0
                        reply.completion_tokens = usage.get("completion_tokens") or 0
                    for choice in chunk.get("choices") or ():
                        delta = choice.get("delta") or {}
                        content, call_deltas = delta.get("content"), delta.get("tool_calls")
                        if (content or call_deltas) and reply.first_token_at is None:
                            reply.first_token_at = time.monotonic()
                        for call_delta in call_deltas or ():
                            _merge_tool_call_delta(calls, call_delta, dropped)
                        if content:
                            reply.text += content
                            speakable = gate.feed(content)
                            if speakable:
                                await on_text(speakable)
        reply.tool_calls = [call for _, call in sorted(calls.items()) if call.name]
        reply.calls_not_read = len(dropped)
        rest = gate.finish()
        if rest:
            await on_text(rest)
        if gate.calls and not reply.tool_calls:
            # The server returned the calls as text: act on them, and keep no text of them.
            reply.tool_calls = [
                ToolCallRequest(f"call_text_{new_id()}", call.name, call.arguments)
                for call in gate.calls
            ]
            reply.calls_from_text = len(gate.calls)
            reply.text = ""
            log.info("recovered %d tool call(s) the model wrote as text", len(gate.calls))
        return reply
