"""Environment configuration for every service, and the run mode it implies.

Each variable of the deployment is spelled once, here. The mode (hybrid, direct or openclaw) is
derived from the variables, resolved once at start-up and logged by `log_startup`.
"""

import functools
import logging
import re
from enum import StrEnum
from typing import Literal
from urllib.parse import quote, unquote, unquote_plus, urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.messages import MAX_TURN_CHARS


class Mode(StrEnum):
    """Which brain answers a turn."""

    HYBRID = "hybrid"
    """Fast primary model with inline tools; heavy work delegated to OpenClaw."""
    DIRECT = "direct"
    """Fast primary model with inline tools only (no OpenClaw configured)."""
    OPENCLAW = "openclaw"
    """Every turn through OpenClaw's own model: the original, slow behaviour (revert path)."""


DEFAULT_TURN_DEADLINE = 20.0
"""Seconds a turn may take when BOT_TURN_DEADLINE is unset (outside openclaw mode)."""
YOUTUBE_API_URL = "https://www.googleapis.com/youtube/v3"

NO_MODEL_HINT = (
    "Set OPENAI_API_KEY for OpenAI, or point OPENAI_BASE_URL at a local OpenAI-compatible server "
    "(llama.cpp: http://127.0.0.1:8080/v1, vLLM: http://127.0.0.1:8000/v1, "
    "Ollama: http://127.0.0.1:11434/v1)."
)


OPENAI_MODEL_PREFIXES = ("gpt-", "o1", "o3", "o4", "chatgpt-")
"""OpenAI's own models, which route well in one request wherever they are served."""


def route_first_for(choice: str, base_url: str | None, model: str) -> bool:
    """BOT_ROUTE_FIRST for `model` at `base_url`: `auto` is on for a model on a server of your
    own (OPENAI_BASE_URL set, not OpenAI's) that is not one of OpenAI's models."""
    if choice != "auto":
        return choice == "on"
    own_server = base_url is not None and "api.openai.com" not in base_url
    return own_server and not model.casefold().startswith(OPENAI_MODEL_PREFIXES)


