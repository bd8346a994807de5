"""How much of the voice service one client, and all of them, may hold: a clear 429 or 503
instead of a slow death.

- **Signalling rate**: session, `/start` and offer calls per client a minute
  (VOICE_SIGNALLING_PER_MINUTE), past it 429 with `Retry-After`.
- **Sessions**: peer connections open at once, per client (VOICE_MAX_SESSIONS_PER_CLIENT, 429)
  and in all (VOICE_MAX_SESSIONS, 503). A session counts from its answered offer until its
  `bot` returns (`LiveSessions`), so offers that never connect count too.
- **`/start` entries**: Pipecat's runner keeps the body of every `/start` in a dict until that
  session's bot ends, and one that never sends its offer stays there forever (measured: 500
  unused `/start`s kept 5 MB). `StartEntryReaper` drops entries older than
  `START_ENTRY_TTL_SECONDS` that no live session uses, and past MAX_START_ENTRIES `/start` is
  503.

The client is the connection's address (uvicorn puts a trusted local proxy's X-Forwarded-For
there).
"""

import asyncio
import collections
import inspect
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

SIGNALLING_WINDOW_SECONDS = 60.0
START_ENTRY_TTL_SECONDS = 120.0
"""An unused `/start` entry older than this is dropped (a page sends its offer at once)."""
MAX_START_ENTRIES = 1000
"""`/start` entries kept at most; past it `/start` is refused until some are used or dropped."""
REAP_INTERVAL_SECONDS = 30.0


def is_signalling(method: str, path: str) -> bool:
    """A call that creates or connects a session: what the rate limit counts."""
    return method == "POST" and (
        path in ("/session", "/start", "/api/offer")
        or (path.startswith("/sessions/") and path.endswith("/api/offer"))
    )


def is_offer(method: str, path: str) -> bool:
    return method == "POST" and path.endswith("/api/offer")


class LiveSessions:
    """Peer connections from answered offer to the end of their bot, by client."""

    def __init__(self) -> None:
        self._client_of: dict[str, str] = {}
        """pc_id → client address, from the offer's answer."""
        self.runner_sessions: set[str] = set()
        """The runner's session ids (from `/start`) whose bot is running."""

    def answered(self, pc_id: str, client: str) -> None:
        self._client_of[pc_id] = client

    def ended(self, pc_id: str) -> None:
        self._client_of.pop(pc_id, None)

    def count(self, client: str | None = None) -> int:
        if client is None:
            return len(self._client_of)
        return sum(1 for owner in self._client_of.values() if owner == client)


class SignallingLimits:
    """ASGI middleware enforcing the module's limits."""

    def __init__(
        self,
        app: ASGIApp,
        sessions: LiveSessions,
        start_entries: Callable[[], int],
        max_sessions: int,
        max_sessions_per_client: int,
        signalling_per_minute: int,
    ) -> None:
        self.app = app
        self.sessions = sessions
        self.start_entries = start_entries
        self.max_sessions = max_sessions
        self.max_sessions_per_client = max_sessions_per_client
        self.signalling_per_minute = signalling_per_minute
        self._calls: dict[str, collections.deque[float]] = {}

    def _over_rate(self, client: str) -> float | None:
        """Seconds until the client may signal again, or None when it may now (and is counted)."""
        now = time.monotonic()
        calls = self._calls.setdefault(client, collections.deque())
        while calls and calls[0] <= now - SIGNALLING_WINDOW_SECONDS:
            calls.popleft()
        if len(calls) >= self.signalling_per_minute:
            return calls[0] + SIGNALLING_WINDOW_SECONDS - now
        calls.append(now)
        if len(self._calls) > 10_000:  # forget clients that went quiet
            self._calls = {c: q for c, q in self._calls.items() if q and q[-1] > now - 60}
        return None

    def refusal(self, method: str, path: str, client: str) -> tuple[int, str, float] | None:
        """(status, reason, retry after) when the call is over a limit."""
        if not is_signalling(method, path):
            return None
        wait = self._over_rate(client)
        if wait is not None:
            return 429, "too many session requests; try again shortly", wait
        if is_offer(method, path):
            if self.sessions.count() >= self.max_sessions:
                return 503, "the voice service is full; try again shortly", 30.0
            if self.sessions.count(client) >= self.max_sessions_per_client:
                return 429, "too many open sessions from this client", 30.0
        if path == "/start" and self.start_entries() >= MAX_START_ENTRIES:
            return 503, "too many sessions are starting; try again shortly", 30.0
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope.get("method", ""), scope.get("path", "")
        client = (scope.get("client") or ("unknown", 0))[0]
        refused = self.refusal(method, path, client)
        if refused is not None:
            status, reason, retry_after = refused
            log.warning("refused %s %s from %s: %s", method, path, client, reason)
            await _refuse(send, status, reason, retry_after)
            return
        if not is_offer(method, path):
            await self.app(scope, receive, send)
            return
        body = bytearray()

        async def keep_answer(message: Message) -> None:
            if message["type"] == "http.response.body":
                body.extend(message.get("body", b"")[:100_000])
                if not message.get("more_body"):
                    self._note_answer(bytes(body), client)
            await send(message)

        await self.app(scope, receive, keep_answer)

    def _note_answer(self, body: bytes, client: str) -> None:
        try:
            pc_id = json.loads(body).get("pc_id")
        except (ValueError, AttributeError):
            return
        if isinstance(pc_id, str):
            self.sessions.answered(pc_id, client)


async def _refuse(send: Send, status: int, reason: str, retry_after: float) -> None:
    body = json.dumps({"detail": reason}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(max(1, round(retry_after))).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def runner_start_entries(app: Any) -> dict[str, Any] | None:
    """Pipecat's `/start` entries (the runner's `active_sessions` dict, read from its route's
    closure), or None when this Pipecat keeps them elsewhere."""
    for route in getattr(app, "routes", []):
        if getattr(route, "path", None) == "/start":
            entries = inspect.getclosurevars(route.endpoint).nonlocals.get("active_sessions")
            return entries if isinstance(entries, dict) else None
    return None


class StartEntryReaper:
    """Drops `/start` entries no live session uses once they are older than their TTL."""

    def __init__(self, sessions: LiveSessions, ttl: float = START_ENTRY_TTL_SECONDS) -> None:
        self.sessions = sessions
        self.ttl = ttl
        self.entries: dict[str, Any] | None = None
        self._first_seen: dict[str, float] = {}

    def count(self) -> int:
        return len(self.entries) if self.entries is not None else 0

    def reap(self, now: float | None = None) -> int:
        """Drop the stale entries; returns how many."""
        if self.entries is None:
            return 0
        now = time.monotonic() if now is None else now
        for session_id in list(self.entries):
            self._first_seen.setdefault(session_id, now)
        stale = [
            session_id
            for session_id, seen in self._first_seen.items()
            if now - seen > self.ttl and session_id not in self.sessions.runner_sessions
        ]
        for session_id in stale:
            self.entries.pop(session_id, None)
        self._first_seen = {s: t for s, t in self._first_seen.items() if s in self.entries}
        return len(stale)

    async def run(self, app: Any) -> None:
        """Find the runner's entries once its routes exist, then reap them periodically."""
        self.entries = runner_start_entries(app)
        if self.entries is None:
            log.warning("Pipecat's /start entries not found: unused ones are not dropped")
            return
        while True:
            await asyncio.sleep(REAP_INTERVAL_SECONDS)
            dropped = self.reap()
            if dropped:
                log.info("dropped %d unused /start entries", dropped)
