"""Names the user gives things (note titles), as stored, compared and spoken.

A title is kept in Unicode NFKC with zero-width and bidirectional control characters removed
and its spaces collapsed: "ta\u200bxes" is stored, matched and read out as "taxes", never as
an escape sequence. Look-alike letters of other scripts (Cyrillic a, U+0430, for Latin a) stay
what they are: only an exact name acts on a note, so a look-alike title is never taken for
another.
"""

import re
import unicodedata

_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]")
"""Soft hyphen, zero-width characters, direction marks, embeddings, overrides and isolates."""


def plain(name: str) -> str:
    """The name as stored and spoken: NFKC, invisible characters removed, spaces collapsed."""
    return " ".join(_INVISIBLE.sub("", unicodedata.normalize("NFKC", name)).split())


def same_name(a: str, b: str) -> bool:
    """Whether two names are the same once plain and case-folded."""
    return plain(a).casefold() == plain(b).casefold()


def quoted(name: str, limit: int = 0) -> str:
    """A name for a sentence the user hears or the model reads: plain, in single quotes, cut
    to `limit` characters when one is given."""
    name = plain(name)
    if limit and len(name) > limit:
        name = name[: limit - 1].rstrip() + "…"
    return f"'{name}'"


def mentions(words: str, name: str) -> bool:
    """Whether `words` (what the user said) contain `name` as a whole phrase."""
    wanted = re.escape(plain(name).casefold())
    return re.search(rf"(?<!\w){wanted}(?!\w)", plain(words).casefold()) is not None
