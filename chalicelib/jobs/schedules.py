"""The one list of scheduled jobs: app.py turns it into EventBridge schedules, `make run` into local timers.

Keeping a single table means the local stack runs the same functions on the same cadence as AWS.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # app.py imports this module at cold start; the local runner is for ``make run`` only
    from chalicelib.local import ScheduledJob

from chalicelib.domain.records import Record, record, set_field


@record
class Schedule(Record):
    """A record (see :mod:`chalicelib.domain.records`): ``import app`` builds this class."""

    name: str
    minutes: int
    description: str
    target: str  # "module:function", imported on first run so cold starts stay light
    takes_context: bool = False  # the job wants the Lambda context (its remaining time is the run's deadline)

    def __init__(self, name: str, minutes: int, description: str, target: str, takes_context: bool = False) -> None:
        set_field(self, "name", name)
        set_field(self, "minutes", minutes)
        set_field(self, "description", description)
        set_field(self, "target", target)
        set_field(self, "takes_context", takes_context)

    def resolve(self) -> Callable[..., Any]:
        module, _, func = self.target.partition(":")
        return getattr(importlib.import_module(module), func)



SCHEDULES: tuple[Schedule, ...] = (
    Schedule(
        "poll", 5, "Poll every company x source from its checkpoint", "chalicelib.jobs.poll:run", takes_context=True
    ),
    Schedule("aggregate", 15, "Rebuild per-company and leaderboard snapshots", "chalicelib.jobs.aggregate:run"),
    Schedule("alerts", 15, "E-mail SLA-breach digests to confirmed subscribers", "chalicelib.notify.alerts:scheduled_alerts"),
)


def local_jobs() -> list[ScheduledJob]:
    """The schedules as local timers; each receives the scheduled time, like ``event.time`` on AWS."""
    from chalicelib.local import ScheduledJob

    def runner(schedule: Schedule) -> Callable[[datetime], Any]:
        return lambda now: schedule.resolve()(now=now)

    return [ScheduledJob(s.name, s.minutes * 60.0, runner(s)) for s in SCHEDULES]


def lambda_handler(schedule: Schedule) -> Callable[[Any], Any]:
    """The function a Chalice schedule calls: the scheduled time comes from ``event.time``."""

    def handler(event: Any) -> Any:
        now = _event_time(getattr(event, "time", None))
        if schedule.takes_context:
            return schedule.resolve()(now=now, context=getattr(event, "context", None))
        return schedule.resolve()(now=now)

    handler.__name__ = schedule.name
    return handler


def _event_time(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    from chalicelib.domain.models import parse_instant

    return parse_instant(value)
