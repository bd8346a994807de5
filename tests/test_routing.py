"""The routing step for small models (BOT_ROUTE_FIRST): a constrained request picks the route,
then only that route's tools are offered; a server that rejects the step or the routed request
still gets every turn answered, with every tool. The model is a fake OpenAI-compatible server
on loopback; what it is sent is the protocol under test."""

import json
from typing import Any

import pytest

from router.routing import ANSWER, DELEGATE, ROUTE_EXAMPLES, ROUTE_HINTS, ROUTE_NAMES, RouteFirst
from router.tools import FAMILIES, fast_tools
from shared.settings import Settings, route_first_for
from tests.conftest import model_settings
from tests.fakes.openai_server import CallTools, Fail, FakeOpenAI, Say


def route(name: str) -> Say:
    return Say(json.dumps({"route": name}))


def call(name: str, **arguments: Any) -> Say:
    """A call as a server writes it under the routed call's schema."""
    return Say(json.dumps({"name": name, "arguments": arguments}))


def offered(request: dict[str, Any]) -> set[str]:
    return {tool["function"]["name"] for tool in request.get("tools", [])}


def routed(fake: FakeOpenAI, **overrides: Any) -> Settings:
    return model_settings(fake, BOT_ROUTE_FIRST="on", **overrides)


