"""A fake OpenAI-compatible chat-completions server: real HTTP on 127.0.0.1, scripted replies.

It streams `chat.completion.chunk` SSE (role chunk, content deltas, `tool_calls` deltas split
the way OpenAI splits them, finish chunk, optional usage chunk, `[DONE]`) over chunked HTTP/1.1,
records every request, and can be told to fail in the ways real endpoints fail. The OpenClaw
gateway speaks the same protocol at `/v1/chat/completions`, with its own failure modes (an
error chunk mid-stream, a dropped connection, minutes of silence): `FakeOpenClaw` is this
server dressed as the gateway.
"""

import json
import select
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


@dataclass
class Say:
    """Stream `text` as content deltas of a few characters each.

    With `resume`, streaming stops once `pause_after` has been sent and goes on when it is set.
    """

    text: str
    pause_after: str = ""
    resume: threading.Event | None = None
    delay: float = 0.0
    """Seconds before the response starts (a slow first byte)."""


@dataclass
class StreamError:
    """Stream some text, then an error chunk and `[DONE]`, as OpenClaw does after a failure."""

    text_before: str = "Let me look."
    message: str = "agent run failed"


@dataclass
class Drop:
    """Stream some text, then close the connection without finishing the response."""

    text_before: str = "Looking into it."


@dataclass
class CallTools:
    """Stream tool calls (name, arguments) after optional leading text."""

    calls: list[tuple[str, dict[str, Any] | str]]
    text: str = ""
    piece_chars: int = 7
    """Characters of arguments per streamed delta."""


@dataclass
class Fail:
    """Answer with an HTTP error before streaming, as OpenAI does."""

    status: int
    message: str = "scripted failure"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Hang:
    """Send nothing for `seconds` (or until the server stops)."""

    seconds: float = 3600.0


@dataclass
class Garbage:
    """Start streaming, then send a line that is not JSON."""

    text_before: str = "Sure"


@dataclass
class Raw:
    """Start streaming, then send these strings exactly as they are (SSE lines of any shape)."""

    parts: list[str]
    text_before: str = "Here goes. "


Reply = Say | CallTools | Fail | Hang | Garbage | StreamError | Drop | Raw
Script = Callable[[dict[str, Any]], Reply]


def _tokens(text: str, size: int = 4) -> Iterator[str]:
    for start in range(0, len(text), size):
        yield text[start : start + size]


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up mid-reply (a killed router, a cancelled task) are expected here."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