class Settings(BaseSettings):
    """All environment variables read by hybridbot services (a `.env` file is read too)."""

    model_config = SettingsConfigDict(
        env_file=".env",
        extra="ignore",
        frozen=True,
        alias_generator=str.upper,
        populate_by_name=True,
        use_attribute_docstrings=True,
    )
    """Each field is read from the variable of its name in capitals (errors name it so too);
    its docstring is its description (docs/configuration.md is generated from them)."""

    bot_hybrid_llm: bool | None = None
    """Hybrid mode on/off; unset means on exactly when OPENCLAW_API_URL is set."""
    bot_hybrid_primary_model: str = "gpt-4o-mini"
    """The fast primary model's name; swapping models is this one variable."""
    openclaw_api_url: str | None = None
    """OpenClaw gateway base URL; enables the bridge tool."""
    openai_api_key: SecretStr | None = None
    """Key for the primary model's endpoint (any value for local servers)."""
    openai_base_url: str | None = None
    """Any OpenAI-compatible server; unset means OpenAI."""
    bot_route_first: Literal["auto", "on", "off"] = "auto"
    """A routing step before a turn's first model call (a small constrained request that picks
    a tool family, delegation or an answer; then only that family's tools are offered): what
    makes a small local model delegate. `auto`: on for a model on a server of your own
    (OPENAI_BASE_URL set, not OpenAI's) unless it is one of OpenAI's (`gpt-…`, `o3…`)."""
    openclaw_api_token: SecretStr | None = None
    """Gateway token, sent as `Authorization: Bearer`; unset sends no header."""
    openclaw_agent_id: str = "default"
    """The OpenClaw agent that runs delegated tasks (model `openclaw/<id>`)."""
    openclaw_task_timeout: float = 600.0
    """Overall deadline of one delegated task, in seconds; RQ's job timeout is set above it."""
    openclaw_connect_timeout: float = 5.0
    """Seconds to connect to the gateway; reads are open-ended (it can be silent for minutes)."""
    openclaw_progress_after: float = 15.0
    """Seconds of silence from the gateway before a "still working on it" progress event."""
    openclaw_max_attempts: int = 3
    """Tries of a task that failed before any byte arrived (refused, 429/502/503/504)."""
    bot_task_lease_seconds: float = 15.0
    """A running task's worker renews its lease this often (a third of it); a lease that ends
    unrenewed means the worker died, and the task is run again or reported failed."""
    bot_task_max_attempts: int = 2
    """Runs of a task whose worker died before it is reported failed (1: never run again)."""
    bot_max_open_tasks: int = 3
    """Delegated tasks one session may have queued or running; more are refused, spoken."""
    bot_tasks_per_hour: int = 30
    """Delegated tasks one session may start in an hour; more are refused, spoken."""
    redis_url: str = "redis://127.0.0.1:6379/0"
    """The Redis that carries turns, events, history and jobs."""

    bot_history_ttl: int = 24 * 3600
    """A session's history expires after this much idle time."""
    bot_history_max_messages: int = 40
    """Messages kept per session; older ones are trimmed to bound prompt size and latency."""
    bot_history_max_bytes: int = 32_000
    """History sent to the model is at most this many bytes (the newest messages that fit);
    one stored message is at most a quarter of it."""
    bot_tier0: bool = True
    """Act on the commonest unambiguous commands locally, with no model call (tier 0)."""
    bot_max_tool_rounds: int = 4
    """Model → tools → model round trips allowed in one turn."""
    bot_max_tool_calls_per_step: int = 8
    """Tool calls run from one model reply; past it the model is told the rest did not run."""
    bot_max_turn_chars: int = MAX_TURN_CHARS
    """Longer turns are refused with a spoken reply, and not kept in history; voice services
    refuse them before they reach the stream."""
    bot_turn_deadline: float | None = None
    """A whole turn (every model call and tool of it) ends by then with a spoken apology;
    unset, see `turn_deadline`."""
    bot_max_tokens: int = 400
    """`max_tokens` of every model request: a spoken reply is a few sentences."""
    bot_turns_per_minute: int = 30
    """Turns one session may send per minute; more are answered "slow down" and not kept."""
    bot_model_timeout: float = 30.0
    """Per-request timeout for the primary model."""
    bot_model_max_retries: int = 2
    """Retries (with backoff) on 429, 5xx, timeouts and refused connections."""
    bot_turn_reclaim_idle_ms: int = 30_000
    """A turn pending this long without a heartbeat is taken over by another router."""
    bot_router_concurrency: int = 32
    """Turns one router process answers at the same time."""
    youtube_api_key: SecretStr | None = None
    """YouTube Data API key; set, "play X" is resolved to a video id, unset the client searches."""
    youtube_api_url: str = YOUTUBE_API_URL
    """YouTube Data API base URL (overridable for tests and proxies)."""
    bot_default_timezone: str = "UTC"
    """Time zone for "what time is it" when the client does not send one."""
    voice_stt: Literal["openai", "whisper", "none"] | None = None
    """Speech to text; unset: `whisper` when VOICE_WHISPER_MODEL is set, else `openai` when
    OPENAI_API_KEY is set, else `none` (typed text only)."""
    voice_whisper_model: str | None = None
    """Local Whisper: a faster-whisper model directory (offline), or a model name downloaded on
    first use; unset with VOICE_STT=whisper: `base.en`."""
    voice_whisper_device: str = "cpu"
    """Where local Whisper runs: `cpu`, `cuda` or `auto`."""
    voice_whisper_compute_type: str = "int8"
    """Local Whisper's arithmetic: `int8` on a CPU; `float16` on a GPU."""
    voice_whisper_window_seconds: int = Field(default=10, ge=2, le=30)
    """Local Whisper's shortest encoder window: Whisper's own is 30 s of audio, most of it
    padding for a spoken command; 10 s is ~3x faster on a CPU (measured in
    bench/spoken_commands.py). Longer speech gets a window that fits it (30 s at most)."""
    voice_whisper_min_confidence: float = -0.4
    """A transcript whose least sure segment averages a lower log-probability per token is
    marked unsure: tier 0 does not act on it (measured in bench/spoken_commands.py)."""
    voice_smart_turn: bool = False
    """Smart Turn v3 judges whether the user finished speaking (`voice/turn_taking.py`); off
    (measured better on the speech we can test with: bench/turn_taking.py), a turn ends after
    VOICE_TURN_SILENCE_SECS of silence."""
    voice_turn_silence_secs: float = Field(default=0.6, ge=0.2, le=10.0)
    """Silence after the last word that ends a turn: always without Smart Turn; with it, when
    Smart Turn judged the speech unfinished."""
    voice_tts: Literal["openai", "piper", "kokoro", "espeak", "none"] | None = None
    """Text to speech; unset: `openai` when OPENAI_API_KEY is set, else `espeak` when the
    espeak-ng program is installed, else `none` (replies shown as text only)."""
    voice_access_token: SecretStr | None = None
    """Credentials for the voice service's HTTP and WebRTC signalling routes, comma-separated
    (one per person or device); required when it listens beyond loopback."""
    voice_allow_anonymous: bool = False
    """Serve a non-loopback address with no access token (loudly logged): only behind a proxy
    that authenticates."""
    voice_allowed_origins: str = ""
    """Other origins whose pages may call the voice service, comma-separated (default: only
    its own origin)."""
    voice_allowed_hosts: str = ""
    """Host names the voice service answers to beyond the loopback names, comma-separated;
    required for names it serves beyond loopback to be checked (unset there: any host)."""
    voice_session_secret: SecretStr | None = None
    """Key that signs session tokens; unset, one is generated once and kept in Redis."""
    voice_max_sessions: int = 50
    """Voice sessions (answered offers, connected or not) the service holds at once; past it
    an offer is answered 503."""
    voice_max_sessions_per_client: int = 4
    """Voice sessions one client address holds at once; past it an offer is answered 429."""
    voice_signalling_per_minute: int = 30
    """Session, `/start` and offer calls one client address may make a minute; past it 429."""
    voice_connect_timeout: float = 15.0
    """Seconds an answered offer may take to connect before it is closed."""
    voice_port: int = 7860
    """Port of the voice service's web server, for `make run` and its health check."""
    voice: Literal["text", "webrtc", ""] = ""
    """What `make run` starts: the console only (`text`), the browser service only (`webrtc`),
    or both (unset)."""
    log_level: str = "INFO"
    """Log level of every service."""

    @field_validator(
        "bot_hybrid_llm",
        "openclaw_api_url",
        "openclaw_api_token",
        "openai_base_url",
        "openai_api_key",
        "youtube_api_key",
        "voice_stt",
        "voice_whisper_model",
        "voice_tts",
        "voice_access_token",
        "voice_session_secret",
        "bot_turn_deadline",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """`VAR=` in a .env file or compose means unset, not an empty URL (also a blank value,
        or one passed in code, which pydantic-settings' `env_ignore_empty` would let through)."""
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def hybrid_llm(self) -> bool:
        """BOT_HYBRID_LLM as the seed defines it: true by default only when OpenClaw is set."""
        if self.bot_hybrid_llm is None:
            return self.openclaw_api_url is not None
        return self.bot_hybrid_llm

    @property
    def mode(self) -> Mode:
        """The run mode; openclaw mode needs an OpenClaw URL, so without one it is direct."""
        if self.openclaw_api_url is None:
            return Mode.DIRECT
        return Mode.HYBRID if self.hybrid_llm else Mode.OPENCLAW

    @property
    def turn_deadline(self) -> float:
        """BOT_TURN_DEADLINE; unset, 20 s, or in openclaw mode OPENCLAW_TASK_TIMEOUT: every
        turn there is two of OpenClaw's 10-30 s inference cycles, which a 20 s deadline would
        cut off (the revert path would apologise instead of answering)."""
        if self.bot_turn_deadline is not None:
            return self.bot_turn_deadline
        return self.openclaw_task_timeout if self.mode is Mode.OPENCLAW else DEFAULT_TURN_DEADLINE

    @property
    def openclaw_headers(self) -> dict[str, str]:
        """Headers for every gateway request (the bearer token when one is set)."""
        if self.openclaw_api_token is None:
            return {}
        return {"Authorization": f"Bearer {self.openclaw_api_token.get_secret_value()}"}

    @property
    def access_tokens(self) -> list[str]:
        """The voice service's access credentials (VOICE_ACCESS_TOKEN, comma-separated)."""
        if self.voice_access_token is None:
            return []
        return [t.strip() for t in self.voice_access_token.get_secret_value().split(",") if t]

    @property
    def allowed_hosts(self) -> list[str]:
        return [h.strip().lower() for h in self.voice_allowed_hosts.split(",") if h.strip()]

    @property
    def allowed_origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.voice_allowed_origins.split(",") if o.strip()]

    @property
    def secrets(self) -> list[str]:
        """Every secret value in the configuration (keys, tokens, URL passwords and secret query
        values), so the logs can be scrubbed of them whatever form they are printed in."""
        values = [
            secret.get_secret_value()
            for secret in (
                self.openai_api_key,
                self.openclaw_api_token,
                self.youtube_api_key,
                self.voice_session_secret,
            )
            if secret is not None
        ]
        values += self.access_tokens
        for url in (self.redis_url, self.openclaw_api_url, self.openai_base_url):
            values += url_secrets(url) if url else []
        return [v for v in values if len(v) >= MIN_SECRET_CHARS]

    @property
    def route_first(self) -> bool:
        """Whether the router takes a routing step before a turn's first model call."""
        return route_first_for(
            self.bot_route_first, self.openai_base_url, self.bot_hybrid_primary_model
        )

    @property
    def primary_model_configured(self) -> bool:
        """True when there is an endpoint the primary model can be reached at."""
        return self.openai_api_key is not None or self.openai_base_url is not None


