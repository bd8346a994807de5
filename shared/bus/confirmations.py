"""Calls waiting for the user's yes: what the router asked "Do you want me to …?" about.

A call the user's own words did not ask for (the rule in docs/security.md) is not run but kept
here with the question, for the session's next turn: "yes" runs exactly these calls, anything
else forgets them. One per session, replaced by each new question, gone after
CONFIRMATION_TTL_SECONDS; what is read back is validated like any other Redis entry.
"""

from pydantic import BaseModel, Field, ValidationError
from redis.asyncio.client import Pipeline

from shared.bus import keys
from shared.dropped import drop
from shared.untrusted import MAX_ARGUMENT_CHARS

MAX_WAITING_CALLS = 3
"""Calls one question may cover; more in one step are not run and not asked about."""


class WaitingCall(BaseModel):
    """A tool call as the model made it."""

    name: str = Field(max_length=64)
    arguments: str = Field(max_length=MAX_ARGUMENT_CHARS)


class PendingConfirmation(BaseModel):
    """The question the user heard and the calls a yes runs."""

    question: str = Field(max_length=2000)
    calls: list[WaitingCall] = Field(min_length=1, max_length=MAX_WAITING_CALLS)


def read_in(batch: Pipeline, session_id: str) -> None:
    """Queue reading the session's waiting calls (its reply goes to `pending_from`)."""
    batch.get(keys.session_confirmation(session_id))


def pending_from(raw: str | bytes | None) -> PendingConfirmation | None:
    """The waiting calls stored, or None (a bad entry is dropped with a log line)."""
    if not raw:
        return None
    try:
        return PendingConfirmation.model_validate_json(raw)
    except ValidationError as exc:
        drop("confirmation", raw, str(exc.errors()[0]["msg"]))
        return None


def ask_in(batch: Pipeline, session_id: str, pending: PendingConfirmation) -> None:
    """Queue keeping `pending` as the session's question (replacing any earlier one)."""
    batch.set(
        keys.session_confirmation(session_id),
        pending.model_dump_json(),
        ex=keys.CONFIRMATION_TTL_SECONDS,
    )


def forget_in(batch: Pipeline, session_id: str) -> None:
    """Queue forgetting the session's question (answered, or the user moved on)."""
    batch.delete(keys.session_confirmation(session_id))