class FakeOpenAI:
    """The server; `replies` are used in order, then `fallback` decides (default: echo)."""

    def __init__(
        self,
        replies: list[Reply] | None = None,
        fallback: Script | None = None,
        api_key: str | None = None,
        model: str = "gpt-4o-mini",
        first_token_delay: float = 0.0,
        token_interval: float = 0.0,
        record: bool = True,
    ) -> None:
        self.record = record
        """False: keep no requests, timings or pieces (a benchmark sends thousands)."""
        self.replies = list(replies or [])
        self.fallback = fallback or (lambda request: Say("ok."))
        self.api_key = api_key
        self.model = model
        self.first_token_delay = first_token_delay
        self.token_interval = token_interval
        self.requests: list[dict[str, Any]] = []
        self.warm_ups: list[dict[str, Any]] = []
        self.timings: list[tuple[float, float, dict[str, Any]]] = []
        """(start, end, request) wall-clock times of every completed request, for benchmarks."""
        self.pieces: list[tuple[float, str, str | None]] = []
        """(wall-clock time, text, request's `user`) of every content delta sent, for benchmarks."""
        self.aborted: list[str | None] = []
        """The `user` of each request whose client hung up while a reply was paused."""
        self.request_headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _QuietServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        # Polls for shutdown every 20 ms (socketserver's default, 0.5 s, was half of most
        # tests' teardown).
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def script(self, *replies: Reply) -> None:
        """Queue more replies."""
        with self._lock:
            self.replies.extend(replies)

    def next_reply(self, request: dict[str, Any]) -> Reply:
        if not request.get("stream") and request.get("max_tokens") == 1:
            # A router's warm-up (prefix caching): answered like any server would, kept apart
            # from the requests and the script the test is about.
            with self._lock:
                self.warm_ups.append(request)
            return Say("ok")
        with self._lock:
            if self.record:
                self.requests.append(request)
            if self.replies:
                return self.replies.pop(0)
        return self.fallback(request)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Streamed chunks are small: without this, Nagle's algorithm delays each by ~40 ms.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if not self.path.endswith("/chat/completions"):
                    self._error(404, "unknown path", "invalid_request_error")
                    return
                with fake._lock:
                    fake.request_headers.append({k.lower(): v for k, v in self.headers.items()})
                if fake.api_key and self.headers.get("Authorization") != f"Bearer {fake.api_key}":
                    self._error(401, "Incorrect API key provided.", "invalid_request_error")
                    return
                request = json.loads(body)
                started = time.time()
                reply = fake.next_reply(request)
                if isinstance(reply, Fail):
                    self._error(reply.status, reply.message, "server_error", reply.headers)
                elif isinstance(reply, Hang):
                    fake._stopping.wait(reply.seconds)
                    self.close_connection = True
                elif request.get("stream"):
                    if isinstance(reply, Say) and reply.delay:
                        fake._stopping.wait(reply.delay)
                    self._stream(request, reply)
                else:
                    self._whole(reply)
                with fake._lock:
                    if fake.record:
                        fake.timings.append((started, time.time(), request))

            def _error(
                self, status: int, message: str, kind: str, headers: dict[str, str] | None = None
            ) -> None:
                payload = json.dumps({"error": {"message": message, "type": kind, "code": None}})
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload.encode())

            def _client_gone(self) -> bool:
                readable, _, _ = select.select([self.connection], [], [], 0)
                return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""

            def _pause(self, request: dict[str, Any], resume: threading.Event) -> bool:
                """Wait for `resume`; False (and the abort recorded) if the client hangs up."""
                while not resume.wait(0.02):
                    if fake._stopping.is_set():
                        return False
                    if self._client_gone():
                        with fake._lock:
                            fake.aborted.append(request.get("user"))
                        return False
                return True

            def _write_chunk(self, data: str) -> None:
                raw = data.encode()
                self.wfile.write(f"{len(raw):x}\r\n".encode() + raw + b"\r\n")
                self.wfile.flush()

            def _event(self, payload: dict[str, Any] | str) -> None:
                data = payload if isinstance(payload, str) else json.dumps(payload)
                self._write_chunk(f"data: {data}\n\n")

            def _stream(self, request: dict[str, Any], reply: Reply) -> None:
                completion_id = f"chatcmpl-{uuid.uuid4().hex[:12]}"
                created = int(time.time())

                def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
                    return {
                        "id": completion_id,
                        "object": "chat.completion.chunk",
                        "created": created,
                        "model": fake.model,
                        "system_fingerprint": "fp_fake",
                        "choices": [
                            {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
                        ],
                    }

                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream; charset=utf-8")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                if fake.first_token_delay:
                    fake._stopping.wait(fake.first_token_delay)
                self._event(chunk({"role": "assistant", "content": "", "refusal": None}))
                if isinstance(reply, Say | CallTools):
                    text = reply.text
                elif isinstance(reply, StreamError | Drop | Garbage | Raw):
                    text = reply.text_before
                else:
                    text = ""
                tokens = 0
                pieces = list(_tokens(text))
                if isinstance(reply, Say) and reply.resume is not None:
                    pieces = [reply.pause_after, *_tokens(text[len(reply.pause_after) :])]
                for index, piece in enumerate(pieces):
                    if fake.token_interval and tokens:
                        fake._stopping.wait(fake.token_interval)
                    self._event(chunk({"content": piece}))
                    with fake._lock:
                        if fake.record:
                            fake.pieces.append((time.time(), piece, request.get("user")))
                    tokens += 1
                    if index == 0 and isinstance(reply, Say) and reply.resume is not None:
                        if not self._pause(request, reply.resume):
                            self.close_connection = True
                            return
                if isinstance(reply, StreamError):
                    self._event({"error": {"message": reply.message, "type": "api_error"}})
                    self._event("[DONE]")
                    self._write_chunk("")
                    return
                if isinstance(reply, Drop):
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                if isinstance(reply, Raw):
                    for part in reply.parts:
                        self._write_chunk(part)
                    self._write_chunk("")
                    return
                if isinstance(reply, Garbage):
                    self._write_chunk("data: {this is not json\n\n")
                    self._write_chunk("0\r\n\r\n")
                    return
                finish = "stop"
                if isinstance(reply, CallTools):
                    finish = "tool_calls"
                    for index, (name, arguments) in enumerate(reply.calls):
                        raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
                        head = {
                            "index": index,
                            "id": f"call_{uuid.uuid4().hex[:20]}",
                            "type": "function",
                            "function": {"name": name, "arguments": ""},
                        }
                        self._event(chunk({"tool_calls": [head]}))
                        for piece in _tokens(raw, reply.piece_chars):
                            delta = {"index": index, "function": {"arguments": piece}}
                            self._event(chunk({"tool_calls": [delta]}))
                            tokens += 1
                self._event(chunk({}, finish))
                if (request.get("stream_options") or {}).get("include_usage"):
                    usage = {
                        "prompt_tokens": 100,
                        "completion_tokens": tokens,
                        "total_tokens": 100 + tokens,
                    }
                    self._event({**chunk({}), "choices": [], "usage": usage})
                self._event("[DONE]")
                self._write_chunk("")

            def _whole(self, reply: Reply) -> None:
                message: dict[str, Any] = {
                    "role": "assistant",
                    "content": getattr(reply, "text", ""),
                }
                finish = "stop"
                if isinstance(reply, CallTools):
                    finish = "tool_calls"
                    message["tool_calls"] = [
                        {
                            "id": f"call_{uuid.uuid4().hex[:20]}",
                            "type": "function",
                            "function": {
                                "name": name,
                                "arguments": args if isinstance(args, str) else json.dumps(args),
                            },
                        }
                        for name, args in reply.calls
                    ]
                payload = json.dumps(
                    {
                        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": fake.model,
                        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                        "usage": {
                            "prompt_tokens": 100,
                            "completion_tokens": 10,
                            "total_tokens": 110,
                        },
                    }
                )
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload.encode())

        return Handler


