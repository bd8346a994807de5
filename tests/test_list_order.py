"""Lists the user counts in ("note 2", "the latest task") have one order, whatever order Redis
returns a hash in: on a real server that order is set by a hash seed each `redis-server` draws at
start, so a sort that leaves ties to it passes or fails for the life of the server.

Every test here stores items with the same timestamp on purpose, in hashes large enough to be
hash tables (values over 64 bytes), and on the real server a dozen tied items would come back in
their stored order about once in 479 million runs if the tie-breaker were missing.
"""

import json
import types

import pytest
import redis.asyncio as aioredis

from router.tools import notes
from shared.bus import keys
from shared.bus.tasks import TaskRecord, create_task_record, load_session_tasks
from tests.conftest import ToolHarness

COUNT = 12
PADDING = "x" * 80
"""Makes each hash value longer than 64 bytes, so Redis stores the hash as a hash table."""


async def test_notes_created_in_the_same_instant_list_in_creation_order(
    tools: ToolHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notes, "time", types.SimpleNamespace(time=lambda: 1.0))
    titles = [f"note {chr(ord('a') + i)}" for i in range(COUNT)]
    for title in titles:
        await tools("create_note", title=title, text=PADDING)
    expected = "Notes: " + "; ".join(f"{i}. {t}" for i, t in enumerate(titles, start=1))
    assert await tools("list_notes") == expected
    assert (await tools("open_note", number=2)).startswith("Note 2 of 12, 'note b'")


@pytest.mark.parametrize("stored", ["forwards", "backwards"])
async def test_notes_stored_with_equal_times_list_in_one_order_however_stored(
    tools: ToolHarness, redis_client: aioredis.Redis, stored: str
) -> None:
    """Notes stored before notes were numbered (or seeded by hand) fall back on their id."""
    ids = [f"n{i:02d}" for i in range(COUNT)]
    for note_id in ids if stored == "forwards" else reversed(ids):
        note = {"id": note_id, "title": f"title {note_id}", "text": PADDING, "created_at": 1}
        note["updated_at"] = 1
        await redis_client.hset(keys.profile_notes("alice"), note_id, json.dumps(note))
    listed = await tools("list_notes")
    assert listed == "Notes: " + "; ".join(f"{i}. title {n}" for i, n in enumerate(ids, start=1))


async def test_tasks_created_in_the_same_instant_keep_their_creation_order(
    redis_client: aioredis.Redis,
) -> None:
    labels = [f"topic {i} {PADDING}" for i in range(COUNT)]
    for i, label in enumerate(labels):
        record = TaskRecord(
            task_id=f"t{COUNT - i:02d}", session_id="s1", task=label, label=label, created_at=1
        )
        assert await create_task_record(redis_client, record)
    tasks = await load_session_tasks(redis_client, "s1")
    assert [t.label for t in tasks] == labels
    assert [t.number for t in tasks] == list(range(1, COUNT + 1))
