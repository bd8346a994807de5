"""Giving the memory of ended sessions back to the system.

Measured with an in-process census of Python objects over 16 WebRTC sessions, 4 at a time
(connect, one turn, hang up; `bench/voice_memory_probe.py`): no Python object of an ended
session is left once the cyclic garbage collector has run, yet RSS grew 285 → 381 MB (the VAD
already shared). The native memory those sessions freed (aiortc's codecs and buffers) stays in
glibc's heaps, too fragmented to shrink on its own; a collection and `malloc_trim(0)` after the
sessions kept the same run at 195 → 198 MB. With the service in its own process
(bench/soak.py) 200 sessions left 8.6 MB.

A collection stalls the event loop (35-90 ms measured, with the start-up objects frozen out of
it less), so it runs at most once every `PERIOD_SECONDS`, after a session ended, never per
session. Elsewhere than glibc (musl, macOS) only the collection runs.
"""

import asyncio
import ctypes
import ctypes.util
import gc
import logging
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

PERIOD_SECONDS = 10.0
"""Least time between two collections."""


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        trim: Callable[[int], int] = ctypes.CDLL(ctypes.util.find_library("c")).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None
    return trim


class MemoryReturner:
    """Collects cyclic garbage and trims the heap after sessions end, at most once a period."""

    def __init__(self, period: float = PERIOD_SECONDS) -> None:
        self.period = period
        self.trim = _malloc_trim()
        self._last = float("-inf")
        self._scheduled: asyncio.Task[None] | None = None

    def freeze_start_up(self) -> None:
        """Move every object alive now (modules, the app) out of the collector's reach, so a
        collection walks only what sessions made since."""
        gc.collect()
        gc.freeze()

    def session_ended(self) -> None:
        """Schedule a collection and trim, unless one is scheduled already."""
        if self._scheduled is None or self._scheduled.done():
            self._scheduled = asyncio.create_task(self._collect_and_trim())

    async def _collect_and_trim(self) -> None:
        wait = self._last + self.period - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        started = time.monotonic()
        collected = gc.collect()
        collected_at = time.monotonic()
        if self.trim is not None:
            await asyncio.to_thread(self.trim, 0)
        self._last = time.monotonic()
        log.info(
            "memory returned: %d objects collected in %.0f ms (the loop's pause), heap trimmed "
            "in %.0f ms",
            collected,
            (collected_at - started) * 1000,
            (self._last - collected_at) * 1000,
        )
