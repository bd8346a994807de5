"""The stores a turn's tools work through: one Redis client, no key or command in sight."""

from dataclasses import dataclass

import redis.asyncio as aioredis

from shared.bus.notes import NoteStore
from shared.bus.profiles import ProfileStore
from shared.bus.screen import ScreenStore
from shared.bus.tasks import TaskStore
from shared.bus.timers import TimerSchedule


@dataclass(frozen=True)
class Stores:
    notes: NoteStore
    profiles: ProfileStore
    screens: ScreenStore
    tasks: TaskStore
    timers: TimerSchedule

    @classmethod
    def over(cls, redis: aioredis.Redis) -> "Stores":
        """Every store, over one client (built once per router, shared by its turns)."""
        return cls(
            NoteStore(redis),
            ProfileStore(redis),
            ScreenStore(redis),
            TaskStore(redis),
            TimerSchedule(redis),
        )