def last_message(request: dict[str, Any]) -> dict[str, Any]:
    return request["messages"][-1]


def tool_result_then_say(request: dict[str, Any]) -> Reply:
    """A fallback that reads the last tool result back to the user, else says ok."""
    message = last_message(request)
    if message["role"] == "tool":
        return Say(f"Done: {message['content']}")
    return Say("ok.")


def calculator_model(request: dict[str, Any]) -> Reply:
    """A tiny rule-based model: "what's A times B" → calculator tool → "A times B is C." """
    message = last_message(request)
    if message["role"] == "tool":
        expression, _, value = message["content"].partition(" = ")
        return Say(f"{expression.replace('*', ' times ')} is {value}.")
    words = message["content"].replace("what's", "").replace("?", "").strip()
    if " times " in words:
        left, right = words.split(" times ", 1)
        return CallTools([("calculator", {"expression": f"{left.strip()}*{right.strip()}"})])
    return Say("I can only multiply in this test.")


class FakeOpenClaw(FakeOpenAI):
    """The OpenClaw gateway's `/v1/chat/completions`: same SSE, agent names as models."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("model", "openclaw/default")
        super().__init__(*args, **kwargs)

    @property
    def url(self) -> str:
        """What OPENCLAW_API_URL is set to (the gateway root, without `/v1`)."""
        return self.base_url.removesuffix("/v1")


def echo_model(request: dict[str, Any]) -> Say:
    """Answers every turn with "You said: <what the user said>"."""
    return Say(f"You said: {request['messages'][-1]['content']}")


def delegating_model(request: dict[str, Any]) -> Reply:
    """A fast model for whole-stack tests: "research …" is delegated to OpenClaw (then "I'm on
    it."); anything else is echoed as "You said …"."""
    last = request["messages"][-1]
    if last["role"] == "tool":
        return Say("I'm on it.")
    if last["content"].startswith("research"):
        delegate = {"task": last["content"], "label": last["content"]}
        return CallTools([("bot_openclaw_task", delegate)])
    return Say(f"You said {last['content']}.")
