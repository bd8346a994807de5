"""A browser's WebRTC offer, before it is a session: nothing is built for it until it connects.

Pipecat's runner starts the bot the moment an offer is answered, and closes a peer connection
that never completes ICE only after 60 s. Built at once, each such half-open offer held a whole
pipeline, a Redis link and its connections for that minute: measured with 100 offers whose
answer was never applied (bench/soak.py), the voice process went to 1,096 MB RSS, 427 open files
and 209 Redis connections. So a session waits for its peer connection first, and an offer that
has not connected within VOICE_CONNECT_TIMEOUT is closed with nothing else made for it.
"""

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)

_ENDED = frozenset({"closed", "failed"})


async def peer_connected(connection: Any, timeout: float) -> bool:
    """Whether a `SmallWebRTCConnection`'s peer connection reaches "connected" within
    `timeout` seconds (ICE and DTLS on loopback take ~50 ms); one that does not (or fails) is
    closed."""
    pc = connection.pc
    changed = asyncio.Event()

    def on_change() -> None:
        changed.set()

    pc.on("connectionstatechange", on_change)
    try:
        async with asyncio.timeout(timeout):
            while pc.connectionState not in ("connected", *_ENDED):
                changed.clear()
                await changed.wait()
    except TimeoutError:
        pass
    finally:
        pc.remove_listener("connectionstatechange", on_change)
    if pc.connectionState == "connected":
        return True
    log.warning(
        "an offer did not connect within %.0f s (state %s); closing it",
        timeout,
        pc.connectionState,
    )
    await connection.disconnect()
    return False
