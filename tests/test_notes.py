"""Notes tools: CRUD, navigation and content, per profile, with the notes panel kept in step."""

import json
from dataclasses import replace

import pytest
import redis.asyncio as aioredis

from router.tools import notes
from shared.actions import NoteRemoved, NoteShow, NotesList
from shared.bus import keys
from shared.bus.notes import Note
from shared.bus.stores import Stores
from tests.conftest import ToolHarness


async def test_create_list_open_delete(tools: ToolHarness) -> None:
    assert await tools("list_notes") == "There are no notes."
    assert (
        await tools("create_note", title="Groceries", text="milk, eggs")
        == "Created note 'Groceries'."
    )
    assert await tools("create_note", title="Ideas") == "Created note 'Ideas'."
    assert await tools("list_notes") == "Notes: 1. Groceries; 2. Ideas"
    assert await tools("open_note", title="grocery") == "Note 1 of 2, 'Groceries': milk, eggs"
    assert await tools("delete_note", title="ideas") == "Deleted note 'Ideas'."
    assert await tools("list_notes") == "Notes: 1. Groceries"

    actions = await tools.actions()
    assert [a.name for a in actions] == [
        "notes.list",
        "note.show",
        "note.show",
        "notes.list",
        "note.show",
        "note.removed",
        "notes.list",
    ]
    assert actions[0] == NotesList(titles=[])
    groceries = actions[4]
    assert isinstance(groceries, NoteShow)
    assert (groceries.title, groceries.text, groceries.position, groceries.count) == (
        "Groceries",
        "milk, eggs",
        1,
        2,
    )
    assert isinstance(actions[5], NoteRemoved)


async def test_navigation_next_previous_and_by_number(tools: ToolHarness) -> None:
    for title in ("One", "Two", "Three"):
        await tools("create_note", title=title)
    assert (await tools("open_note", number=1)).startswith("Note 1 of 3, 'One'")
    assert (await tools("open_note", which="next")).startswith("Note 2 of 3, 'Two'")
    assert (await tools("open_note", which="next")).startswith("Note 3 of 3, 'Three'")
    assert await tools("open_note", which="next") == "Error: that was the last note"
    assert (await tools("open_note", which="previous")).startswith("Note 2 of 3, 'Two'")
    assert (await tools("open_note", which="first")).startswith("Note 1 of 3")
    assert await tools("open_note", which="previous") == "Error: that was the first note"
    assert await tools("open_note", number=99) == "Error: there is no note 99; there are 3 notes"
    ui = await tools.ui()
    notes_by_title = {a.title: a.note_id for a in await tools.actions() if isinstance(a, NoteShow)}
    assert ui.current_note_id == notes_by_title["One"]


async def test_edit_the_open_note_append_replace_rename(tools: ToolHarness) -> None:
    await tools("create_note", title="Groceries", text="milk")
    assert await tools("append_to_note", text="eggs") == "Added to 'Groceries'."
    assert await tools("open_note") == "Note 1 of 1, 'Groceries': milk\neggs"
    assert await tools("rename_note", new_title="Shopping") == "Renamed 'Groceries' to 'Shopping'."
    assert (
        await tools("replace_note_text", title="shopping", text="bread")
        == "Replaced the text of 'Shopping'."
    )
    assert await tools("open_note", which="current") == "Note 1 of 1, 'Shopping': bread"
    last = (await tools.actions())[-1]
    assert isinstance(last, NoteShow) and (last.title, last.text) == ("Shopping", "bread")


async def test_search_by_words(tools: ToolHarness) -> None:
    await tools("create_note", title="Groceries", text="Milk and eggs")
    await tools("create_note", title="Party", text="buy milk, cake")
    await tools("create_note", title="Work", text="report")
    assert await tools("search_notes", words="milk") == "Matching notes: 1. Groceries; 2. Party"
    assert await tools("search_notes", words="milk cake") == "Matching notes: 2. Party"
    assert await tools("search_notes", words="tax") == "No note mentions 'tax'."


async def test_notes_belong_to_a_profile(tools: ToolHarness, redis_client: aioredis.Redis) -> None:
    await tools("create_note", title="Alice's plan")
    bob = replace(tools.ctx, session_id="s2", profile="bob")
    assert await tools.registry.call("list_notes", "{}", bob) == "There are no notes."
    alice_elsewhere = replace(tools.ctx, session_id="s9")
    assert (
        await tools.registry.call("list_notes", "{}", alice_elsewhere) == "Notes: 1. Alice's plan"
    )


