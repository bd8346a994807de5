"""Talking to the primary model: one streamed chat completion with tools, errors made speakable.

Retries with backoff on 429, 5xx, timeouts and refused connections are the openai client's own
(bounded by BOT_MODEL_MAX_RETRIES); what still fails becomes a `ModelError` carrying the sentence
the user hears.
"""

import logging
import time
from dataclasses import dataclass, field
from typing import Any, cast

import openai
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionMessageParam

from router.text_calls import TextCallGate
from shared.messages import new_id
from shared.settings import Mode, Settings
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


def _error_from_api(exc: openai.OpenAIError) -> ModelError:
    if isinstance(
        exc, openai.AuthenticationError | openai.PermissionDeniedError | openai.NotFoundError
    ):
        return ModelError("model_auth", SPOKEN_MISCONFIGURED, f"{exc.__class__.__name__}")
    if isinstance(exc, openai.BadRequestError):
        return ModelError("model_rejected", SPOKEN_UNAVAILABLE, str(exc.message)[:300])
    return ModelError("model_unavailable", SPOKEN_UNAVAILABLE, exc.__class__.__name__)


def _merge_tool_call_delta(calls: dict[int, ToolCallRequest], delta: Any) -> None:
    index = delta.index if delta.index is not None else len(calls)
    call = calls.setdefault(index, ToolCallRequest(id=delta.id or f"call_{index}"))
    if delta.id:
        call.id = delta.id
    if delta.function is not None:
        call.name += delta.function.name or ""
        call.arguments += delta.function.arguments or ""


class PrimaryModel:
    """The fast model at an OpenAI-compatible endpoint."""

    def __init__(self, client: AsyncOpenAI, model: str, max_tokens: int = 400) -> None:
        self.client = client
        self.model = model
        self.max_tokens = max_tokens

    @classmethod
    def from_settings(cls, settings: Settings) -> "PrimaryModel | None":
        """The configured model, or None when neither a key nor a base URL is set.

        In openclaw mode the "primary model" is OpenClaw's own chat-completions endpoint, with
        the app's tools passed as `tools`: the original, slow behaviour, kept to revert to.
        """
        if settings.mode is Mode.OPENCLAW and settings.openclaw_api_url:
            token = settings.openclaw_api_token
            client = AsyncOpenAI(
                api_key=token.get_secret_value() if token else LOCAL_SERVER_KEY,
                base_url=settings.openclaw_api_url.rstrip("/") + "/v1",
                timeout=settings.openclaw_task_timeout,
                max_retries=settings.bot_model_max_retries,
            )
            return cls(client, f"openclaw/{settings.openclaw_agent_id}", settings.bot_max_tokens)
        if not settings.primary_model_configured:
            return None
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        client = AsyncOpenAI(
            api_key=key or LOCAL_SERVER_KEY,
            base_url=settings.openai_base_url,
            timeout=settings.bot_model_timeout,
            max_retries=settings.bot_model_max_retries,
        )
        return cls(client, settings.bot_hybrid_primary_model, settings.bot_max_tokens)

    async def warm_up(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]]) -> None:
        """One request of a single token with the full prompt and tools, so a prefix-caching
        server (llama.cpp, vLLM) has them cached before a user waits on them; ModelError if the
        server cannot be reached."""
        # A cold CPU server can take half a minute to read the prompt: far longer than a turn's
        # per-request timeout, which would cancel and restart the very work that warms it.
        client = self.client.with_options(timeout=WARM_UP_TIMEOUT_SECONDS, max_retries=0)
        try:
            await client.chat.completions.create(
                model=self.model,
                # Plain dicts in the chat-message shape (the client's typed params are TypedDicts).
                messages=cast("list[ChatCompletionMessageParam]", messages),
                max_tokens=1,
                extra_body={"tools": tools},
            )
        except openai.APIStatusError as exc:
            raise _error_from_api(exc) from exc
        except openai.APIError as exc:
            raise ModelError("model_unavailable", SPOKEN_UNAVAILABLE, str(exc)[:300]) from exc

    async def stream_reply(
        self, messages: list[dict[str, Any]], tools: list[dict[str, Any]], on_text: TextSink
    ) -> ModelReply:
        """Stream one completion, passing text deltas to `on_text` as they arrive."""
        reply = ModelReply()
        calls: dict[int, ToolCallRequest] = {}
        gate = TextCallGate({tool["function"]["name"] for tool in tools})
        request: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": self.max_tokens,
        }
        if tools:
            # Sent as raw JSON: the client's per-request transform of typed params walks every
            # schema node (~25 ms a turn for the full catalog), and these are plain JSON already.
            request["extra_body"] = {"tools": tools}
        try:
            stream = await self.client.chat.completions.create(**request)
            # Closing the stream (also when on_text raises, e.g. on a barge-in) stops the model.
            async with stream:
                async for chunk in stream:
                    if chunk.usage is not None:
                        reply.prompt_tokens = chunk.usage.prompt_tokens
                        reply.completion_tokens = chunk.usage.completion_tokens
                    for choice in chunk.choices:
                        delta = choice.delta
                        if (delta.content or delta.tool_calls) and reply.first_token_at is None:
                            reply.first_token_at = time.monotonic()
                        for call_delta in delta.tool_calls or ():
                            _merge_tool_call_delta(calls, call_delta)
                        if delta.content:
                            reply.text += delta.content
                            speakable = gate.feed(delta.content)
                            if speakable:
                                await on_text(speakable)
        except openai.APIStatusError as exc:
            raise _error_from_api(exc) from exc
        except (openai.APITimeoutError, openai.APIConnectionError) as exc:
            raise _error_from_api(exc) from exc
        except openai.APIError as exc:
            raise ModelError("model_unavailable", SPOKEN_UNAVAILABLE, str(exc)[:300]) from exc
        except (ValueError, TypeError, AttributeError) as exc:
            raise ModelError("model_bad_response", SPOKEN_BAD_RESPONSE, repr(exc)[:300]) from exc
        reply.tool_calls = [call for _, call in sorted(calls.items()) if call.name]
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
