from __future__ import annotations

from datetime import UTC, datetime

from chalicelib.local import LocalScheduler, ScheduledJob


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_jobs_run_at_start_and_then_on_their_cadence() -> None:
    # GIVEN two jobs every 60 s and 300 s, and a clock we control
    clock = FakeClock()
    calls: list[tuple[str, float]] = []
    jobs = [
        ScheduledJob("poll", 60, lambda now: calls.append(("poll", clock.now))),
        ScheduledJob("aggregate", 300, lambda now: calls.append(("aggregate", clock.now))),
    ]
    scheduler = LocalScheduler(jobs, clock=clock, wall_clock=lambda: datetime(2026, 1, 1, tzinfo=UTC))
    due: dict[str, float] = {}
    # WHEN time advances over ten minutes in 30 s steps
    for step in range(21):
        clock.now = step * 30.0
        scheduler.run_pending(due)
    # THEN poll ran every minute and aggregate every five
    assert [t for name, t in calls if name == "poll"] == [i * 60.0 for i in range(11)]
    assert [t for name, t in calls if name == "aggregate"] == [0.0, 300.0, 600.0]


def test_a_failing_job_is_counted_and_does_not_stop_the_others() -> None:
    clock = FakeClock()
    ran: list[str] = []

    def broken(now: datetime) -> None:
        raise RuntimeError("source down")

    scheduler = LocalScheduler(
        [ScheduledJob("broken", 60, broken), ScheduledJob("ok", 60, lambda now: ran.append("ok"))], clock=clock
    )
    due: dict[str, float] = {}
    scheduler.run_pending(due)
    clock.now = 60
    scheduler.run_pending(due)
    assert ran == ["ok", "ok"]
    assert scheduler.failures["broken"] == 2 and scheduler.runs["ok"] == 2


def test_the_scheduler_thread_starts_and_stops() -> None:
    import threading

    ran = threading.Event()
    scheduler = LocalScheduler([ScheduledJob("tick", 3600, lambda now: ran.set())])
    scheduler.start()
    assert ran.wait(5)
    scheduler.stop(timeout=5)
    assert scheduler._thread is not None and not scheduler._thread.is_alive()
