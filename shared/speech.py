"""Turning streamed model text into speakable sentences, as early as each one is complete.

TTS wants whole sentences; the user wants the first one as soon as the model has produced it.
`SentenceSplitter` releases a sentence on the token that ends it, waiting for one more
character only where a full stop is ambiguous (a number, an abbreviation, an initial).

Pipecat's sentence aggregation does the same inside a voice pipeline, but the router and the
OpenClaw worker speak through Redis, not Pipecat, and must not need the voice stack installed;
both paths use this one module, so a reply sounds the same whichever path produced it.
"""

import re
from collections.abc import Awaitable, Callable

TextSink = Callable[[str], Awaitable[None]]
"""Where text goes as it arrives (a model's deltas, a gateway's chunks)."""

_ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st vs etc e.g i.e approx no vol fig inc ltd co jan feb mar apr jun "
    "jul aug sep sept oct nov dec".split()
)
_ENDS_WITHOUT_DOUBT = "!?…。！？"
_CLOSERS = "\"')]}’”»"


def _ends_sentence(text: str, i: int) -> bool | None:
    """Whether the terminator at text[i] ends a sentence; None while it cannot be known yet."""
    char = text[i]
    following = text[i + 1] if i + 1 < len(text) else None
    if following is not None and following not in _CLOSERS and not following.isspace():
        return False  # "3.5", "example.com", or "?!" where the last mark decides
    if char in _ENDS_WITHOUT_DOUBT:
        return True
    word = text[:i].rsplit(maxsplit=1)[-1].lstrip("(\"'").lower() if text[:i].strip() else ""
    if word.isdigit() or len(word) == 1 or word in _ABBREVIATIONS or "." in word:
        # "3." may be "3.5"; "e.g." and "J." are rarely sentence ends: decide on what follows.
        if following is None:
            return None
        after = text[i + 1 :].lstrip()
        return bool(after) and after[0].isupper() and word not in _ABBREVIATIONS
    return True


class SentenceSplitter:
    """Accumulates text deltas and hands back each complete sentence once."""

    def __init__(self) -> None:
        self._buffer = ""

    def feed(self, delta: str) -> list[str]:
        """Add a delta; return the sentences it completed (possibly none)."""
        self._buffer += delta
        sentences: list[str] = []
        start = 0
        i = 0
        while i < len(self._buffer):
            char = self._buffer[i]
            if char == "\n" or char in _ENDS_WITHOUT_DOUBT or char == ".":
                ends = True if char == "\n" else _ends_sentence(self._buffer, i)
                if ends is None:
                    break
                if ends:
                    end = i + 1
                    while end < len(self._buffer) and self._buffer[end] in _CLOSERS:
                        end += 1
                    sentence = self._buffer[start:end].strip()
                    if sentence:
                        sentences.append(sentence)
                    start = end
                    i = end
                    continue
            i += 1
        self._buffer = self._buffer[start:]
        return sentences

    def flush(self) -> str:
        """Return whatever is left (the last sentence without a terminator) and reset."""
        rest, self._buffer = self._buffer.strip(), ""
        return rest


_MARKDOWN_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"```.*?(```|$)", re.S), " "),  # code blocks are not read aloud
    (re.compile(r"!\[([^\]]*)\]\([^)]*\)"), r"\1"),  # images → alt text
    (re.compile(r"\[([^\]]+)\]\([^)]*\)"), r"\1"),  # links → link text
    (re.compile(r"`([^`]*)`"), r"\1"),
    (re.compile(r"^\s{0,3}#{1,6}\s*", re.M), ""),  # headings
    (re.compile(r"^\s*>\s?", re.M), ""),  # quotes
    (re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+", re.M), ""),  # list bullets
    (re.compile(r"(\*\*|__)(.+?)\1"), r"\2"),
    (re.compile(r"(?<![\w*])[*_](?!\s)(.+?)(?<!\s)[*_](?![\w*])"), r"\1"),
    (re.compile(r"~~(.+?)~~"), r"\1"),
    (re.compile(r"^\s*([-*_]\s*){3,}$", re.M), ""),  # rules
    (re.compile(r"\|"), " "),  # table pipes
]


def strip_markdown(text: str) -> str:
    """Plain text for TTS: markdown syntax removed, the words kept."""
    for pattern, replacement in _MARKDOWN_RULES:
        text = pattern.sub(replacement, text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


_TAG = re.compile(r"</?[A-Za-z][\w:=.-]*(?:\s[^<>]{0,200})?/?>")
_URL = re.compile(r"\b(?:https?://|www\.)(?:www\.)?([^/\s:?#]+)[^\s]*", re.I)
_JSON_LIKE = re.compile(r"^\s*[\[{].*\"\s*:", re.S)


_SPOKEN_OPERATORS = (
    (re.compile(r"(?<=\d)\s*[*×]\s*(?=-?\d)"), " times "),
    (re.compile(r"(?<=\d)\s*=\s*(?=-?\d)"), " equals "),
)
"""Arithmetic a model writes ("17*23 = 391"), said as words; `*` would otherwise be read out
or taken for markdown emphasis."""


def to_speech(text: str) -> str:
    """What TTS can say of one sentence: markdown, markup tags and JSON dropped, a URL said as
    its site's name ("https://www.example.com/a?b" → "example.com"), arithmetic in words."""
    for operator, words in _SPOKEN_OPERATORS:
        text = operator.sub(words, text)
    text = _URL.sub(lambda match: match[1], text)
    text = _TAG.sub(" ", strip_markdown(text))
    if _JSON_LIKE.match(text):
        return ""
    return re.sub(r"\s{2,}", " ", text).strip()


class SpeechFilter:
    """Makes one response's sentences speakable, in order: `to_speech` for each, and nothing of
    a code block, which spans sentences (the splitter ends one at every newline)."""

    def __init__(self) -> None:
        self.in_code = False

    def speakable(self, sentence: str) -> str:
        kept = []
        for index, part in enumerate(sentence.split("```")):
            if index:
                self.in_code = not self.in_code
            if not self.in_code:
                kept.append(part)
        return to_speech(" ".join(kept))
