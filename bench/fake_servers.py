"""The fake model and fake OpenClaw gateway in a process of their own, so that what a benchmark
measures of the router is not mixed with the fake servers' CPU (`python -m bench.fake_servers`
prints their URLs as one JSON line, then serves until stdin closes; FAKE_OPENCLAW_DELAY=N makes
the gateway wait N seconds before its first byte)."""

import json
import os
import sys
from typing import Any

from tests.fakes.openai_server import CallTools, FakeOpenAI, FakeOpenClaw, Reply, Say

TOOL_TURN = "bench tool turn"
"""A turn the model answers with one tool call (open the notes window), then a sentence."""
DELEGATED_TURN = "bench research"
"""A turn the model delegates to OpenClaw, then says it is on it."""


def bench_model(request: dict[str, Any]) -> Reply:
    """Two model calls for a tool turn, one for anything else."""
    last = request["messages"][-1]
    if last["role"] == "tool":
        return Say("Done, your notes are open.")
    text = last.get("content") or ""
    if text.startswith(TOOL_TURN):
        return CallTools([("open_window", {"app": "notes"})])
    if text.startswith(DELEGATED_TURN):
        return CallTools([("bot_openclaw_task", {"task": text, "label": "the research"})])
    return Say("Ok, noted. Anything else?")


def main() -> None:
    model = FakeOpenAI(fallback=bench_model, record=False)
    claw = FakeOpenClaw(
        fallback=lambda request: Say("Here is what I found."),
        record=False,
        # A slow gateway (scripts/image_smoke.sh stops a worker while a task runs).
        first_token_delay=float(os.environ.get("FAKE_OPENCLAW_DELAY", "0")),
    )
    with model, claw:
        print(json.dumps({"model": model.base_url, "openclaw": claw.url}), flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
