"""A Bluesky sweep cut short by a fault and finished in a later run must still observe everything up to that run.

Feeds page newest-first, so a sweep resumed from an earlier run's token starts *below* whatever was posted
since that run began. Found by tests/hardening/test_fault_injection_bluesky.py: the resumed mention sweep
finished, the fetch reported done (the poll then sets the horizon to ``now``), and a complaint posted while
the sweep was interrupted was missing from a run that claimed to have observed it.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import responses

from chalicelib.sources.base import RequestBudget
from chalicelib.sources.bluesky import BlueskySource
from tests.hardening.fake_bluesky import FakeBluesky
from tests.unit.sources.conftest import company

BASE = "https://appview.test"
T0 = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
ACME = "acme.bsky.social"


def appview() -> FakeBluesky:
    fake = FakeBluesky()
    fake.add_account(ACME, followers=120_000)
    for n in range(5):  # five unanswered complaints: mention-search pages only
        fake.add_thread(ACME, f"c{n}.bsky.social", T0 - timedelta(hours=5 - n), followers=10,
                        text="my parcel never arrived and nobody answers", reply_after=None)
    return fake


@responses.activate
def test_a_mention_sweep_resumed_in_a_later_run_also_reads_what_was_posted_meanwhile(session):
    # GIVEN a first run stopped (deadline, crash, fault) after the first page of the mention search
    fake = appview()
    responses.add_callback("GET", re.compile(re.escape(BASE) + r"/.*"), callback=lambda r: fake.respond(r.url))
    source = BlueskySource(session=session, base_url=BASE, page_size=2)
    fake.now = T0
    pages = source.fetch(company(bluesky=[ACME]), None, budget=RequestBudget(100), now=T0)
    cursor = None
    for page in pages:
        cursor = page.next_cursor
        if json.loads(cursor).get(f"mentions:{ACME}", {}).get("token"):
            break
    pages.close()
    assert json.loads(cursor)[f"mentions:{ACME}"]["token"]  # the sweep is mid-way
    # AND a customer complains before the next run
    later = T0 + timedelta(minutes=5)
    new = fake.add_thread(ACME, "late.bsky.social", T0 + timedelta(minutes=2), followers=10,
                          text="still waiting for a refund, this is unacceptable", reply_after=None)
    fake.now = later
    # WHEN the next run resumes the sweep from the saved cursor and reads to the end
    resumed = list(source.fetch(company(bluesky=[ACME]), cursor, budget=RequestBudget(100), now=later))
    # THEN the fetch is done only once it has read the new complaint too, and every older one
    assert resumed[-1].done and not resumed[-1].exhausted
    read = {p.post_id for page in resumed for p in page.posts}
    assert new.complaint_uri in read
    # AND its checkpoint starts the next sweep at the newest complaint, so nothing is read for nothing
    state = json.loads(resumed[-1].next_cursor)[f"mentions:{ACME}"]
    assert state == {"since": new.complaint_at.isoformat(), "pending": None, "token": None}
