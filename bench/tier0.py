"""Tier 0 measured: its decision time, and a whole turn through it versus the model path.

    python bench/tier0.py

Decision time: every utterance of the eval dataset, decided repeatedly (target p99 <= 2 ms).
Turn time: "volume 30" from the turn published to the done event received, through a real
router on the benchmarks' own real Redis, tier 0 on versus off, with a fake model at
gpt-4o-mini-like latency (first token after 350 ms, then about 80 tokens per second). Both
sides run in this same process, one after the other.
"""

import asyncio
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import fresh_redis  # noqa: E402
from router import build  # noqa: E402
from router.consumer import TurnConsumer  # noqa: E402
from router.eval.scoring import load_cases  # noqa: E402
from router.tier0 import Tier0  # noqa: E402
from router.tools import fast_tools  # noqa: E402
from shared.bus.screen import UiState  # noqa: E402
from shared.bus.session_link import SessionLink  # noqa: E402
from shared.messages import ResponseDone  # noqa: E402
from shared.settings import Settings  # noqa: E402
from tests.fakes.openai_server import CallTools, FakeOpenAI, Say  # noqa: E402

TURNS = 20


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(share * 100) - 1]


def decision_times() -> list[float]:
    tier0 = Tier0(fast_tools(delegation=True))
    texts = [case.text for case in load_cases(ROOT / "router/eval/dataset.jsonl")]
    idle = UiState()
    samples = []
    for _ in range(20):
        for text in texts:
            started = time.perf_counter()
            tier0.decide(text, idle)
            samples.append((time.perf_counter() - started) * 1000)
    return samples


def volume_model(request: dict) -> CallTools | Say:
    if request["messages"][-1]["role"] == "tool":
        return Say("Volume set to 30.")
    return CallTools([("soundtrack_volume", {"volume": 30})])


async def turn_times(client: aioredis.Redis, model: FakeOpenAI, tier0: bool) -> list[float]:
    settings = Settings(
        _env_file=None, OPENAI_BASE_URL=model.base_url, OPENAI_API_KEY="k", BOT_TIER0=str(tier0)
    )
    consumer = TurnConsumer(client, build.answerer(client, settings), "bench", 8, 30_000)
    stop = asyncio.Event()
    running = asyncio.create_task(consumer.run(stop, grace_seconds=5))
    samples = []
    async with SessionLink(client, f"bench-{tier0}") as link:
        events = link.events()
        for _ in range(TURNS):
            started = time.perf_counter()
            turn = await link.send_turn("volume 30")
            async for event in events:
                if isinstance(event, ResponseDone) and event.response_id == turn.turn_id:
                    break
            samples.append((time.perf_counter() - started) * 1000)
    stop.set()
    await running
    return samples


async def main() -> dict:
    client = await fresh_redis()
    decisions = decision_times()
    with FakeOpenAI(fallback=volume_model, first_token_delay=0.35, token_interval=0.0125) as model:
        local = await turn_times(client, model, tier0=True)
        remote = await turn_times(client, model, tier0=False)
    await client.aclose()
    results: dict[str, Any] = {
        "tier0_decision_ms": {
            "p50": percentile(decisions, 0.5),
            "p99": percentile(decisions, 0.99),
        },
        "turn_tier0_ms": {"p50": statistics.median(local), "p99": percentile(local, 0.99)},
        "turn_model_ms": {"p50": statistics.median(remote), "p99": percentile(remote, 0.99)},
    }
    results["speedup_p50"] = results["turn_model_ms"]["p50"] / results["turn_tier0_ms"]["p50"]
    return results


if __name__ == "__main__":
    measured = asyncio.run(main())
    (ROOT / "bench/results").mkdir(exist_ok=True)
    (ROOT / "bench/results/tier0.json").write_text(json.dumps(measured, indent=2))
    print("| measure | p50 | p99 |")
    print("|---|---|---|")
    for label, key in (
        ("tier-0 decision", "tier0_decision_ms"),
        ("turn via tier 0", "turn_tier0_ms"),
        ("turn via model (fake gpt-4o-mini latency)", "turn_model_ms"),
    ):
        print(f"| {label} | {measured[key]['p50']:.2f} ms | {measured[key]['p99']:.2f} ms |")
    print(f"\nmodel path / tier 0 (p50): {measured['speedup_p50']:.0f}x")
