"""Sessions belong to whoever they were issued to.

The server issues every session id (128 random bits) with a signed session token
(`hbs1~<session>~<profile>~<nonce>~<signature>`, itsdangerous's HMAC-SHA256 signer under a
server secret). A client resumes its session, and hears what it missed, only by presenting
the token it was last given; each resume rotates the nonce, so an older token (a replay) no
longer works. A client that names a session id, forges a token or replays an old one gets a
new session. The profile is fixed when the session is issued.

The secret is VOICE_SESSION_SECRET or, unset, one generated once and kept in Redis (so every
voice replica and every restart share it). The text console is local and trusted: it names its
session directly.
"""

import hashlib
import secrets
from dataclasses import dataclass

import redis.asyncio as aioredis
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from itsdangerous import BadSignature, Signer
from pydantic import BaseModel, Field, ValidationError

from shared.bus.connection import connect_redis
from shared.bus.sessions import nonce_is_current, rotate_nonce, set_nonce, signing_secret
from shared.messages import ProfileName
from shared.settings import SESSION_TOKEN_PREFIX, Settings, process_settings

TOKEN_SEPARATOR = "~"
"""In no session id or profile name, nor in a signature (URL-safe base64)."""
TOKEN_SALT = "hybridbot voice session"


@dataclass(frozen=True)
class SessionGrant:
    """A session as issued: its id, profile and the token that resumes it."""

    session_id: str
    profile: str
    token: str


class SessionRequest(BaseModel):
    """What a client may send to get a session: its last token, and a profile for a new one."""

    token: str | None = Field(default=None, max_length=300)
    profile: ProfileName = "default"


class SessionIssuer:
    """Issues, verifies and rotates session tokens."""

    def __init__(self, redis: aioredis.Redis, secret: bytes, generated: bool = False) -> None:
        self.redis = redis
        self.secret = secret
        self.generated = generated
        """The secret is the one kept in Redis (VOICE_SESSION_SECRET unset): replicas share it
        through Redis and re-read it when a token does not verify."""

    @classmethod
    async def from_settings(cls, redis: aioredis.Redis, settings: Settings) -> "SessionIssuer":
        if settings.voice_session_secret is not None:
            return cls(redis, settings.voice_session_secret.get_secret_value().encode())
        return cls(redis, await signing_secret(redis), generated=True)

    async def _share_secret(self) -> bool:
        """Put this replica's secret back in Redis if Redis lost it, else take the one there
        (another replica's, written after the loss): every replica converges on one. Whether
        the secret changed."""
        if not self.generated:
            return False
        stored = await signing_secret(self.redis, keep=self.secret)
        changed, self.secret = stored != self.secret, stored
        return changed

    async def _verified_shared(self, token: str | None) -> tuple[str, str, str] | None:
        """`_verified`, re-reading the shared secret once when a token of ours fails it."""
        verified = self._verified(token)
        if verified is None and (token or "").startswith(SESSION_TOKEN_PREFIX):
            if await self._share_secret():
                verified = self._verified(token)
        return verified

    def _signer(self) -> Signer:
        """Signs under the current secret (a replica may adopt the shared one at any time)."""
        return Signer(
            self.secret, salt=TOKEN_SALT, sep=TOKEN_SEPARATOR, digest_method=hashlib.sha256
        )

    def _token(self, session_id: str, profile: str, nonce: str) -> str:
        payload = TOKEN_SEPARATOR.join((SESSION_TOKEN_PREFIX, session_id, profile, nonce))
        return self._signer().sign(payload).decode()

    def _verified(self, token: str | None) -> tuple[str, str, str] | None:
        """(session id, profile, nonce) of a token with a valid signature, else None."""
        try:
            payload = self._signer().unsign(token or "").decode()
        except BadSignature:
            return None
        parts = payload.split(TOKEN_SEPARATOR)
        if len(parts) != 4 or parts[0] != SESSION_TOKEN_PREFIX:
            return None
        _, session_id, profile, nonce = parts
        return session_id, profile, nonce

    async def issue(self, profile: str) -> SessionGrant:
        """A new session, with a fresh id, for `profile`, signed with the shared secret."""
        await self._share_secret()
        session_id = f"voice-{secrets.token_hex(16)}"
        nonce = secrets.token_hex(8)
        await set_nonce(self.redis, session_id, nonce)
        return SessionGrant(session_id, profile, self._token(session_id, profile, nonce))

    async def current(self, token: str | None) -> SessionGrant | None:
        """The session a token resumes if it is the session's current token (no rotation)."""
        verified = await self._verified_shared(token)
        if verified is None:
            return None
        session_id, profile, nonce = verified
        if not await nonce_is_current(self.redis, session_id, nonce):
            return None
        return SessionGrant(session_id, profile, token or "")

    async def for_connection(self, body: object) -> SessionGrant:
        """The session a new connection joins: the one its `session_token` (from the runner's
        request body) currently resumes, else a new one. A session id in the body means
        nothing: the client does not choose its session."""
        token = body.get("session_token") if isinstance(body, dict) else None
        grant = await self.current(token if isinstance(token, str) else None)
        return grant or await self.issue("default")

    async def resume_or_issue(self, token: str | None, profile: str) -> SessionGrant:
        """The token's session with a new token when the token is current; a new session for
        `profile` otherwise (no token, a forged one, or one replaced since)."""
        verified = await self._verified_shared(token)
        if verified is not None:
            session_id, session_profile, nonce = verified
            fresh = secrets.token_hex(8)
            if await rotate_nonce(self.redis, session_id, nonce, fresh):
                token = self._token(session_id, session_profile, fresh)
                return SessionGrant(session_id, session_profile, token)
        return await self.issue(profile)


def add_session_route(app: FastAPI, issuer: "IssuerSource") -> None:
    """`POST /session` (behind the access guard): `{token?, profile?}` → `{session_id, profile,
    token}`, the session to connect with; the page keeps the token for next time."""

    @app.post("/session")
    async def session(request: Request) -> JSONResponse:
        try:
            asked = SessionRequest.model_validate(await request.json())
        except (ValidationError, ValueError):
            return JSONResponse({"detail": "expected {token?, profile?}"}, status_code=422)
        grant = await (await issuer()).resume_or_issue(asked.token, asked.profile)
        return JSONResponse(
            {"session_id": grant.session_id, "profile": grant.profile, "token": grant.token},
            headers={"Cache-Control": "no-store"},
        )


class IssuerSource:
    """The voice service's one SessionIssuer, made on first use (it needs Redis and the
    settings, read then)."""

    def __init__(self) -> None:
        self._issuer: SessionIssuer | None = None

    async def __call__(self) -> SessionIssuer:
        if self._issuer is None:
            settings = process_settings()
            # Session calls are short: a few connections serve them, and bound what a burst of
            # them leaves open in the pool.
            redis = connect_redis(settings.redis_url, max_connections=4)
            self._issuer = await SessionIssuer.from_settings(redis, settings)
        return self._issuer