async def test_the_route_is_asked_under_a_schema_then_only_its_family_is_offered(
    fake_model: FakeOpenAI, start_router, listen, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    fake_model.script(
        route("notes"), call("create_note", title="garden"), Say("I made the note garden.")
    )
    await start_router(routed(fake_model))
    session = await listen("s1")

    response = await session.ask("make a note called garden")

    assert response.text == "I made the note garden."
    choose, first, after_tool = fake_model.requests
    assert not choose.get("stream") and "tools" not in choose and choose["temperature"] == 0
    schema = choose["response_format"]["json_schema"]["schema"]
    assert choose["response_format"]["type"] == "json_schema"
    assert set(schema["properties"]["route"]["enum"]) == {
        ANSWER,
        *(ROUTE_NAMES.get(family, family) for family in FAMILIES),
    }
    assert choose["messages"][0]["content"].startswith("You route")
    assert choose["messages"][-1] == {"role": "user", "content": "make a note called garden"}
    notes = {t.name for t in FAMILIES["notes"].TOOLS}
    assert offered(first) == notes and not first.get("stream")
    variants = first["response_format"]["json_schema"]["schema"]["anyOf"]
    assert {v["properties"]["name"]["const"] for v in variants} == notes
    create = next(v for v in variants if v["properties"]["name"]["const"] == "create_note")
    assert "title" in create["properties"]["arguments"]["properties"]
    # After the tool ran the model may speak: same family, streamed, unconstrained.
    assert offered(after_tool) == notes and after_tool["stream"]
    assert "response_format" not in after_tool
    assert "route=notes" in caplog.text


async def test_an_answer_route_offers_no_tool(fake_model: FakeOpenAI, start_router, listen) -> None:
    fake_model.script(route(ANSWER), Say("Good morning to you too."))
    await start_router(routed(fake_model))
    session = await listen("s1")

    assert (await session.ask("good morning")).text == "Good morning to you too."
    answer = fake_model.requests[1]
    assert "tools" not in answer and "tool_choice" not in answer


async def test_the_route_sees_the_last_spoken_exchange(
    fake_model: FakeOpenAI, start_router, listen
) -> None:
    fake_model.script(route(ANSWER), Say("Paris."), route(ANSWER), Say("About two million."))
    await start_router(routed(fake_model))
    session = await listen("s1")
    await session.ask("what's the capital of france")
    await session.ask("how many people live there")

    second_choice = fake_model.requests[2]
    assert second_choice["messages"][1:] == [
        {"role": "user", "content": "what's the capital of france"},
        {"role": "assistant", "content": "Paris."},
        {"role": "user", "content": "how many people live there"},
    ]


async def test_a_server_without_response_format_gets_every_tool_and_no_more_routing(
    fake_model: FakeOpenAI, start_router, listen, caplog: pytest.LogCaptureFixture
) -> None:
    fake_model.script(
        Fail(400, "response_format is not supported"),
        Say("Hello."),
        Say("Hello again."),
    )
    await start_router(routed(fake_model))
    session = await listen("s1")

    assert (await session.ask("hi")).text == "Hello."
    assert (await session.ask("hi again")).text == "Hello again."

    _rejected, first, second = fake_model.requests
    catalog = set(fast_tools().names)
    assert offered(first) == offered(second) == catalog
    assert "tool_choice" not in first and "response_format" not in second
    assert caplog.text.count("routing step off for this router") == 1


@pytest.mark.parametrize(
    "routed_reply",
    [Fail(400, "tools and response_format together are not supported"), Say('{"name": "calc')],
    ids=["rejected", "cut-short"],
)
async def test_a_routed_call_rejected_or_cut_short_is_asked_again_with_every_tool(
    fake_model: FakeOpenAI, start_router, listen, routed_reply: Fail | Say
) -> None:
    fake_model.script(
        route("calculator"),
        routed_reply,
        CallTools([("calculator", {"expression": "6*7"})]),
        Say("6 times 7 is 42."),
    )
    await start_router(routed(fake_model))
    session = await listen("s1")

    assert (await session.ask("what's 6 times 7")).text == "6 times 7 is 42."
    retried, after_tool = fake_model.requests[2:]
    assert offered(retried) == set(fast_tools().names) and "response_format" not in retried
    assert offered(after_tool) == set(fast_tools().names)  # the turn stays on every tool


@pytest.mark.parametrize("reply", ['{"route": "weather"}', "Sure! notes.", "[]"])
async def test_a_reply_that_names_no_route_gets_every_tool(
    fake_model: FakeOpenAI, start_router, listen, reply: str
) -> None:
    fake_model.script(Say(reply), Say("It's sunny, I think."))
    await start_router(routed(fake_model))
    session = await listen("s1")

    assert (await session.ask("is it sunny")).text == "It's sunny, I think."
    assert offered(fake_model.requests[1]) == set(fast_tools().names)
    # A server that ignores the format is not turned off: the next turn is routed again.
    fake_model.script(route(ANSWER), Say("Bye."))
    await session.ask("bye")
    assert "response_format" in fake_model.requests[2]


async def test_a_model_that_is_down_is_heard_as_down(
    fake_model: FakeOpenAI, start_router, listen
) -> None:
    fake_model.script(Fail(503, "overloaded"), route(ANSWER), Say("Back."))
    await start_router(routed(fake_model, BOT_MODEL_MAX_RETRIES=0))
    session = await listen("s1")

    down = await session.ask("hello")
    assert down.text == "Sorry, I couldn't reach my language model just now. Please try again."
    assert down.done.outcome == "error"
    assert (await session.ask("hello")).text == "Back."  # routing stayed on


async def test_warm_up_reads_the_routing_prompt_and_each_route(
    fake_model: FakeOpenAI, start_router
) -> None:
    router = await start_router(routed(fake_model))
    answerer = router.consumer.answerer
    await answerer.warm_up()

    routing, answer, *families = fake_model.warm_ups
    assert routing["messages"][0]["content"] == answerer.route_first.prompt
    assert "tools" not in routing and "tools" not in answer
    assert [offered(r) for r in families] == [
        {t.name for t in module.TOOLS} for module in FAMILIES.values()
    ]


def test_every_route_has_a_hint_and_examples_name_real_routes() -> None:
    routing = RouteFirst.over_families(delegation=True)
    families = {ROUTE_NAMES.get(family, family) for family in FAMILIES}
    assert set(routing.routes) == {*families, DELEGATE, ANSWER} == set(ROUTE_HINTS)
    assert set(ROUTE_NAMES) <= set(FAMILIES)
    assert {name for _, name in ROUTE_EXAMPLES} <= set(routing.routes)
    assert "-> delegate" in routing.prompt
    direct = RouteFirst.over_families(delegation=False)
    assert DELEGATE not in direct.routes and "delegate" not in direct.prompt


@pytest.mark.parametrize(
    ("choice", "base_url", "model", "on"),
    [
        ("auto", "http://127.0.0.1:8089/v1", "qwen", True),
        ("auto", "http://ollama:11434/v1", "llama3.2:3b", True),
        ("auto", "http://127.0.0.1:8089/v1", "gpt-4o-mini", False),
        ("auto", "https://api.openai.com/v1", "gpt-4o-mini", False),
        ("auto", None, "gpt-4o-mini", False),
        ("on", None, "gpt-4o-mini", True),
        ("off", "http://127.0.0.1:8089/v1", "qwen", False),
    ],
)
def test_auto_routes_first_for_a_model_on_your_own_server(
    choice: str, base_url: str | None, model: str, on: bool
) -> None:
    assert route_first_for(choice, base_url, model) is on
