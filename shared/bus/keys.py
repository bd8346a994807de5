"""Every Redis key, stream, group and channel name used by hybridbot, defined once.

The bus needs one Redis primary, not a Redis Cluster: publishing a turn writes the global turn
stream and its session's open turns in one script, and finishing one acks the stream entry and
writes the session's keys in another. Each is one round trip on the hot path; across Cluster
slots each would become two, with a window between them that the recovery code would then have
to cover. Per-session keys still share a hash tag (`bot:{<session>}:...`).
"""

TURNS_STREAM = "bot:turns"
"""User turns from voice services, consumed by routers through a consumer group."""
TURNS_STREAM_MAXLEN = 100_000
"""Approximate cap on the turns stream; acked entries beyond it are trimmed."""
TURNS_MAX_AGE_SECONDS = 24 * 3600
"""Entries of the turns stream older than this are trimmed by the routers' heartbeat (a turn
that waited a day is not answered: its user has long gone)."""
ROUTER_GROUP = "router"
"""The consumer group every router replica joins."""
INTERRUPTS_CHANNEL = "bot:interrupts"
"""Pub/sub channel of barge-ins, heard by every router replica."""
DEAD_TURNS_STREAM = "bot:turns:dead"
"""Stream entries that could not be parsed, with the reason, for a human to inspect."""
DEAD_TURNS_MAXLEN = 10_000
"""Approximate cap on the dead-letter stream."""


def session_events(session_id: str) -> str:
    """Pub/sub channel of everything the voice side of one session must hear or show."""
    return f"bot:{{{session_id}}}:events"


def session_history(session_id: str) -> str:
    """List of the session's chat messages (JSON), shared by the fast and slow paths."""
    return f"bot:{{{session_id}}}:history"


def profile_notes(profile: str) -> str:
    """Hash of a user profile's notes, note id → JSON; notes outlive sessions."""
    return f"bot:profile:{{{profile}}}:notes"


def profile_note_counter(profile: str) -> str:
    """Counter numbering a profile's notes as they are created: the order "note 2" counts in,
    whatever order Redis returns the notes hash in."""
    return f"bot:profile:{{{profile}}}:notes:created"


def session_nonce(session_id: str) -> str:
    """The nonce of the session's current session token: only that token resumes the session."""
    return f"bot:{{{session_id}}}:session:nonce"


VOICE_SESSION_SECRET = "bot:voice:session-secret"
"""The key signing session tokens when VOICE_SESSION_SECRET is not set (generated once)."""
VOICE_ACCESS_TOKEN = "bot:voice:access-token"
"""The access token of a voice service beyond loopback when VOICE_ACCESS_TOKEN is not set
(generated once, shared by every replica)."""


def session_turn_rate(session_id: str, minute: int) -> str:
    """Count of the turns the session sent in one minute (a rate limit), kept two minutes."""
    return f"bot:{{{session_id}}}:rate:{minute}"


TURN_RATE_TTL_SECONDS = 120
"""A minute's count outlives its minute, so the turns at its end are still counted."""


def session_ui(session_id: str) -> str:
    """JSON of what the session's screen shows (windows, player, view, ...), for "close that"."""
    return f"bot:{{{session_id}}}:ui"


def session_confirmation(session_id: str) -> str:
    """JSON of the calls waiting for the user's yes (`confirmations.py`), for two minutes."""
    return f"bot:{{{session_id}}}:confirmation"


CONFIRMATION_TTL_SECONDS = 120
"""A question the user has not answered in two minutes is forgotten: a later "yes" is not an
answer to it."""

PROFILES = "bot:profiles"
"""Hash of every known user profile, name → JSON description."""
MAX_PROFILES = 50
"""Profiles registered at most; a profile's notes are kept only once it is registered."""

TIMERS_DUE = "bot:timers:due"
"""Sorted set of running timers (member: JSON with session and id), scored by end time."""


def session_inbox(session_id: str) -> str:
    """Capped stream of the events a session must not miss (task results, notices)."""
    return f"bot:{{{session_id}}}:inbox"


def session_inbox_heard(session_id: str) -> str:
    """Set of the inbox entry ids the session's voice side has delivered to the user."""
    return f"bot:{{{session_id}}}:inbox:heard"


def session_recent(session_id: str) -> str:
    """Capped, short-lived stream of the session's live (non-inbox) events, so a voice session link
    that lost its subscription for a moment (a Redis restart) replays what it missed."""
    return f"bot:{{{session_id}}}:recent"


RECENT_MAXLEN = 500
RECENT_TTL_SECONDS = 600

