"""JSON written by someone else (a turn entry, a model's tool arguments, a stored message),
parsed with a bound on its size and its nesting.

The standard library's `json.loads` recurses once per bracket: 100,000 nested brackets raise
`RecursionError`, which no `except ValueError` catches, and a handler that dies there never
acks or answers. pydantic-core's parser stops at a fixed depth (about 200) with a `ValueError`.
"""

from typing import Any

import pydantic_core

MAX_JSON_CHARS = 1_000_000
"""The default size bound: no message on the bus is near it."""
MAX_ARGUMENT_CHARS = 16_000
"""Tool arguments longer than this are refused whole (the longest a tool takes is a note's
text, 10,000 characters); they never reach history, the next model call or a question kept
for the user's yes."""


def parse_json(raw: str | bytes, max_chars: int = MAX_JSON_CHARS) -> Any:
    """The value `raw` holds; ValueError (with the reason) when it is not JSON, longer than
    `max_chars`, nested deeper than the parser's limit, or holds NaN or infinity."""
    if len(raw) > max_chars:
        raise ValueError(f"{len(raw)} characters, over the limit of {max_chars}")
    return pydantic_core.from_json(raw, allow_inf_nan=False)