async def test_mistakes_are_explained_and_change_nothing(tools: ToolHarness) -> None:
    assert await tools("open_note", title="x") == "Error: there are no notes yet"
    await tools("create_note", title="Work todo")
    await tools("create_note", title="Home todo")
    assert (
        await tools("create_note", title="work TODO")
        == "Error: a note called 'work TODO' already exists"
    )
    assert await tools("open_note", title="todo") == (
        "Error: 'todo' matches several notes: Work todo, Home todo; ask which one"
    )
    assert await tools("delete_note", title="garden") == (
        "Error: there is no note called 'garden'; notes: Work todo, Home todo"
    )
    assert await tools("rename_note", title="Home todo", new_title="Work todo") == (
        "Error: a note called 'Work todo' already exists"
    )
    # Renaming, like deleting and replacing, acts only on the very title: "home" is a question.
    assert (await tools("rename_note", title="home", new_title="Garden")).startswith(
        "Error: there is no note called exactly 'home'; did you mean 'Home todo'?"
    )
    assert (await tools("create_note", title="")).startswith(
        "Error: invalid arguments for create_note: title:"
    )
    assert (await tools("open_note", number=0)).startswith(
        "Error: invalid arguments for open_note: number:"
    )
    assert await tools("list_notes") == "Notes: 1. Work todo; 2. Home todo"


async def test_notes_are_bounded_in_number_and_listed_a_page_at_a_time(
    tools: ToolHarness, redis_client: aioredis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(notes, "MAX_NOTES", 120)
    for i in range(120):
        note: dict[str, str | int] = {
            "id": f"n{i:03d}",
            "title": f"note {i:03d}",
            "created_at": i,
            "updated_at": i,
        }
        await redis_client.hset(keys.profile_notes("alice"), f"n{i:03d}", json.dumps(note))

    assert await tools("create_note", title="one more") == (
        "Error: there are already 120 notes; delete some first"
    )
    first = await tools("list_notes")
    assert first.startswith("Notes: 1. note 000; ") and first.endswith(
        "50. note 049 (1-50 of 120. Page 2 has more.)"
    )
    assert (await tools("list_notes", page=3)).endswith("120. note 119 (101-120 of 120.)")
    assert (await tools("search_notes", words="note")).endswith("(and 70 more)")


async def test_fuzzy_and_look_alike_titles_are_a_question_and_delete_nothing(
    tools: ToolHarness, redis_client: aioredis.Redis
) -> None:
    await tools("create_note", title="taxes")
    await tools("create_note", title="groceries")
    # A look-alike stored by another client: Cyrillic a and x (U+0430, U+0445).
    look_alike = Note(id="n-cyr", title="t\u0430\u0445es", text="", created_at=1, updated_at=1)
    await Stores.over(redis_client).notes.save("alice", look_alike)

    for said in ("axe", "tax", "taxis", "ocer", "TAXES!"):
        result = await tools("delete_note", title=said)
        assert "did you mean" in result and "nothing was changed" in result, said
    replaced = await tools("replace_note_text", title="tax", text="pwned")
    assert replaced.startswith("Error: there is no note called exactly 'tax'")
    assert (await tools("rename_note", title="grocery", new_title="x")).startswith("Error:")

    assert await tools("delete_note", title="Taxes") == "Deleted note 'taxes'."
    left = sorted(n.title for n in await Stores.over(redis_client).notes.load("alice"))
    assert left == ["groceries", "t\u0430\u0445es"]


async def test_titles_are_stored_and_spoken_plain(tools: ToolHarness) -> None:
    created = await tools("create_note", title="ta\u200bxes\u202e 2024", text="receipts")

    assert created == "Created note 'taxes 2024'."
    assert "\\u" not in await tools("open_note", title="taxes 2024")
    assert await tools("list_notes") == "Notes: 1. taxes 2024"


async def test_consent_to_delete_one_note_is_not_consent_to_delete_another(
    tools: ToolHarness, redis_client: aioredis.Redis
) -> None:
    for title in ("taxes", "groceries", "garden"):
        await tools("create_note", title=title)
    tools.ctx.user_words = "delete the note called groceries"

    injected = await tools("delete_note", title="taxes")
    by_number = await tools("delete_note", number=1)
    asked = await tools("delete_note", title="groceries")

    assert injected.startswith("Error: delete_note was refused: the user did not name 'taxes'")
    assert by_number.startswith("Error: delete_note was refused: the user did not name 1")
    assert asked == "Deleted note 'groceries'."
    tools.ctx.user_words = "delete note two"
    assert await tools("delete_note", number=2) == "Deleted note 'garden'."
    left = [n.title for n in await Stores.over(redis_client).notes.load("alice")]
    assert left == ["taxes"]
