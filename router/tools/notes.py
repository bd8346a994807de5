"""Notes: create, list, open, edit, rename, delete, search and step through a profile's notes.

Notes belong to a user profile and outlive sessions; which note is open belongs to the session's
screen state, so "open the next one" and "add milk to it" work.
"""

import difflib
import re
import time
from typing import Any, Literal

from pydantic import BaseModel, Field

from router.tools.names import plain, quoted, same_name
from router.tools.registry import ToolContext, ToolError, phrase, tool
from router.tools.spoken import NUMBER, whole_number
from shared.actions import AnyAction, NoteRemoved, NoteShow, NotesList
from shared.bus.notes import Note
from shared.bus.profiles import Profile
from shared.bus.screen import UiState, change_ui
from shared.messages import new_id

MAX_NOTE_CHARS = 20_000
MAX_TITLE_CHARS = 120
MAX_NOTES = 500
"""Per profile: every notes call reads them all, so their number is bounded."""
PAGE_SIZE = 50
"""Titles per `list_notes` (and matches per `search_notes`) answer: what the model is handed."""


async def load_notes(ctx: ToolContext) -> list[Note]:
    """The profile's notes, oldest first (the order "note 3" counts in)."""
    return await ctx.stores.notes.load(ctx.profile)


async def save_note(ctx: ToolContext, note: Note) -> None:
    await ctx.stores.notes.save(ctx.profile, note)


def find_by_title(notes: list[Note], title: str, exact: bool = False) -> Note:
    """The note a spoken title means: the same title, else (unless `exact`: what deletes,
    replaces or renames acts only on the very title) a unique partial, then close match.
    With `exact` a near miss is a question back ("did you mean 'taxes'?"), never an act."""
    wanted = plain(title).casefold()
    named = [(plain(n.title).casefold(), n) for n in notes]
    same = [n for name, n in named if name == wanted]
    partial = [n for name, n in named if wanted and wanted in name]
    titles = dict(named)
    close = [titles[t] for t in difflib.get_close_matches(wanted, list(titles), n=2, cutoff=0.75)]
    if len(same) == 1:
        return same[0]
    guesses = [same, partial, close]
    if exact:
        near = next((c for c in guesses if c), [])
        if near:
            names = " or ".join(quoted(n.title) for n in near[:3])
            raise ToolError(
                f"there is no note called exactly {quoted(title)}; did you mean {names}? Ask the "
                "user and wait for their answer: nothing was changed"
            )
        guesses = []
    for candidates in guesses:
        if len(candidates) == 1:
            return candidates[0]
        if len(candidates) > 1:
            names = ", ".join(plain(n.title) for n in candidates)
            raise ToolError(f"{quoted(title)} matches several notes: {names}; ask which one")
    raise ToolError(
        f"there is no note called {quoted(title)}; notes: "
        f"{', '.join(plain(n.title) for n in notes)}"
    )


class NoteRef(BaseModel):
    """Which note: by title, by number, or relative to the open one. None of them: the open one."""

    title: str | None = Field(default=None, max_length=MAX_TITLE_CHARS)
    number: int | None = Field(default=None, ge=1, description="1-based, as listed")
    which: Literal["current", "next", "previous", "first", "last"] | None = None


def resolve(notes: list[Note], ui: UiState, ref: NoteRef, exact: bool = False) -> Note:
    """The note `ref` points at, or a ToolError saying why there is none; `exact`: a title
    must be the note's very title (see `find_by_title`)."""
    if not notes:
        raise ToolError("there are no notes yet")
    if ref.title:
        return find_by_title(notes, ref.title, exact)
    if ref.number is not None:
        if ref.number > len(notes):
            raise ToolError(f"there is no note {ref.number}; there are {len(notes)} notes")
        return notes[ref.number - 1]
    ids = [n.id for n in notes]
    current = ids.index(ui.current_note_id) if ui.current_note_id in ids else None
    match ref.which:
        case "first":
            return notes[0]
        case "last":
            return notes[-1]
        case "next":
            if current is None:
                return notes[0]
            if current + 1 >= len(notes):
                raise ToolError("that was the last note")
            return notes[current + 1]
        case "previous":
            if current is None:
                return notes[-1]
            if current == 0:
                raise ToolError("that was the first note")
            return notes[current - 1]
    if current is None:
        raise ToolError("no note is open; ask which note")
    return notes[current]


