"""Model text becomes speakable sentences as early as each one is complete."""

import pytest

from shared.speech import SentenceSplitter, SpeechFilter, strip_markdown, to_speech


def split(*deltas: str) -> list[list[str]]:
    splitter = SentenceSplitter()
    released = [splitter.feed(delta) for delta in deltas]
    return [*released, [splitter.flush()]]


def test_a_sentence_is_released_on_the_token_that_ends_it() -> None:
    assert split("Hello", " world", ".", " How", " are", " you", "?") == [
        [],
        [],
        ["Hello world."],
        [],
        [],
        [],
        ["How are you?"],
        [""],
    ]


def test_decimals_and_abbreviations_do_not_split() -> None:
    assert split("It is 3", ".", "5 degrees. See Dr", ". Smith", " now.") == [
        [],
        [],
        ["It is 3.5 degrees."],
        [],
        ["See Dr. Smith now."],
        [""],
    ]


def test_a_number_at_the_end_waits_for_the_next_character() -> None:
    assert split("The answer is 391.", " Anything", " else?") == [
        [],
        ["The answer is 391."],
        ["Anything else?"],
        [""],
    ]


def test_repeated_marks_and_closing_quotes_stay_with_their_sentence() -> None:
    assert split('He said "wow!!"', " Then", " left") == [
        ['He said "wow!!"'],
        [],
        [],
        ["Then left"],
    ]


def test_newlines_end_sentences() -> None:
    assert split("First line\nSecond line") == [["First line"], ["Second line"]]


@pytest.mark.parametrize(
    ("markdown", "spoken"),
    [
        ("**Bold** and *italic* and `code`", "Bold and italic and code"),
        ("## Heading\n- one\n- two", "Heading\none\ntwo"),
        ("See [the docs](http://example.com).", "See the docs."),
        ("1. first\n2. second", "first\nsecond"),
        ("Before\n```python\nprint(1)\n```\nAfter", "Before\n \nAfter"),
        ("snake_case_name stays", "snake_case_name stays"),
    ],
)
def test_markdown_is_stripped_for_speech(markdown: str, spoken: str) -> None:
    assert strip_markdown(markdown) == spoken


def test_nothing_unspeakable_reaches_speech_whichever_path_writes_it() -> None:
    """The fast path's replies and OpenClaw's answers go through the same filter."""
    written = (
        "Here is the code:\n```python\nprint('hi')\nx = {\"a\": 1}\n```\n"
        "See https://www.example.com/docs?x=1 for more. The <b>best</b> card is the **4090**. "
        '{"name": "list_notes", "arguments": {}}\n<tool_call>\nVersion 3.5 is out.'
    )
    splitter, speech = SentenceSplitter(), SpeechFilter()
    sentences = [*splitter.feed(written), splitter.flush()]
    spoken = [s for s in map(speech.speakable, sentences) if s]
    assert spoken == [
        "Here is the code:",
        "See example.com for more.",
        "The best card is the 4090.",
        "Version 3.5 is out.",
    ]


@pytest.mark.parametrize(
    ("written", "spoken"),
    [
        ("17*23 = 391", "17 times 23 equals 391"),
        ("12 × 7 = 84.", "12 times 7 equals 84."),
        ("It is **bold** and *soft*.", "It is bold and soft."),
        ("x = 5 and a*b", "x = 5 and a*b"),
    ],
)
def test_arithmetic_is_said_in_words(written: str, spoken: str) -> None:
    assert to_speech(written) == spoken
