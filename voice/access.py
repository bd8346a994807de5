"""Who may use the voice service: an access token beyond loopback, and pages of allowed origins.

Every request must name, in its `Host` header, a host the service serves: on loopback the
loopback names (`localhost`, `127.0.0.1`, `[::1]`), beyond it VOICE_ALLOWED_HOSTS when set;
anything else is 403 on every route. Without it, any web page whose host name resolves to
127.0.0.1 (DNS rebinding) could drive a token-less loopback service as if it were its own page.

The page and its assets are public (they hold nothing and must load to ask for the token);
every other HTTP route and every WebSocket (session issue, `/start`, WebRTC offers, the
runner's own routes) needs `Authorization: Bearer <token>` or the page's `hybridbot_access`
cookie whenever access tokens are configured. A request from a page of another origin is
refused whatever its credentials, unless that origin is listed.
"""

import hmac
import ipaddress
import logging
from http.cookies import SimpleCookie
from urllib.parse import unquote

from starlette.types import ASGIApp, Receive, Scope, Send

from shared.settings import Settings

log = logging.getLogger(__name__)

ACCESS_COOKIE = "hybridbot_access"
PUBLIC_PATHS = ("/", "/favicon.ico")
PUBLIC_PREFIXES = ("/assets/",)


class AccessConfigError(RuntimeError):
    """The service would listen beyond loopback with nobody required to authenticate."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(settings: Settings, host: str) -> None:
    """Refuse a non-loopback bind without an access token, unless anonymous access is chosen
    (then say so loudly)."""
    if is_loopback(host) or settings.access_tokens:
        return
    if settings.voice_allow_anonymous:
        log.warning(
            "VOICE_ALLOW_ANONYMOUS=true: anyone who reaches %s can talk to the assistant, read "
            "its notes and run its tools; put an authenticating proxy in front of it",
            host,
        )
        return
    raise AccessConfigError(
        f"the voice service would listen on {host} with no access token: set "
        "VOICE_ACCESS_TOKEN (one or more, comma-separated; e.g. `openssl rand -hex 16`), or "
        "bind 127.0.0.1, or set VOICE_ALLOW_ANONYMOUS=true behind a proxy that authenticates"
    )


LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def allowed_hosts(settings: Settings, bind: str) -> frozenset[str] | None:
    """The host names the service answers to: loopback names and VOICE_ALLOWED_HOSTS when
    bound to loopback; beyond it VOICE_ALLOWED_HOSTS, or None (any host: an access token is
    required there) when unset."""
    listed = frozenset(settings.allowed_hosts)
    if is_loopback(bind):
        return LOOPBACK_HOSTS | listed
    return listed or None


def host_name(host_header: str) -> str:
    """`example.org:7860` → `example.org`; `[::1]:7860` → `::1`; lower case."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


def _own_origin(scope: Scope) -> str:
    scheme = {"ws": "http", "wss": "https"}.get(scope.get("scheme", "http"), scope["scheme"])
    return f"{scheme}://{_header(scope, b'host')}".lower()


class AccessGuard:
    """ASGI middleware enforcing the module's rules on HTTP requests and WebSockets."""

    def __init__(
        self,
        app: ASGIApp,
        tokens: list[str],
        allowed_origins: list[str],
        hosts: frozenset[str] | None = None,
    ) -> None:
        self.app = app
        self.tokens = [t.encode() for t in tokens]
        self.allowed_origins = {o.lower() for o in allowed_origins}
        self.hosts = hosts

    def host_allowed(self, scope: Scope) -> bool:
        return self.hosts is None or host_name(_header(scope, b"host")) in self.hosts

    def origin_allowed(self, scope: Scope) -> bool:
        origin = _header(scope, b"origin").rstrip("/").lower()
        return not origin or origin == _own_origin(scope) or origin in self.allowed_origins

    def credential(self, scope: Scope) -> str:
        authorization = _header(scope, b"authorization")
        if authorization.lower().startswith("bearer "):
            return authorization[7:].strip()
        cookie = SimpleCookie()
        cookie.load(_header(scope, b"cookie"))
        return unquote(cookie[ACCESS_COOKIE].value) if ACCESS_COOKIE in cookie else ""

    def authenticated(self, scope: Scope) -> bool:
        if not self.tokens:
            return True
        given = self.credential(scope).encode()
        return any(hmac.compare_digest(given, token) for token in self.tokens)

    @staticmethod
    def public(scope: Scope) -> bool:
        path = scope.get("path", "")
        return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if not self.host_allowed(scope):
            log.warning("refused %s for host %r", scope.get("path"), _header(scope, b"host"))
            await _refuse(scope, send, 403, "host not allowed")
            return
        if not self.origin_allowed(scope):
            log.warning("refused %s from origin %r", scope.get("path"), _header(scope, b"origin"))
            await _refuse(scope, send, 403, "origin not allowed")
            return
        if not (self.public(scope) or self.authenticated(scope)):
            await _refuse(scope, send, 401, "access token required")
            return
        await self.app(scope, receive, send)


async def _refuse(scope: Scope, send: Send, status: int, reason: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008, "reason": reason})
        return
    body = f'{{"detail": "{reason}"}}'.encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 401:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
