"""Notes: create, list, read and delete a user profile's notes, kept in Redis across restarts."""

import difflib
import time

from pydantic import BaseModel, Field

from router.tools.registry import ToolContext, ToolError, tool
from shared import keys
from shared.messages import new_id

MAX_NOTE_CHARS = 20_000
MAX_TITLE_CHARS = 120


class Note(BaseModel):
    """One stored note."""

    id: str
    title: str
    text: str = ""
    created_at: float
    updated_at: float


async def load_notes(ctx: ToolContext) -> list[Note]:
    """The profile's notes, oldest first (the order "note 3" counts in)."""
    raw = await ctx.redis.hvals(keys.profile_notes(ctx.profile))
    return sorted((Note.model_validate_json(item) for item in raw), key=lambda n: n.created_at)


async def save_note(ctx: ToolContext, note: Note) -> None:
    await ctx.redis.hset(keys.profile_notes(ctx.profile), note.id, note.model_dump_json())


def find_note(notes: list[Note], title: str) -> Note:
    """The note a spoken title means: exact, then unique partial, then unique close match."""
    wanted = title.casefold().strip()
    if not notes:
        raise ToolError("there are no notes yet")
    exact = [n for n in notes if n.title.casefold() == wanted]
    partial = [n for n in notes if wanted and wanted in n.title.casefold()]
    titles = {n.title.casefold(): n for n in notes}
    close = [titles[t] for t in difflib.get_close_matches(wanted, list(titles), n=2, cutoff=0.75)]
    for candidates in (exact, partial, close):
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            names = ", ".join(n.title for n in candidates)
            raise ToolError(f"{title!r} matches several notes: {names}; ask which one")
    raise ToolError(
        f"there is no note called {title!r}; notes: {', '.join(n.title for n in notes)}"
    )


class CreateNoteArgs(BaseModel):
    title: str = Field(min_length=1, max_length=MAX_TITLE_CHARS)
    text: str = Field(default="", max_length=MAX_NOTE_CHARS)


class ListNotesArgs(BaseModel):
    pass


class NoteTitleArgs(BaseModel):
    title: str = Field(min_length=1, max_length=MAX_TITLE_CHARS, description="Title as spoken.")


@tool("Create a new note with a title and optional text.")
async def create_note(args: CreateNoteArgs, ctx: ToolContext) -> str:
    title = args.title.strip()
    if any(n.title.casefold() == title.casefold() for n in await load_notes(ctx)):
        raise ToolError(f"a note called {title!r} already exists")
    now = time.time()
    await save_note(
        ctx, Note(id=new_id(), title=title, text=args.text, created_at=now, updated_at=now)
    )
    return f"Created note {title!r}."


@tool("List the titles of the user's notes.")
async def list_notes(args: ListNotesArgs, ctx: ToolContext) -> str:
    notes = await load_notes(ctx)
    if not notes:
        return "There are no notes."
    return "Notes: " + "; ".join(f"{i}. {n.title}" for i, n in enumerate(notes, start=1))


@tool("Open and read a note by title; also answers questions about a note's content.")
async def read_note(args: NoteTitleArgs, ctx: ToolContext) -> str:
    note = find_note(await load_notes(ctx), args.title)
    return f"Note {note.title!r}: {note.text or '(empty)'}"


@tool("Delete a note by title.")
async def delete_note(args: NoteTitleArgs, ctx: ToolContext) -> str:
    note = find_note(await load_notes(ctx), args.title)
    await ctx.redis.hdel(keys.profile_notes(ctx.profile), note.id)
    return f"Deleted note {note.title!r}."


TOOLS = [create_note, list_notes, read_note, delete_note]