EVENT_FIELD = "event"
"""The field holding a bot event's JSON in an entry of the inbox and recent streams."""
INBOX_MAXLEN = 1000
"""Approximate cap on a session's inbox."""
INBOX_TTL_SECONDS = 7 * 24 * 3600
"""A session's inbox and sequence counters expire a week after their last event."""


def session_response_seq(session_id: str) -> str:
    """Hash of next sequence numbers of the session's durable responses, response id → int."""
    return f"bot:{{{session_id}}}:seq"


def session_tasks(session_id: str) -> str:
    """Hash of the session's delegated tasks, task id → JSON record."""
    return f"bot:{{{session_id}}}:tasks"


def session_task_counter(session_id: str) -> str:
    """Counter numbering the session's tasks as they are created ("the latest task")."""
    return f"bot:{{{session_id}}}:tasks:created"


def task_cancel_requests(session_id: str) -> str:
    """Set of the session's task ids whose cancellation was asked for."""
    return f"bot:{{{session_id}}}:tasks:cancel"


def session_tasks_this_hour(session_id: str, hour: int) -> str:
    """Count of the tasks the session delegated in one hour (a quota), kept two hours."""
    return f"bot:{{{session_id}}}:tasks:hour:{hour}"


TASKS_TTL_SECONDS = 7 * 24 * 3600
"""A session's task records, counter and cancel requests expire a week after the last change."""
MAX_TASK_RECORDS = 100
"""Task records kept per session; the oldest finished ones are dropped past it."""

OPENCLAW_QUEUE = "openclaw"
"""The RQ queue of delegated tasks: a session's task when it has no other open task."""
OPENCLAW_MORE_QUEUE = "openclaw:more"
"""The RQ queue of a session's further tasks while another of its tasks is open. Workers take
from `openclaw` first, so one session's backlog never delays another session's task."""


def router_heartbeat(host: str) -> str:
    """Unix time a router on `host` last went round its consume loop (for health checks)."""
    return f"bot:health:router:{host}"


ROUTER_HEARTBEAT_TTL_SECONDS = 120


def session_open_turns(session_id: str) -> str:
    """Sorted set of the session's turn entry ids not answered yet (score: the id's
    milliseconds), so a router answers a session's turns in order even across replicas."""
    return f"bot:{{{session_id}}}:turns:open"


OPEN_TURNS_TTL_SECONDS = 24 * 3600
"""Refreshed by each turn published; a session silent this long has no turn left to order."""


def turn_journal(session_id: str, turn_id: str) -> str:
    """Hash of what a turn has done so far (model steps, tool results by call id), so the
    replica that takes over a crashed turn continues it instead of running its tools again."""
    return f"bot:{{{session_id}}}:turn:{turn_id}:journal"


def turn_finished(session_id: str, turn_id: str) -> str:
    """Set when a turn is answered, so a second stream entry of it (a client's retried XADD
    whose first reply was lost) is acked without answering it again."""
    return f"bot:{{{session_id}}}:turn:{turn_id}:finished"


FINISHED_TTL_SECONDS = 3600
"""How long an answered turn is remembered, against duplicate stream entries of it."""


TURN_JOURNAL_TTL_SECONDS = 3600
"""A journal outlives any retry of its turn; it is deleted when the turn is answered."""

TASK_LEASES = "bot:tasks:leases"
"""Sorted set of running tasks (member: JSON with session and task id), scored by the time
their worker's lease ends; a lease that ends unrenewed means the worker died."""


def task_recovery_claim(session_id: str, task_id: str, attempt: int) -> str:
    """Set once by whichever process handles a lost attempt of a task, so it is handled once."""
    return f"bot:{{{session_id}}}:task:{task_id}:lost:{attempt}"


UNEXPIRING: dict[str, str] = {
    TURNS_STREAM: f"about {TURNS_STREAM_MAXLEN} entries, none older than a day",
    DEAD_TURNS_STREAM: f"trimmed to about {DEAD_TURNS_MAXLEN} entries",
    PROFILES: f"at most {MAX_PROFILES} profiles",
    "bot:profile:{*}:notes": f"at most 500 notes, for at most {MAX_PROFILES} profiles",
    "bot:profile:{*}:notes:created": f"one counter per profile, at most {MAX_PROFILES}",
    TIMERS_DUE: "at most 10 running timers a session, each removed when it ends (24 h at most)",
    TASK_LEASES: "one member per running task, removed when it ends or is found lost",
    VOICE_SESSION_SECRET: "one key",
    VOICE_ACCESS_TOKEN: "one key",
    "rq:*": "RQ's own bookkeeping: queues and registries emptied by its workers' cleanup",
}
"""Key families (glob patterns) that have no TTL, each with what bounds it; every other key
expires. Held by tests/test_key_census.py and listed in docs/reliability.md."""