SECRET_QUERY_WORDS = ("password", "token", "key", "secret")
"""A URL query parameter whose name contains one of these is redacted too."""


SESSION_TOKEN_PREFIX = "hbs1"
"""Session tokens start with this (voice/sessions.py), so logs can be scrubbed of any of them."""
SECRET_PATTERNS = re.compile(rf"{SESSION_TOKEN_PREFIX}~[^\s\"',}}]+")
"""Secrets that are not configuration values: session tokens."""
MIN_SECRET_CHARS = 4
"""Shorter 'secrets' (a test password of "x") are not scrubbed from logs: it would mangle them."""


@functools.cache
def process_settings() -> Settings:
    """This process's settings, read from the environment (and `.env`) once: every part of a
    service sees the same values, and a browser session or a task does not re-read them."""
    return Settings()


def url_secrets(url: str) -> list[str]:
    """The password and the secret-looking query values of a URL, as written and decoded."""
    parts = urlsplit(url)
    found = [parts.password] if parts.password else []
    for pair in parts.query.split("&"):
        name, _, value = pair.partition("=")
        if value and any(word in name.lower() for word in SECRET_QUERY_WORDS):
            found += [value, unquote_plus(value)]
    return found


class RedactSecrets(logging.Filter):
    """Replaces every secret of the configuration in a log record with `***`, in the forms a
    URL or a repr can print it (as is, percent-encoded, percent-decoded)."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        forms = {form for s in secrets for form in (s, quote(s, safe=""), unquote(s)) if form}
        self.forms = sorted((f for f in forms if len(f) >= MIN_SECRET_CHARS), key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for form in self.forms:
            text = text.replace(form, "***")
        return SECRET_PATTERNS.sub(f"{SESSION_TOKEN_PREFIX}~***", text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.scrub(record.getMessage())
        record.args = None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = self.scrub(logging.Formatter().formatException(record.exc_info))
        return True


def redact_url(url: str) -> str:
    """A URL safe to log: any password, and query values that look like secrets, are `***`."""
    parts = urlsplit(url)
    query = "&".join(
        f"{name}=***" if any(word in name.lower() for word in SECRET_QUERY_WORDS) else pair
        for pair in parts.query.split("&")
        if pair
        for name in [pair.partition("=")[0]]
    )
    parts = parts._replace(query=query)
    if parts.password is not None:
        host = parts.hostname or ""
        if parts.port:
            host = f"{host}:{parts.port}"
        parts = parts._replace(netloc=f"{parts.username or ''}:***@{host}")
    return urlunsplit(parts)


def configure_logging(settings: Settings) -> None:
    """One log format for all services: time, level, logger, then key=value fields; every
    secret of the configuration is scrubbed from every record, whoever logs it."""
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    scrubber = RedactSecrets(settings.secrets)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactSecrets) for f in handler.filters):
            handler.addFilter(scrubber)
    for noisy in ("httpx", "httpx2", "httpcore", "openai"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def log_startup(service: str, settings: Settings, uses_primary_model: bool = True) -> None:
    """Log the resolved mode and endpoints once, never a secret."""
    log = logging.getLogger(service)
    model_url = settings.openai_base_url or "https://api.openai.com/v1"
    log.info(
        "starting mode=%s primary_model=%s route_first=%s model_url=%s model_key=%s "
        "openclaw=%s redis=%s",
        settings.mode,
        settings.bot_hybrid_primary_model,
        settings.route_first,
        redact_url(model_url),
        "set" if settings.openai_api_key else "unset",
        redact_url(settings.openclaw_api_url) if settings.openclaw_api_url else "unset",
        redact_url(settings.redis_url),
    )
    if settings.bot_hybrid_llm is False and settings.openclaw_api_url is None:
        log.warning("BOT_HYBRID_LLM=false needs OPENCLAW_API_URL; running in direct mode")
    if (
        uses_primary_model
        and not settings.primary_model_configured
        and settings.mode is not Mode.OPENCLAW
    ):
        log.warning("no primary model configured: %s", NO_MODEL_HINT)
