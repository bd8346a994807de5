"""Numbers as people say them ("seventy five", "a hundred and ten"), for tier-0 phrasings."""

import re

_UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
NUMBER = (
    r"(?:\d+(?:\.\d+)?|(?:(?:a|one|two|three|four|five|six|seven|eight|nine) hundred"
    r"(?: and)?\s?)?(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)"
    r"(?:[ -](?:one|two|three|four|five|six|seven|eight|nine))?|zero|one|two|three|four|five|"
    r"six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|"
    r"eighteen|nineteen)?)"
)
"""A number as said: digits, or words up to nine hundred ninety-nine."""


def parse_number(text: str) -> float | None:
    """`"75"`, `"seventy five"`, `"a hundred and ten"` → the number; None if it is not one."""
    text = text.strip().replace("-", " ")
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        pass
    total = 0
    words = [w for w in text.split() if w != "and"]
    if not words:
        return None
    for word in words:
        if word in _UNITS:
            total += _UNITS[word]
        elif word in _TENS:
            total += _TENS[word]
        elif word == "hundred":
            total = (total or 1) * 100
        elif word == "a":
            continue
        else:
            return None
    return float(total)


def whole_number(text: str) -> int | None:
    value = parse_number(text)
    return int(value) if value is not None and value.is_integer() else None


def spoken_numbers_to_digits(text: str) -> str:
    """Every number said in words replaced by digits: "twelve times seven" → "12 times 7"."""

    def digits(match: re.Match[str]) -> str:
        said = match.group(0)
        value = parse_number(said)
        if value is None:
            return said
        # NUMBER may take the space after "a hundred": keep it ("100 divided", not "100divided").
        trailing = said[len(said.rstrip()) :]
        return (str(int(value)) if value.is_integer() else str(value)) + trailing

    return re.sub(rf"\b{NUMBER}\b", lambda m: digits(m) if m.group(0).strip() else m.group(0), text)