def _show(notes: list[Note], note: Note) -> NoteShow:
    position = next(i for i, n in enumerate(notes, start=1) if n.id == note.id)
    return NoteShow(
        note_id=note.id, title=note.title, text=note.text, position=position, count=len(notes)
    )


async def _show_note(ctx: ToolContext, notes: list[Note], note: Note) -> None:
    def open_it(state: UiState) -> list[AnyAction]:
        state.current_note_id = note.id
        return [_show(notes, note)]

    await change_ui(ctx.publisher, open_it)


async def _edit(ctx: ToolContext, notes: list[Note], note: Note, **changes: str) -> None:
    """Save changed fields of a note and show the result in the notes panel."""
    updated = note.model_copy(update={**changes, "updated_at": time.time()})
    await save_note(ctx, updated)
    await _show_note(ctx, [updated if n.id == note.id else n for n in notes], updated)


async def _target(ctx: ToolContext, ref: NoteRef, exact: bool = False) -> tuple[list[Note], Note]:
    notes = await load_notes(ctx)
    return notes, resolve(notes, await ctx.stores.screens.load(ctx.session_id), ref, exact)


ORDINALS = {
    word: number
    for number, word in enumerate(
        ["second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth"],
        start=2,
    )
}
"""Spoken positions ("the second note"); first and last are `which`."""
_RELATIVE = {"next", "previous", "first", "last", "current", "this", "that", "the", "a", "new"}
_POINTERS = {"my", "your", "our", "it", "one", "an", "some", "any", "every", "all", "another"}
"""Words that point at a note without naming it ("delete my note"): never a title."""
_NOT_A_TITLE = _RELATIVE | _POINTERS | set(ORDINALS)


def _numbered(match: re.Match[str], _ui: object) -> dict[str, int] | None:
    number = whole_number(match["number"])
    return {"number": number} if number else None


def _titled(match: re.Match[str], _ui: object) -> dict[str, Any] | None:
    """The note named by `title`: a number is the note's number ("rename note two to ...")."""
    title = match["title"].strip().removeprefix("number ")
    if not title or title.split()[0] in _NOT_A_TITLE:
        return None
    number = whole_number(title)
    return {"number": number} if number else {"title": title}


class CreateNoteArgs(BaseModel):
    title: str = Field(
        min_length=1, max_length=MAX_TITLE_CHARS, description="Its name only, e.g. 'groceries'"
    )
    text: str = Field(
        default="", max_length=MAX_NOTE_CHARS, description="What to write in it, e.g. 'milk'"
    )


