"""The reproduction behind voice/vad.py and voice/memory.py: where an ended session's memory
stays when nothing of it is left in Python.

One process serves the voice service (its own `main`, real WebRTC) in the main thread while a
thread runs sessions against it (connect, one typed turn, hang up; `PARALLEL` at a time). It
prints RSS and open files after a warm-up and after `SESSIONS` more sessions, each taken after a
full collection, and the kinds of Python objects that grew by at least one per session.

    python -m bench.voice_memory_probe                       # as the service runs now
    PROBE_VAD=pipecat python -m bench.voice_memory_probe     # Pipecat's VAD: an ONNX session each
    PROBE_RETURN=off python -m bench.voice_memory_probe      # no collection and heap trim

Seen on 2 cores (16 sessions, 4 at a time, no TTS; no kind of Python object grew by more than a
few per session in any of them): Pipecat's VAD and no return 350 → 525 MB; the shared VAD and
no return 285 → 381 MB; as the service runs now 195 → 198 MB.
"""

import asyncio
import collections
import gc
import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import aiohttp

from shared.local_redis import LocalRedis, free_port
from tests.processes import serves_page
from tests.webrtc_client import WebRTCVoiceClient

SESSIONS = int(os.environ.get("PROBE_SESSIONS", "16"))
PARALLEL = 4


def _census() -> collections.Counter[str]:
    gc.collect()
    return collections.Counter(
        f"{getattr(type(o), '__module__', '?')}.{type(o).__qualname__}" for o in gc.get_objects()
    )


def _rss_mb() -> float:
    status = Path("/proc/self/status").read_text().splitlines()
    return int(next(line for line in status if line.startswith("VmRSS")).split()[1]) / 1024


def _snapshot() -> tuple[collections.Counter[str], float, int]:
    """Python objects by kind, RSS and open files, after a full collection and (unless
    PROBE_RETURN=off) the heap trim voice/memory.py does after sessions end."""
    from voice.memory import _malloc_trim

    census = _census()
    trim = _malloc_trim()
    if trim is not None and os.environ.get("PROBE_RETURN") != "off":
        trim(0)
    return census, _rss_mb(), len(os.listdir("/proc/self/fd"))


async def _sessions(base: str, count: int) -> None:
    async def one(http: aiohttp.ClientSession) -> None:
        client = WebRTCVoiceClient(http, base)
        try:
            await client.offer()
            await client.connect()
            await client.say("hello")
        finally:
            await client.close()

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        for _ in range(count // PARALLEL):
            await asyncio.gather(*(one(http) for _ in range(PARALLEL)))
        await asyncio.sleep(3)  # ok-sleep: let the hang-ups end their sessions


def _measure(base: str, done: threading.Event) -> None:
    async def run() -> None:
        while not await asyncio.to_thread(serves_page, base + "/"):
            await asyncio.sleep(0.2)  # ok-sleep: the service starting
        await _sessions(base, PARALLEL * 2)
        before, rss_before, files_before = _snapshot()
        await _sessions(base, SESSIONS)
        after, rss_after, files_after = _snapshot()
        print(f"RSS {rss_before:.0f} -> {rss_after:.0f} MB; files {files_before} -> {files_after}")
        grew = {kind: after[kind] - before[kind] for kind in after}
        for kind, count in sorted(grew.items(), key=lambda item: -item[1]):
            if count >= SESSIONS:
                print(f"  +{count:6d} {kind}")

    asyncio.run(run())
    done.set()


def main() -> None:
    redis = LocalRedis(Path(tempfile.mkdtemp(prefix="hybridbot-probe-")))
    redis.start()
    fakes = subprocess.Popen(
        [sys.executable, "-m", "bench.fake_servers"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert fakes.stdout is not None
    urls = json.loads(fakes.stdout.readline())
    os.environ.update(
        REDIS_URL=redis.url,
        OPENAI_BASE_URL=urls["model"],
        OPENAI_API_KEY="sk-probe",
        BOT_TIER0="false",
        VOICE_STT="none",
        VOICE_TTS="none",
        VOICE_SIGNALLING_PER_MINUTE="100000",
        VOICE_MAX_SESSIONS_PER_CLIENT="1000",
        LOG_LEVEL="WARNING",
    )
    router = subprocess.Popen([sys.executable, "-m", "router"], stderr=subprocess.DEVNULL)
    import voice.__main__ as service
    import voice.vad

    if os.environ.get("PROBE_VAD") == "pipecat":
        from pipecat.audio.vad.silero import SileroVADAnalyzer

        setattr(voice.vad, "SharedSileroVAD", SileroVADAnalyzer)  # noqa: B010 (the probe's switch)
    if os.environ.get("PROBE_RETURN") == "off":
        setattr(service.MEMORY, "session_ended", lambda: None)  # noqa: B010
    port = free_port()
    done = threading.Event()

    def finish() -> None:
        done.wait()
        router.terminate()
        fakes.communicate(b"")
        redis.stop()
        os._exit(0)  # the voice service's server runs in this process's main thread

    threading.Thread(target=_measure, args=(f"http://127.0.0.1:{port}", done), daemon=True).start()
    threading.Thread(target=finish, daemon=True).start()
    service.main(["-t", "webrtc", "--host", "127.0.0.1", "--port", str(port)])


if __name__ == "__main__":
    main()
