"""3. First sentence latency: a fake model streams a five-sentence reply at a fixed token rate;
the time from the model sending the last token of sentence 1 to that sentence's chunk arriving
at the voice side (it crosses the router's splitter, Redis pub/sub and the link)."""

import asyncio

from bench.common import fresh_redis, router_in_process, session, summary
from tests.fakes.openai_server import FakeOpenAI, Say

REPLY = (
    "The first sentence is here. Then comes a second one. A third follows it. "
    "Here is the fourth. And the fifth ends it."
)
RUNS = 30


async def run() -> dict:
    with FakeOpenAI(fallback=lambda request: Say(REPLY), token_interval=0.02) as model:
        client = await fresh_redis()
        env = {"OPENAI_BASE_URL": model.base_url, "OPENAI_API_KEY": "k", "BOT_TIER0": "false"}
        samples = []
        async with router_in_process(client, env), session(client, "first-sentence") as s:
            for _ in range(RUNS):
                model.pieces.clear()
                timing = await s.turn("talk to me")
                sent = ""
                for at, piece, _user in list(model.pieces):
                    sent += piece
                    if "." in sent:  # the token that completes sentence 1
                        samples.append((timing["first_chunk"] - at) * 1000)
                        break
        await client.aclose()
    return {"first_sentence_ms": summary(samples)}


if __name__ == "__main__":
    print(asyncio.run(run()))
