"""Names the user gives things (note titles), as stored, compared and spoken, and whether a
tool call's words are the user's own.

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


_GENERIC = frozenset(
    "a an the and or of to in on for with about from by at as is are be it its this that these "
    "what why how who when where which do does can could would please me my i you your we our "
    "research find search look up out check summarize summarise summary explain brief briefly "
    "short concise sentence answer user provide give tell report information detail result "
    "key main web online internet latest current some something music video song".split()
)
"""Words a model adds to what the user said without changing what is asked for."""
GROUNDED_SHARE = 0.5
"""Share of a call's own words that must be the user's for the call to be their request."""


def _content_words(text: str) -> set[str]:
    words = re.findall(r"[a-z0-9]+", plain(text).casefold())
    return {w.removesuffix("s") if len(w) > 3 else w for w in words} - _GENERIC


def in_their_words(text: str, user_words: str) -> bool:
    """Whether a call's free text (a task's instructions, what to play) is the user's request:
    at least half of its words, beside generic ones ("research", "summarize", "music"), are
    words the user said this turn. An instruction found in a note or a result is not."""
    wanted = _content_words(text)
    return not wanted or len(wanted & _content_words(user_words)) >= GROUNDED_SHARE * len(wanted)
