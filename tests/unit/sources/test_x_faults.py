"""An X search sweep cut short and finished in a later run must still observe everything up to that run.

Recent search pages newest-first, so a sweep resumed from an earlier run's ``next_token`` starts *below*
whatever was posted since that run began. The same gap the Bluesky fault injection found
(tests/unit/sources/test_bluesky_faults.py); X resumes its sweeps the same way.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import responses

from chalicelib.sources.base import RequestBudget
from chalicelib.sources.x import XSource
from tests.hardening.fake_x import FakeX
from tests.unit.sources.conftest import company

BASE = "https://api.x.test"
T0 = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
HANDLE = "AcmeHelp"
STREAM = f"mentions:{HANDLE.casefold()}"


def platform() -> FakeX:
    fake = FakeX()
    fake.add_company(HANDLE, 7_000)
    for n in range(25):  # unanswered complaints: three pages of the mention search
        fake.add_thread(HANDLE, n, T0 - timedelta(hours=5) + n * timedelta(minutes=10), followers=12, reply_after=None)
    return fake


@responses.activate
def test_a_mention_sweep_resumed_in_a_later_run_also_reads_what_was_posted_meanwhile(session):
    # GIVEN a first run stopped (deadline, crash, fault) after the first page of the mention search
    fake = platform()
    responses.add_callback("GET", re.compile(re.escape(BASE) + r"/.*"), callback=lambda r: fake.respond(r.url))
    source = XSource("test-token", session=session, base_url=BASE, max_results=10)
    fake.now = T0
    pages = source.fetch(company(x=[HANDLE]), None, budget=RequestBudget(100), now=T0)
    cursor, first_run = None, set()
    for page in pages:
        cursor = page.next_cursor
        first_run.update(p.post_id for p in page.posts)
        if json.loads(cursor).get(STREAM, {}).get("token"):
            break
    pages.close()
    assert json.loads(cursor)[STREAM]["token"]  # the sweep is mid-way
    # AND a customer complains before the next run
    later = T0 + timedelta(minutes=5)
    new = fake.add_thread(HANDLE, 99, T0 + timedelta(minutes=2), followers=12, reply_after=None)
    fake.now = later
    # WHEN the next run resumes the sweep from the saved cursor and reads to the end
    resumed = list(source.fetch(company(x=[HANDLE]), cursor, budget=RequestBudget(100), now=later))
    # THEN the fetch is done only once it has read the new complaint too, and every older one
    assert resumed[-1].done and not resumed[-1].exhausted
    read = {p.post_id for page in resumed for p in page.posts}
    assert new.complaint_id in read
    assert {t.complaint_id for t in fake.threads} - first_run <= read
    # AND the checkpoint starts the next sweep at the newest complaint
    assert json.loads(resumed[-1].next_cursor)[STREAM] == {"since": new.complaint_id, "pending": None, "token": None}
