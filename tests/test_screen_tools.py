"""Sprite, view, profile, time and timer tools."""

import asyncio
import json

import redis.asyncio as aioredis

from router.tools.timers import announce_due_timers
from shared.actions import ProfileSwitch, SpriteSet, TimerEnd, TimerStart, ViewSwitch
from shared.bus import keys
from shared.messages import ActionEvent
from tests.conftest import EVENT_TIMEOUT, ToolHarness


async def test_sprite_show_hide_switch(tools: ToolHarness) -> None:
    assert await tools("set_sprite", sprite="Cat", animation="dance") == "The cat is now dance."
    assert await tools("set_sprite", visible=False) == "Sprite hidden."
    assert await tools("set_sprite", animation="wave") == "The cat is now wave."
    assert "unknown sprite 'dragon'" in await tools("set_sprite", sprite="dragon")
    assert await tools.actions() == [
        SpriteSet(sprite="cat", animation="dance", visible=True),
        SpriteSet(sprite="cat", animation="dance", visible=False),
        SpriteSet(sprite="cat", animation="wave", visible=True),
    ]


async def test_switch_view(tools: ToolHarness) -> None:
    assert await tools("switch_view", view="Media view") == "Switched to the media view."
    assert "unknown view 'kitchen'" in await tools("switch_view", view="kitchen")
    assert await tools.actions() == [ViewSwitch(view="media")]
    assert (await tools.ui()).view == "media"


async def test_profiles_switch_list_describe_and_own_their_notes(tools: ToolHarness) -> None:
    await tools("create_note", title="Alice's note")
    assert await tools("switch_profile", name="Bob's profile") == (
        "Error: there is no profile 'bob'; profiles: alice; ask whether to create it"
    )
    assert await tools("switch_profile", name="Bob", create=True) == "Switched to the bob profile."
    assert await tools("list_notes") == "There are no notes."
    assert await tools("list_profiles") == "Profiles: alice, bob (current)"
    assert await tools("describe_profile", description="Bob from accounting") == (
        "Profile bob: 0 notes. Bob from accounting."
    )
    assert await tools("describe_profile", name="alice") == "Profile alice: 1 note."
    assert await tools("switch_profile", name="{evil}") == (
        "Error: '{evil}' cannot be a profile name; use letters and digits"
    )
    assert ProfileSwitch(profile="bob") in await tools.actions()
    assert (await tools.ui()).profile == "bob"


async def test_current_time_in_the_users_zone(tools: ToolHarness) -> None:
    tools.ctx.timezone = "Asia/Tokyo"
    assert (await tools("current_time")).endswith("(Asia/Tokyo).")
    tools.ctx.timezone = "Not/AZone"
    assert (await tools("current_time")).startswith("It is ")


async def test_timers_start_list_cancel_and_are_announced_once(
    tools: ToolHarness, redis_client: aioredis.Redis
) -> None:
    assert await tools("set_timer", seconds=600, label="pasta") == "Pasta timer set for 10 minutes."
    assert await tools("set_timer", seconds=90) == "Timer set for 1 minute 30 seconds."
    assert (await tools("list_timers")).startswith("Timers: pasta, 10 minutes left")
    assert await tools("cancel_timer", label="pasta") == "Cancelled the pasta timer."
    assert await tools("cancel_timer", label="eggs") == "Error: no eggs timer is running"
    started = [a for a in await tools.actions() if isinstance(a, TimerStart)]
    assert [a.label for a in started] == ["pasta", "timer"]
    assert await redis_client.zcard(keys.TIMERS_DUE) == 1

    far_future = started[1].ends_at + 1
    assert await announce_due_timers(redis_client, now=far_future) == 1
    assert await announce_due_timers(redis_client, now=far_future) == 0
    announcement = await tools.listener.wait_done(f"timer-{started[1].timer_id}")
    assert announcement.text == "Your timer is done."
    assert announcement.events[0].origin == "notice" and announcement.events[0].inbox_id
    screen = tools.listener.responses[f"timer-{started[1].timer_id}-screen"]
    assert isinstance(screen.events[0], ActionEvent)
    assert screen.events[0].action == TimerEnd(timer_id=started[1].timer_id, cancelled=False)
    assert (await tools.ui()).timers == []


async def test_a_malformed_timer_is_dropped(
    tools: ToolHarness, redis_client: aioredis.Redis
) -> None:
    await redis_client.zadd(keys.TIMERS_DUE, {json.dumps({"session_id": "{bad}"}): 1})
    assert await announce_due_timers(redis_client, now=2) == 0
    assert await redis_client.zcard(keys.TIMERS_DUE) == 0


async def test_two_replicas_checking_at_once_announce_a_timer_once(
    tools: ToolHarness, redis_client: aioredis.Redis
) -> None:
    await tools("set_timer", seconds=60, label="tea")
    (started,) = [a for a in await tools.actions() if isinstance(a, TimerStart)]
    later = started.ends_at + 1
    both = asyncio.gather(*(announce_due_timers(redis_client, now=later) for _ in "ab"))
    counts = await asyncio.wait_for(both, EVENT_TIMEOUT)
    assert sorted(counts) == [0, 1]
