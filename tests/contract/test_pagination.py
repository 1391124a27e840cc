"""list_complaints: ordered pages, every item exactly once (also when items arrive between pages), clear cursor errors."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.domain.models import Complaint, Tier
from chalicelib.store import InvalidCursor
from chalicelib.store.base import Store
from contract.builders import T0, make_complaint, make_reply


def order(c: Complaint) -> tuple:
    return (c.created_at, c.platform, c.post_id)


def read_all(store: Store, company: str, limit: int, **filters) -> list[Complaint]:
    items, cursor = [], None
    while True:
        page = store.list_complaints(company, limit=limit, cursor=cursor, **filters)
        assert len(page.items) <= limit
        items += page.items
        if page.next_cursor is None:
            return items
        cursor = page.next_cursor


def test_pages_return_every_item_once_in_order(store: Store) -> None:
    # GIVEN complaints with tied times across platforms, stored in shuffled order
    complaints = [
        make_complaint(f"p{i}", at=T0 + timedelta(minutes=i // 3), platform=("x", "mastodon", "bluesky")[i % 3])
        for i in range(7)
    ]
    store.put_complaints(reversed(complaints))

    # WHEN read in pages of 3
    items = read_all(store, "acme", limit=3)

    # THEN they come once each, ordered by (created_at, platform, post_id)
    assert items == sorted(complaints, key=order)


def test_exact_multiple_of_the_page_size_ends_cleanly(store: Store) -> None:
    store.put_complaints([make_complaint(at=T0 + timedelta(minutes=i)) for i in range(4)])
    first = store.list_complaints("acme", limit=2)
    second = store.list_complaints("acme", limit=2, cursor=first.next_cursor)
    assert len(second.items) == 2
    # the last page may or may not know it is last; if it hands out a cursor, that cursor yields nothing
    if second.next_cursor is not None:
        assert store.list_complaints("acme", limit=2, cursor=second.next_cursor).items == []


def test_items_added_between_pages_are_returned_once(store: Store) -> None:
    # GIVEN a first page read from complaints at minutes 0, 10, 20, 30
    store.put_complaints([make_complaint(f"c{m}", at=T0 + timedelta(minutes=m)) for m in (0, 10, 20, 30)])
    first = store.list_complaints("acme", limit=2)
    assert [c.post_id for c in first.items] == ["c0", "c10"]

    # WHEN complaints arrive before the cursor, after it, and re-deliveries of already-read ones
    store.put_complaints([
        make_complaint("c5", at=T0 + timedelta(minutes=5)),
        make_complaint("c15", at=T0 + timedelta(minutes=15)),
        make_complaint("c40", at=T0 + timedelta(minutes=40)),
        make_complaint("c10", at=T0 + timedelta(minutes=10)),
    ])
    rest, cursor = [], first.next_cursor
    while cursor:
        page = store.list_complaints("acme", limit=2, cursor=cursor)
        rest += page.items
        cursor = page.next_cursor

    # THEN everything after the cursor is returned, nothing twice
    seen = [c.post_id for c in first.items + rest]
    assert seen == ["c0", "c10", "c15", "c20", "c30", "c40"]


def test_time_range_is_since_inclusive_until_exclusive(store: Store) -> None:
    store.put_complaints([make_complaint(f"m{m}", at=T0 + timedelta(minutes=m)) for m in range(5)])
    page = store.list_complaints("acme", since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=3))
    assert [c.post_id for c in page.items] == ["m1", "m2"]
    assert page.next_cursor is None


def test_filters_by_platform_tier_answered_and_company(store: Store) -> None:
    # GIVEN complaints that differ in one attribute each
    base = make_complaint("base")
    answered = make_complaint("answered")
    store.put_complaints([
        base, answered,
        make_complaint("masto", platform="mastodon"),
        make_complaint("famous", tier=Tier.HIGH_PROFILE),
        make_complaint("elsewhere", company="other"),
    ])
    store.record_reply(make_reply(answered, "r", 5))

    def ids(**filters) -> set[str]:
        return {c.post_id for c in read_all(store, "acme", limit=2, **filters)}

    # THEN each filter selects exactly the complaints it names
    assert ids() == {"base", "answered", "masto", "famous"}
    assert ids(platform="mastodon") == {"masto"}
    assert ids(tier="high_profile") == {"famous"}
    assert ids(answered=True) == {"answered"}
    assert ids(answered=False, platform="x", tier=Tier.ORDINARY) == {"base"}
    assert read_all(store, "nobody", limit=5) == []


@pytest.mark.parametrize("cursor", ["not-a-cursor", "e30", "!!!", "eyJ2IjoxfQ"])
def test_a_bad_cursor_is_a_clear_error(store: Store, cursor: str) -> None:
    with pytest.raises(InvalidCursor, match="invalid cursor") as raised:
        store.list_complaints("acme", cursor=cursor)
    assert cursor[:20] in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_a_cursor_reused_with_other_filters_is_rejected(store: Store) -> None:
    # GIVEN a cursor issued for one platform
    store.put_complaints([make_complaint(at=T0 + timedelta(minutes=i)) for i in range(3)])
    cursor = store.list_complaints("acme", platform="x", limit=1).next_cursor
    assert cursor is not None

    # WHEN it is used for another platform or company THEN it is refused, saying why
    with pytest.raises(InvalidCursor, match="different filters"):
        store.list_complaints("acme", platform="mastodon", limit=1, cursor=cursor)
    with pytest.raises(InvalidCursor):
        store.list_complaints("other", platform="x", limit=1, cursor=cursor)


def test_limit_out_of_range_is_rejected(store: Store) -> None:
    with pytest.raises(ValueError, match="limit"):
        store.list_complaints("acme", limit=0)


complaint_specs = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=5),  # minute: few values, so times tie often
        st.sampled_from(["x", "mastodon", "bluesky", "reddit"]),
        st.text(alphabet="ab19", min_size=1, max_size=3),  # post ids sort as strings, not numbers
    ),
    max_size=12,
    unique_by=lambda spec: (spec[1], spec[2]),
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs=complaint_specs, limit=st.integers(min_value=1, max_value=5), data=st.data())
def test_pagination_returns_every_item_exactly_once(store: Store, specs, limit: int, data) -> None:
    # GIVEN random complaints of a fresh company, with fresh keys (the store outlives each example)
    company = f"co-{uuid.uuid4().hex[:8]}"
    complaints = [
        make_complaint(f"{company}-{pid}", company=company, platform=p, at=T0 + timedelta(minutes=m))
        for m, p, pid in specs
    ]
    store.put_complaints(complaints)
    minute = st.none() | st.integers(0, 6).map(lambda m: T0 + timedelta(minutes=m))
    since, until = data.draw(minute, label="since"), data.draw(minute, label="until")

    # WHEN all pages are read
    items = read_all(store, company, limit=limit, since=since, until=until)

    # THEN each complaint in [since, until) appears exactly once, in key order
    expected = sorted(
        (c for c in complaints if (since is None or c.created_at >= since) and (until is None or c.created_at < until)),
        key=order,
    )
    assert items == expected