class ListNotesArgs(BaseModel):
    page: int = Field(default=1, ge=1, le=MAX_NOTES // PAGE_SIZE + 1, description="1: first 50")


class NoteTextArgs(NoteRef):
    text: str = Field(min_length=1, max_length=MAX_NOTE_CHARS)


class RenameNoteArgs(NoteRef):
    new_title: str = Field(min_length=1, max_length=MAX_TITLE_CHARS)


class SearchNotesArgs(BaseModel):
    words: str = Field(min_length=1, max_length=200)


def which_note(ref: NoteRef) -> str:
    """The note a call names, as a confirmation question says it."""
    if ref.title:
        return f"the note {quoted(ref.title)}"
    if ref.number is not None:
        return f"note {ref.number}"
    return f"the {ref.which} note" if ref.which and ref.which != "current" else "the open note"


DELETE_WORDS = r"\b(delete|remove|erase|trash|discard|get rid of|throw (it |that )?away)\b"
"""The user's own turn must say one of these for a note to be deleted."""


def _with_text(target: dict[str, Any] | None, text: str) -> dict[str, Any] | None:
    return None if target is None else {**target, "text": text.strip()}


def _renamed(match: re.Match[str], ui: object) -> dict[str, Any] | None:
    target = _titled(match, ui)
    return None if target is None else {**target, "new_title": match["new"].strip()}


def _search_words(match: re.Match[str], _ui: object) -> dict[str, str] | None:
    """Words to search for; "notes about it" points at something said before: the model's."""
    words = match["words"].strip()
    pointing = {"it", "this", "that", "them", "these", "those", "one", "something"}
    return None if words in pointing else {"words": words}


def _title_and_text(match: re.Match[str], _ui: object) -> dict[str, str]:
    """ "a note called groceries with milk and eggs" → title "groceries", text "milk and eggs"."""
    arguments = {"title": match["title"].strip()}
    if match["text"]:
        arguments["text"] = match["text"].strip()
    return arguments


@tool(
    "Create a new note and open it. The title is the note's short name; anything the user "
    "says should be in it goes in text: 'a note called groceries with milk and eggs' is "
    "title 'groceries', text 'milk and eggs'.",
    phrasings=(
        phrase(
            r"(?:(?:create|make|start|add|write)(?: me)? (?:a |another )?)?(?:new )?note "
            r"(?:called|titled|named) "
            r"(?P<title>[a-z0-9' ]{2,40}?)"
            r"(?:(?: with| saying| that says|:) (?P<text>[a-z0-9' :]{1,200}))?",
            _title_and_text,
        ),
    ),
    asked=r"\b(create|make|new|start|add|write|jot|take|save|remember)\b|\bnote\b",
    says=lambda a: f"create a note called {quoted(a.title)}",
)
async def create_note(args: CreateNoteArgs, ctx: ToolContext) -> str:
    title = plain(args.title)
    if not title:
        raise ToolError("a note needs a title with letters in it")
    notes = await load_notes(ctx)
    if len(notes) >= MAX_NOTES:
        raise ToolError(f"there are already {MAX_NOTES} notes; delete some first")
    if any(same_name(n.title, title) for n in notes):
        raise ToolError(f"a note called {quoted(title)} already exists")
    if not notes and not await ctx.stores.profiles.add(
        Profile(name=ctx.profile, created_at=time.time())
    ):
        # Notes outlive sessions: they are kept only for a registered profile, so the profiles
        # cap bounds them.
        raise ToolError("there are too many profiles already, so notes can't be kept for this one")
    now = time.time()
    number = await ctx.stores.notes.next_number(ctx.profile)
    note = Note(
        id=new_id(), title=title, text=args.text, created_at=now, updated_at=now, number=number
    )
    await save_note(ctx, note)
    await _show_note(ctx, [*notes, note], note)
    return f"Created note {quoted(title)}."


@tool(
    "List the user's notes (also 'open my notes').",
    phrasings=(
        phrase(r"(?:open|show|list|show me|pull up|bring up|see) (?:all )?(?:of )?my notes"),
        phrase(r"(?:what|which) notes do i have|list (?:the )?notes|show notes"),
        phrase(r"(?:let me see|bring up|pull up) (?:my|the) notes"),
        phrase(
            r"(?:read|read out|read me|list|show me|go to|take me to) (?:all )?(?:of )?my"
            r"(?: list of)? notes|do i have any notes|(?:what|which) notes are there"
        ),
    ),
    reads_only=True,
)
async def list_notes(args: ListNotesArgs, ctx: ToolContext) -> str:
    notes = await load_notes(ctx)
    await change_ui(ctx.publisher, lambda state: [NotesList(titles=[n.title for n in notes])])
    if not notes:
        return "There are no notes."
    first = (args.page - 1) * PAGE_SIZE
    page = list(enumerate(notes, start=1))[first : first + PAGE_SIZE]
    if not page:
        return f"There are only {len(notes)} notes."
    listed = "Notes: " + "; ".join(f"{i}. {n.title}" for i, n in page)
    if len(notes) <= PAGE_SIZE:
        return listed
    more = f" Page {args.page + 1} has more." if first + PAGE_SIZE < len(notes) else ""
    return f"{listed} ({page[0][0]}-{page[-1][0]} of {len(notes)}.{more})"


@tool(
    "Open a note and get its text: by title, number, or next/previous/first/last. "
    "Use it to answer questions about a note's content.",
    phrasings=(
        phrase(
            rf"(?:open|show(?: me)?|read(?: me)?|go to) note (?:number )?(?P<number>{NUMBER})",
            _numbered,
        ),
        phrase(
            r"(?:open |show me |go to |read )?the (?P<which>next|previous|first|last) note",
            lambda m, _ui: {"which": m["which"]},
        ),
        phrase(r"(?P<which>next|previous) note", lambda m, _ui: {"which": m["which"]}),
        phrase(
            rf"(?:open |show me |go to |read )?(?:the|my) (?P<ordinal>{'|'.join(ORDINALS)}) note",
            lambda m, _ui: {"number": ORDINALS[m["ordinal"]]},
        ),
        phrase(
            r"(?:open|read(?: me)?|show me) (?:my |the )?(?P<title>[a-z0-9' ]{2,40}?) note", _titled
        ),
        phrase(
            r"(?:open|read(?: me)?|show me|go to) (?:the |my )?note (?:called|named|titled) "
            r"(?P<title>[a-z0-9' ]{2,40})",
            _titled,
        ),
        phrase(
            r"(?:open |show me |go to |read )?(?:the |my )?(?P<which>first|last) note",
            lambda m, _ui: {"which": m["which"]},
        ),
        phrase(
            r"(?:open |show me |go to |read )?the (?:note|one) (?P<which>after|before) "
            r"(?:this|this one|the current one)",
            lambda m, ui: (
                {"which": "next" if m["which"] == "after" else "previous"}
                if ui.current_note_id
                else None
            ),
        ),
    ),
    reads_only=True,
)
async def open_note(args: NoteRef, ctx: ToolContext) -> str:
    notes, note = await _target(ctx, args)
    await _show_note(ctx, notes, note)
    position = notes.index(note) + 1
    return f"Note {position} of {len(notes)}, {quoted(note.title)}: {note.text or '(empty)'}"


@tool(
    "Add text to the end of a note (default: the open note).",
    phrasings=(
        phrase(
            r"(?:add|append|put|write) (?P<text>[a-z0-9' ]{2,120}?) (?:to|on|in|into) "
            r"(?:the |my )?(?P<title>[a-z0-9' ]{2,40}?) note",
            lambda m, ui: _with_text(_titled(m, ui), m["text"]),
        ),
    ),
    asked=r"\b(add|append|put|write|include|insert|jot|note down)\b",
    says=lambda a: f"add {quoted(a.text, 60)} to {which_note(a)}",
)
async def append_to_note(args: NoteTextArgs, ctx: ToolContext) -> str:
    notes, note = await _target(ctx, args)
    separator = "\n" if note.text else ""
    if len(note.text) + len(args.text) + 1 > MAX_NOTE_CHARS:
        raise ToolError("that note is full")
    await _edit(ctx, notes, note, text=note.text + separator + args.text)
    return f"Added to {quoted(note.title)}."


@tool(
    "Replace the whole text of a note (default: the open note).",
    phrasings=(
        phrase(
            r"(?:replace|change) the text of (?:this|the current|the open) note (?:with|to) "
            r"(?P<text>[a-z0-9' ]{2,200})",
            lambda m, ui: {"text": m["text"]} if ui.current_note_id else None,
        ),
    ),
    asked=r"\b(replace|change|overwrite|rewrite|set|update|edit|make it say)\b",
    says=lambda a: f"replace the text of {which_note(a)} with {quoted(a.text, 60)}",
)
async def replace_note_text(args: NoteTextArgs, ctx: ToolContext) -> str:
    notes, note = await _target(ctx, args, exact=True)
    await _edit(ctx, notes, note, text=args.text)
    return f"Replaced the text of {quoted(note.title)}."


@tool(
    "Rename a note (default: the open note).",
    phrasings=(
        phrase(
            r"rename (?:the |my )?(?P<title>[a-z0-9' ]{2,40}?) note to (?P<new>[a-z0-9' ]{2,40})",
            _renamed,
        ),
        phrase(
            r"rename (?:the )?note (?:called |named |titled )?(?P<title>[a-z0-9' ]{2,40}?) to "
            r"(?P<new>[a-z0-9' ]{2,40})",
            _renamed,
        ),
    ),
    asked=r"\b(rename|retitle|call (it|this|that)|name (it|this|that)|change the (title|name))\b",
    says=lambda a: f"rename {which_note(a)} to {quoted(a.new_title)}",
)
async def rename_note(args: RenameNoteArgs, ctx: ToolContext) -> str:
    notes, note = await _target(ctx, args, exact=True)
    new_title = plain(args.new_title)
    if not new_title:
        raise ToolError("a note needs a title with letters in it")
    if any(same_name(n.title, new_title) and n.id != note.id for n in notes):
        raise ToolError(f"a note called {quoted(new_title)} already exists")
    await _edit(ctx, notes, note, title=new_title)
    return f"Renamed {quoted(note.title)} to {quoted(new_title)}."


@tool(
    "Delete a note (default: the open note).",
    phrasings=(
        phrase(rf"(?:delete|remove|erase) note (?:number )?(?P<number>{NUMBER})", _numbered),
        phrase(
            r"(?:delete|remove|erase) the note (?:called|named|titled) (?P<title>[a-z0-9' ]{2,40})",
            _titled,
        ),
        phrase(r"(?:delete|remove|erase) (?:my |the )?(?P<title>[a-z0-9' ]{2,40}?) note", _titled),
    ),
    consent=DELETE_WORDS,
    target=lambda ref: [ref.title or ref.number] if ref.title or ref.number else [],
    says=lambda a: f"delete {which_note(a)}",
)
async def delete_note(args: NoteRef, ctx: ToolContext) -> str:
    _notes, note = await _target(ctx, args, exact=True)
    await ctx.stores.notes.delete(ctx.profile, note.id)

    def close_it(state: UiState) -> list[AnyAction]:
        if state.current_note_id == note.id:
            state.current_note_id = None
        return [NoteRemoved(note_id=note.id)]

    await change_ui(ctx.publisher, close_it)
    return f"Deleted note {quoted(note.title)}."


@tool(
    "Find notes containing some words.",
    phrasings=(
        phrase(
            r"(?:search|look through|check) (?:my |the )?notes for (?P<words>[a-z0-9' ]{2,60})",
            _search_words,
        ),
        phrase(
            r"(?:find|look for|show me) (?:the |my |any )?notes (?:that )?(?:mention|mentioning|"
            r"about|with|containing|that contain|that talk about) (?P<words>[a-z0-9' ]{2,60})",
            _search_words,
        ),
        phrase(
            r"(?:which|what) notes (?:mention|talk about|are about|contain) "
            r"(?P<words>[a-z0-9' ]{2,60})",
            _search_words,
        ),
    ),
    reads_only=True,
)
async def search_notes(args: SearchNotesArgs, ctx: ToolContext) -> str:
    words = [w for w in args.words.casefold().split() if w]
    notes = await load_notes(ctx)
    hits = [
        (i, n)
        for i, n in enumerate(notes, start=1)
        if all(w in f"{n.title} {n.text}".casefold() for w in words)
    ]
    if not hits:
        return f"No note mentions {quoted(args.words)}."
    found = "Matching notes: " + "; ".join(f"{i}. {n.title}" for i, n in hits[:PAGE_SIZE])
    return found if len(hits) <= PAGE_SIZE else f"{found} (and {len(hits) - PAGE_SIZE} more)"


TOOLS = [
    create_note,
    list_notes,
    open_note,
    append_to_note,
    replace_note_text,
    rename_note,
    delete_note,
    search_notes,
]
