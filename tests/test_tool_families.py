"""Each tool family driven through the real router by the fake model: action events in order
with the spoken reply, screen state updated."""

import pytest
import redis.asyncio as aioredis

from shared.bus.screen import ScreenStore
from shared.messages import ActionEvent, TextChunk
from tests.conftest import model_settings
from tests.fakes.openai_server import CallTools, FakeOpenAI, Say

FAMILY_CASES = [
    (
        "notes",
        "make a shopping note",
        "create_note",
        {"title": "Shopping"},
        "note.show",
        lambda ui: ui.current_note_id is not None,
    ),
    (
        "youtube",
        "play lofi on youtube",
        "youtube_play",
        {"query": "lofi"},
        "youtube.play",
        lambda ui: ui.youtube.query == "lofi",
    ),
    (
        "windows",
        "open my notes window",
        "open_window",
        {"app": "notes"},
        "window.open",
        lambda ui: [w.app for w in ui.windows] == ["notes"],
    ),
    (
        "soundtrack",
        "volume 30",
        "soundtrack_volume",
        {"volume": 30},
        "soundtrack.volume",
        lambda ui: ui.soundtrack.volume == 30,
    ),
    (
        "sprites",
        "make the cat dance",
        "set_sprite",
        {"sprite": "cat", "animation": "dance"},
        "sprite.set",
        lambda ui: ui.sprite.animation == "dance",
    ),
    (
        "views",
        "switch to focus view",
        "switch_view",
        {"view": "focus"},
        "view.switch",
        lambda ui: ui.view == "focus",
    ),
    (
        "profiles",
        "switch to a new profile for bob",
        "switch_profile",
        {"name": "bob", "create": True},
        "profile.switch",
        lambda ui: ui.profile == "bob",
    ),
    (
        "timers",
        "set a pasta timer for ten minutes",
        "set_timer",
        {"seconds": 600, "label": "pasta"},
        "timer.start",
        lambda ui: [t.label for t in ui.timers] == ["pasta"],
    ),
]


@pytest.mark.parametrize(
    ("family", "utterance", "tool_name", "arguments", "action_name", "state_check"),
    FAMILY_CASES,
    ids=[case[0] for case in FAMILY_CASES],
)
async def test_family_through_the_router(
    redis_client: aioredis.Redis,
    fake_model: FakeOpenAI,
    start_router,
    listen,
    family: str,
    utterance: str,
    tool_name: str,
    arguments: dict,
    action_name: str,
    state_check,
) -> None:
    fake_model.script(CallTools([(tool_name, arguments)]), Say("Done."))
    await start_router(model_settings(fake_model))
    session = await listen("s1")

    response = await session.ask(utterance)

    action, spoken, done = response.events
    assert isinstance(action, ActionEvent) and action.action.name == action_name
    assert isinstance(spoken, TextChunk) and spoken.text == "Done."
    assert [e.seq for e in response.events] == [0, 1, 2]
    assert done.outcome == "ok"
    tool_result = fake_model.requests[1]["messages"][-1]["content"]
    assert not tool_result.startswith("Error"), tool_result
    assert state_check(await ScreenStore(redis_client).load("s1"))


def test_every_family_is_covered() -> None:
    from router.tools import FAMILIES

    # Calculator and misc (time, what is playing) change nothing on screen; tested on their own.
    covered = {case[0] for case in FAMILY_CASES} | {"calculator", "misc"}
    assert covered == set(FAMILIES)
