"""The OSS-model path: tool calls a server returns as text (no native `tool_calls`) are acted on and
spoken; ordinary replies stream on undelayed, and prose that mentions JSON is still spoken."""

import asyncio
import json

import pytest

from router.text_calls import TextCallGate, parse_text_calls
from tests.conftest import model_settings
from tests.fakes.openai_server import Fail, FakeOpenAI, Say

CALL = {"name": "calculator", "arguments": {"expression": "17*23"}}
SHAPES = {
    "qwen-tool-call": f"<tool_call>\n{json.dumps(CALL)}\n</tool_call>",
    "tools-tag": f"<tools> {json.dumps(CALL)} </tools>",
    "function-tag": '<function=calculator>{"expression": "17*23"}</function>',
    "fenced-json": f"```json\n{json.dumps(CALL)}\n```",
    "bare-json": json.dumps(CALL),
    "parameters-key": json.dumps({"name": "calculator", "parameters": CALL["arguments"]}),
    "call-then-chatter": f"<tool_call>{json.dumps(CALL)}</tool_call>\nI will calculate that.",
}


@pytest.mark.parametrize("written", SHAPES.values(), ids=SHAPES.keys())
async def test_a_call_written_as_text_runs_once_and_none_of_it_is_spoken(
    fake_model: FakeOpenAI, start_router, listen, written: str
) -> None:
    # The fake streams 4 characters per chunk: every shape arrives split at awkward places.
    fake_model.script(Say(written), Say("17 times 23 is 391."))
    await start_router(model_settings(fake_model))
    session = await listen("s1")

    response = await session.ask("what is 17 times 23")

    assert response.text == "17 times 23 is 391."
    assert len(fake_model.requests) == 2
    tool_messages = [m for m in fake_model.requests[1]["messages"] if m["role"] == "tool"]
    assert [m["content"] for m in tool_messages] == ["17*23 = 391"]
    assistant = fake_model.requests[1]["messages"][-2]
    assert assistant["content"] is None and assistant["tool_calls"][0]["function"]["name"] == (
        "calculator"
    )


async def test_an_unknown_tool_written_in_a_tag_goes_back_to_the_model_as_an_error(
    fake_model: FakeOpenAI, start_router, listen
) -> None:
    fake_model.script(
        Say('<tool_call>{"name": "teleport", "arguments": {}}</tool_call>'),
        Say("I can't do that."),
    )
    await start_router(model_settings(fake_model))
    session = await listen("s1")

    response = await session.ask("teleport me")

    assert response.text == "I can't do that."
    tool_message = fake_model.requests[1]["messages"][-1]
    assert tool_message["role"] == "tool"
    assert tool_message["content"].startswith("Error: there is no tool named 'teleport'")


@pytest.mark.parametrize(
    "said",
    [
        "JSON is a text format: curly braces hold names and values.",
        "Use the <b>second</b> window.",
        '{"colour": "blue"} is how a JSON object looks. It is handy.',
    ],
)
async def test_prose_is_spoken_and_markup_never_is(
    fake_model: FakeOpenAI, start_router, listen, said: str
) -> None:
    fake_model.script(Say(said))
    await start_router(model_settings(fake_model))
    session = await listen("s1")

    response = await session.ask("tell me")

    assert response.text
    assert not any(mark in response.text for mark in ("<b>", "</b>", '{"'))
    assert len(fake_model.requests) == 1


def test_ordinary_text_is_released_at_once_and_a_call_is_held() -> None:
    gate = TextCallGate({"calculator"})
    assert [gate.feed(d) for d in ["Sure", ", 17 times", " 23 is 391."]] == [
        "Sure",
        ", 17 times",
        " 23 is 391.",
    ]
    held = TextCallGate({"calculator"})
    assert [held.feed(d) for d in ["<to", "ol_call>", json.dumps(CALL)[:9]]] == ["", "", ""]
    held.feed(json.dumps(CALL)[9:] + "</tool_call>")
    assert held.finish() == "" and [c.name for c in held.calls] == ["calculator"]


def test_json_that_names_no_known_tool_is_not_a_call() -> None:
    assert parse_text_calls('{"name": "bob", "arguments": {}}', {"calculator"}) == []
    assert parse_text_calls('{"colour": "blue"}', {"calculator"}) == []


async def test_the_router_warms_the_model_prefix_at_start_and_after_an_outage(
    redis_client, fake_model: FakeOpenAI, start_router, listen, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    router = await start_router(model_settings(fake_model, BOT_MODEL_MAX_RETRIES=0))
    answerer = router.consumer.answerer
    await answerer.warm_up()
    (warm,) = fake_model.warm_ups
    assert warm["messages"][0] == {"role": "system", "content": answerer.system_prompt}
    assert warm["tools"] == answerer.tools.schemas() and warm["max_tokens"] == 1
    assert "model prefix warmed in" in caplog.text

    fake_model.script(Fail(503, "down"))
    session = await listen("s1")
    await session.ask("hello")
    await asyncio.wait_for(answerer._warming, 10)
    assert len(fake_model.warm_ups) == 2
