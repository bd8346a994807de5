"""The OpenClaw gateway's OpenAI-compatible `/v1/chat/completions`, streamed over SSE with httpx.

Connect fast, read without a timeout (the gateway can be silent for minutes while its tools
run; the caller owns the overall deadline), and tell the caller whether a failure is safe to
retry: only when the gateway cannot have started the agent (no connection, or 429/502/503/504).

Why not the `AsyncOpenAI` client the router uses for the same protocol: its retries and read
timeout can be switched off (`max_retries=0`, `timeout=None`), but it reads an SSE line of any
length, and this stream carries text the gateway fetched from the web: a line over 1 MB is
refused here before it is held in memory. That bound, and knowing whether any byte arrived
(which decides whether a retry could run the agent twice), are why this reads the stream itself.
"""

from collections.abc import AsyncIterator
from typing import Any

import httpx

from shared.settings import Settings
from shared.speech import TextSink
from shared.untrusted import parse_json

KNOWN_ERROR_TEXTS = ("Error: internal error", "No response from OpenClaw.")
"""What older gateway builds stream as plain text instead of an error."""
RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})
MAX_LINE_BYTES = 1_000_000
"""An SSE line longer than this is not a chunk of an answer: the stream is refused."""
SPOKEN_UNREADABLE = "OpenClaw sent something I couldn't read."


class GatewayError(Exception):
    """The gateway did not deliver an answer; `spoken` says so to the user."""

    def __init__(self, reason: str, spoken: str, retryable: bool = False, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.spoken = spoken
        self.retryable = retryable


def is_known_error_text(text: str) -> bool:
    return text.strip() in KNOWN_ERROR_TEXTS


def _error_message(body: bytes) -> str:
    try:
        return str(parse_json(body)["error"]["message"])[:300]
    except (ValueError, KeyError, TypeError):
        return body[:300].decode(errors="replace")


def _status_error(status: int, body: bytes) -> GatewayError:
    detail = f"HTTP {status}: {_error_message(body)}"
    if status in (401, 403):
        return GatewayError("openclaw_auth", "OpenClaw rejected the credentials.", detail=detail)
    if status in RETRYABLE_STATUSES:
        return GatewayError("openclaw_busy", "OpenClaw is busy.", retryable=True, detail=detail)
    return GatewayError("openclaw_error", "OpenClaw ran into an error.", detail=detail)


def _unreadable(data: str) -> GatewayError:
    """A chunk of the wrong shape: the task fails (not retried: the agent may have acted)."""
    return GatewayError("openclaw_bad_stream", SPOKEN_UNREADABLE, detail=data[:200])


def _contents(payload: object, data: str) -> list[str]:
    """The text deltas of one `chat.completion.chunk`; GatewayError for any other shape."""
    choices = payload.get("choices", []) if isinstance(payload, dict) else None
    if not isinstance(choices, list):
        raise _unreadable(data)
    contents = []
    for choice in choices:
        if not isinstance(choice, dict):
            raise _unreadable(data)
        delta = choice.get("delta")
        if delta is None:
            continue
        if not isinstance(delta, dict):
            raise _unreadable(data)
        content = delta.get("content")
        if content is not None and not isinstance(content, str):
            raise _unreadable(data)
        if content:
            contents.append(content)
    return contents


async def _bounded_lines(response: httpx.Response) -> AsyncIterator[str]:
    """The stream's lines, refusing one longer than MAX_LINE_BYTES (a stream with no newline
    would otherwise grow in memory until the worker is killed)."""
    pending = bytearray()
    async for chunk in response.aiter_bytes():
        *complete, rest = chunk.split(b"\n")
        for part in complete:
            pending += part
            yield pending.rstrip(b"\r").decode("utf-8", errors="replace")
            pending.clear()
        pending += rest
        if len(pending) > MAX_LINE_BYTES:
            raise _unreadable(f"a line of over {MAX_LINE_BYTES} bytes")
    if pending:
        yield pending.rstrip(b"\r").decode("utf-8", errors="replace")


class OpenClawGateway:
    """One gateway, shared by the tasks of a worker process."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        if settings.openclaw_api_url is None:
            raise ValueError("OPENCLAW_API_URL is not set")
        self.url = settings.openclaw_api_url.rstrip("/") + "/v1/chat/completions"
        self.model = f"openclaw/{settings.openclaw_agent_id}"
        self.headers = settings.openclaw_headers
        self.timeout = httpx.Timeout(
            connect=settings.openclaw_connect_timeout, read=None, write=30.0, pool=30.0
        )
        self.client = client

    async def stream_answer(
        self, messages: list[dict[str, Any]], user: str, on_text: TextSink
    ) -> None:
        """Stream one answer, handing each text delta to `on_text`; raise GatewayError if it fails.

        `user` keys the gateway session: a distinct one per task lets tasks run in parallel.
        """
        body = {"model": self.model, "messages": messages, "stream": True, "user": user}
        try:
            async with self.client.stream(
                "POST", self.url, json=body, headers=self.headers, timeout=self.timeout
            ) as response:
                if response.status_code != 200:
                    raise _status_error(response.status_code, await response.aread())
                await self._read_events(response, on_text)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise GatewayError(
                "openclaw_unreachable",
                "I couldn't reach OpenClaw.",
                retryable=True,
                detail=str(exc),
            ) from exc
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise GatewayError(
                "openclaw_dropped", "The connection to OpenClaw broke.", detail=str(exc)
            ) from exc

    async def _read_events(self, response: httpx.Response, on_text: TextSink) -> None:
        async for line in _bounded_lines(response):
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                return
            try:
                payload = parse_json(data)
            except ValueError as exc:
                raise _unreadable(data) from exc
            if isinstance(payload, dict) and payload.get("error"):
                error = payload["error"]
                message = error.get("message") if isinstance(error, dict) else str(error)
                raise GatewayError(
                    "openclaw_error", "OpenClaw ran into an error.", detail=str(message)[:300]
                )
            for content in _contents(payload, data):
                await on_text(content)
        raise GatewayError(
            "openclaw_dropped", "The connection to OpenClaw broke.", detail="no [DONE]"
        )
