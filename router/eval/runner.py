"""Asking a model for its first decision on each case, through the router's own prompt, tool
schemas and stream parsing; bounded concurrency, and a cache that makes runs resumable."""

import asyncio
import hashlib
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from openai import AsyncOpenAI

from router.conversation import system_prompt
from router.eval.scoring import NO_TOOL, Case, Decision
from router.llm import LOCAL_SERVER_KEY, ModelError, PrimaryModel
from router.routing import RouteFirst
from router.tools import fast_tools

MAX_RETRIES = 4
"""Retries of one case on 429 and 5xx, with the client's backoff."""
TIMEOUT_SECONDS = 120.0


def router_prompt_and_tools() -> tuple[str, list[dict[str, Any]]]:
    """What the router sends in hybrid mode: the full catalog and the bridge tool."""
    return system_prompt(delegation=True), fast_tools(delegation=True).schemas()


def prompt_hash(prompt: str, tools: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps([prompt, tools], sort_keys=True).encode()).hexdigest()[:16]


class DecisionCache:
    """Decisions already paid for, one JSONL file per model and endpoint; a rerun continues."""

    def __init__(self, directory: Path, model: str, base_url: str | None) -> None:
        name = hashlib.sha256(f"{model}@{base_url}".encode()).hexdigest()[:16]
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"{name}.jsonl"
        self.entries: dict[str, Decision] = {}
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                entry = json.loads(line)
                self.entries[entry["key"]] = Decision(**entry["decision"])

    def key(self, case: Case, prompt_digest: str) -> str:
        return hashlib.sha256(f"{case.id}\0{case.text}\0{prompt_digest}".encode()).hexdigest()

    def add(self, key: str, decision: Decision) -> None:
        self.entries[key] = decision
        with self.path.open("a") as out:
            out.write(json.dumps({"key": key, "decision": asdict(decision)}) + "\n")


async def decide(
    model: PrimaryModel,
    case: Case,
    prompt: str,
    tools: list[dict[str, Any]],
    route_first: RouteFirst | None = None,
) -> Decision:
    """The model's first decision: the first tool it calls, or none; with `route_first`, as
    the router takes it (the routing step, then the routed call), both requests timed and
    counted."""
    messages = [{"role": "system", "content": prompt}, {"role": "user", "content": case.text}]

    async def ignore_text(_delta: str) -> None:
        return None

    started = time.monotonic()
    routing_tokens = (0, 0)
    try:
        if route_first is None:
            reply = await model.stream_reply(messages, tools, ignore_text)
        else:
            route, routing = await route_first.choose(model, [], case.text)
            if routing is not None:
                routing_tokens = (routing.prompt_tokens, routing.completion_tokens)
            reply, _tools = await route_first.first_reply(model, messages, route, ignore_text)
    except ModelError as exc:
        return Decision(error=exc.reason, latency_s=time.monotonic() - started)
    decision = Decision(
        latency_s=time.monotonic() - started,
        prompt_tokens=reply.prompt_tokens + routing_tokens[0],
        completion_tokens=reply.completion_tokens + routing_tokens[1],
        call_from_text=reply.calls_from_text > 0,
    )
    if reply.tool_calls:
        call = reply.tool_calls[0]
        decision.tool = call.name
        try:
            arguments = json.loads(call.arguments or "{}")
            decision.arguments = arguments if isinstance(arguments, dict) else {}
        except ValueError:
            decision.arguments = {}
    else:
        decision.tool = NO_TOOL
    return decision


async def run_model(
    name: str,
    base_url: str | None,
    api_key: str | None,
    cases: list[Case],
    cache_dir: Path,
    concurrency: int,
    route_first: bool = False,
) -> dict[str, Decision]:
    """Decisions of one model for every case, from the cache where possible; `route_first`:
    with the router's routing step."""
    client = AsyncOpenAI(
        api_key=api_key or LOCAL_SERVER_KEY,
        base_url=base_url,
        max_retries=MAX_RETRIES,
        timeout=TIMEOUT_SECONDS,
    )
    model = PrimaryModel(client, name)
    prompt, tools = router_prompt_and_tools()
    routing = RouteFirst.over_families(delegation=True) if route_first else None
    digest = prompt_hash(prompt + (routing.prompt if routing else ""), tools)
    cache = DecisionCache(cache_dir, name, base_url)
    slots = asyncio.Semaphore(concurrency)
    decisions: dict[str, Decision] = {}
    done = 0

    async def one(case: Case) -> None:
        nonlocal done
        key = cache.key(case, digest)
        decision = cache.entries.get(key)
        if decision is None:
            async with slots:
                decision = await decide(model, case, prompt, tools, routing)
            if decision.error is None:
                cache.add(key, decision)
        decisions[case.id] = decision
        done += 1
        print(f"\r{name}: {done}/{len(cases)}", end="", file=sys.stderr, flush=True)

    await asyncio.gather(*(one(case) for case in cases))
    print(file=sys.stderr)
    await client.close()
    return decisions
