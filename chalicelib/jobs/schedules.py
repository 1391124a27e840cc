"""The one list of scheduled jobs: app.py turns it into EventBridge schedules, `make run` into local timers.

Keeping a single table means the local stack runs the same functions on the same cadence as AWS.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.local import ScheduledJob


@dataclass(frozen=True, slots=True)
class Schedule:
    name: str
    minutes: int
    description: str
    target: str  # "module:function", imported on first run so cold starts stay light

    def resolve(self) -> Callable[..., Any]:
        module, _, func = self.target.partition(":")
        return getattr(importlib.import_module(module), func)


SCHEDULES: tuple[Schedule, ...] = ()


def local_jobs() -> list[ScheduledJob]:
    """The schedules as local timers; each receives the scheduled time, like ``event.time`` on AWS."""

    def runner(schedule: Schedule) -> Callable[[datetime], Any]:
        return lambda now: schedule.resolve()(now=now)

    return [ScheduledJob(s.name, s.minutes * 60.0, runner(s)) for s in SCHEDULES]
