"""Input dropped at a boundary: logged with its reason and counted, never raised.

Every service reads what others (or anyone with Redis access) wrote; an entry that is not what
it should be is skipped here, in one way: a warning naming the boundary and a short sample, and
a per-boundary count (`dropped_counts()`, and the `dropped=` field of each warning) that shows
a flood of bad input at a glance.
"""

import logging
from collections import Counter

log = logging.getLogger(__name__)

_counts: Counter[str] = Counter()
SAMPLE_CHARS = 200


def drop(boundary: str, sample: str | bytes, reason: str = "") -> None:
    """Record that one bad entry at `boundary` was skipped."""
    _counts[boundary] += 1
    log.warning(
        "dropped malformed %s %r%s dropped=%d",
        boundary,
        sample[:SAMPLE_CHARS],
        f": {reason[:SAMPLE_CHARS]}" if reason else "",
        _counts[boundary],
    )


def dropped_counts() -> dict[str, int]:
    """How many entries were dropped so far in this process, by boundary."""
    return dict(_counts)
