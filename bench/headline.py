"""1. The seed's headline: "open my notes" from turn published to first speech chunk published,
hybrid mode versus openclaw mode, with fakes whose delays follow the seed's description.

Fast model: 350 ms to first token, then 80 tokens/s (gpt-4o-mini-like). OpenClaw: 10 s to first
byte per inference cycle; a tool call takes two cycles (decide, then speak the result).
Hybrid is measured with tier 0 off (the model path) and on.
"""

import asyncio
import time
from typing import Any

from bench.common import fresh_redis, router_in_process, session, summary
from tests.fakes.openai_server import CallTools, FakeOpenAI, FakeOpenClaw, Say

FAST_FIRST_TOKEN_S = 0.35
FAST_TOKEN_INTERVAL_S = 1 / 80
OPENCLAW_FIRST_BYTE_S = 10.0
RUNS = 5


def open_notes(request: dict) -> CallTools | Say:
    if request["messages"][-1]["role"] == "tool":
        return Say("You have no notes yet. Want me to create one?")
    return CallTools([("list_notes", {})])


async def first_chunk_times(env: dict[str, str], concurrent: bool) -> list[float]:
    client = await fresh_redis()
    async with router_in_process(client, env):

        async def one(index: int) -> float:
            async with session(client, f"headline-{index}") as s:
                timing = await s.turn("open my notes")
                return (timing["first_chunk"] - timing["sent"]) * 1000

        if concurrent:  # the fakes only sleep, so overlapping runs do not slow each other
            samples = list(await asyncio.gather(*(one(i) for i in range(RUNS))))
        else:
            samples = [await one(i) for i in range(RUNS)]
    await client.aclose()
    return samples


async def run() -> dict:
    fast = FakeOpenAI(
        fallback=open_notes,
        first_token_delay=FAST_FIRST_TOKEN_S,
        token_interval=FAST_TOKEN_INTERVAL_S,
    )
    claw = FakeOpenClaw(
        fallback=open_notes,
        first_token_delay=OPENCLAW_FIRST_BYTE_S,
        token_interval=FAST_TOKEN_INTERVAL_S,
    )
    with fast, claw:
        model = {"OPENAI_BASE_URL": fast.base_url, "OPENAI_API_KEY": "k"}
        started = time.monotonic()
        hybrid = await first_chunk_times({**model, "BOT_TIER0": "false"}, concurrent=False)
        tier0 = await first_chunk_times({**model, "BOT_TIER0": "true"}, concurrent=False)
        openclaw = await first_chunk_times(
            {"OPENCLAW_API_URL": claw.url, "BOT_HYBRID_LLM": "false"}, concurrent=True
        )
    results: dict[str, Any] = {
        "hybrid_ms": summary(hybrid),
        "hybrid_tier0_ms": summary(tier0),
        "openclaw_ms": summary(openclaw),
        "wall_s": time.monotonic() - started,
    }
    results["ratio_p50"] = results["openclaw_ms"]["p50"] / results["hybrid_ms"]["p50"]
    results["ratio_tier0_p50"] = results["openclaw_ms"]["p50"] / results["hybrid_tier0_ms"]["p50"]
    return results


if __name__ == "__main__":
    print(asyncio.run(run()))
