"""Notes tools, per profile, on both Redis flavours."""

import pytest
import redis.asyncio as aioredis

from router.tools import fast_tools
from router.tools.registry import ToolContext

TOOLS = fast_tools()


async def call(ctx: ToolContext, name: str, **arguments: object) -> str:
    import json

    return await TOOLS.call(name, json.dumps(arguments), ctx)


@pytest.fixture
def ctx(redis_client: aioredis.Redis) -> ToolContext:
    return ToolContext(redis_client, session_id="s1", profile="alice")


async def test_create_list_read_delete(ctx: ToolContext) -> None:
    assert await call(ctx, "list_notes") == "There are no notes."
    assert (
        await call(ctx, "create_note", title="Groceries", text="milk, eggs")
        == "Created note 'Groceries'."
    )
    assert await call(ctx, "create_note", title="Ideas") == "Created note 'Ideas'."
    assert await call(ctx, "list_notes") == "Notes: 1. Groceries; 2. Ideas"
    assert await call(ctx, "read_note", title="groceries") == "Note 'Groceries': milk, eggs"
    assert await call(ctx, "read_note", title="grocery") == "Note 'Groceries': milk, eggs"
    assert await call(ctx, "delete_note", title="ideas") == "Deleted note 'Ideas'."
    assert await call(ctx, "list_notes") == "Notes: 1. Groceries"


async def test_notes_belong_to_a_profile(ctx: ToolContext, redis_client: aioredis.Redis) -> None:
    await call(ctx, "create_note", title="Alice's plan")
    bob = ToolContext(redis_client, session_id="s2", profile="bob")
    assert await call(bob, "list_notes") == "There are no notes."
    same_profile_other_session = ToolContext(redis_client, session_id="s9", profile="alice")
    assert await call(same_profile_other_session, "list_notes") == "Notes: 1. Alice's plan"


async def test_mistakes_are_explained(ctx: ToolContext) -> None:
    assert await call(ctx, "read_note", title="x") == "Error: there are no notes yet"
    await call(ctx, "create_note", title="Work todo")
    await call(ctx, "create_note", title="Home todo")
    assert (
        await call(ctx, "create_note", title="work TODO")
        == "Error: a note called 'work TODO' already exists"
    )
    assert (
        await call(ctx, "read_note", title="todo")
        == "Error: 'todo' matches several notes: Work todo, Home todo; ask which one"
    )
    assert (
        await call(ctx, "delete_note", title="garden")
        == "Error: there is no note called 'garden'; notes: Work todo, Home todo"
    )
    assert (await call(ctx, "create_note", title="")).startswith(
        "Error: invalid arguments for create_note: title:"
    )
