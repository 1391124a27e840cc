"""``count_complaints``: what an archive import reports, counted in place, must equal counting a full listing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from chalicelib.domain.models import Category, Tier
from chalicelib.store.base import Store
from contract.builders import T0, make_complaint, make_reply


def _by_listing(store: Store, company: str, since, until, source: str) -> tuple[int, int, int, dict[str, int]]:
    items = store.list_complaints(company, since=since, until=until, limit=1000).items
    mine = [c for c in items if c.source == source]
    counted = [c for c in mine if c.category == Category.COMPLAINT and not c.deleted]
    tiers: dict[str, int] = {}
    for c in counted:
        tiers[str(c.tier)] = tiers.get(str(c.tier), 0) + 1
    return len(mine), len(counted), sum(c.answered for c in counted), tiers


def test_counts_agree_with_a_listing_over_sources_categories_and_the_time_window(store: Store) -> None:
    # GIVEN complaints of two sources, mixed tiers and categories, some answered, one deleted, some outside the window
    complaints = []
    for n in range(24):
        c = make_complaint(
            at=T0 + timedelta(minutes=n), tier=(Tier.ORDINARY, Tier.NOTABLE, Tier.HIGH_PROFILE)[n % 3],
            category=Category.PRAISE if n % 5 == 0 else Category.COMPLAINT, deleted=n == 7,
        )
        c = replace(c, source="archive" if n % 4 else "x")
        if n % 2:
            reply = make_reply(c, f"r{c.post_id}", 5)
            c = replace(c, first_reply=reply, first_substantive_reply=reply)
        complaints.append(c)
    complaints.append(replace(make_complaint(company="other", at=T0), source="archive"))
    store.put_complaints(complaints)
    since, until = T0 + timedelta(minutes=2), T0 + timedelta(minutes=20)

    # WHEN both are counted
    counted = store.count_complaints("acme", since=since, until=until, source="archive")

    # THEN they agree, and the window, the source and the company all narrowed what was counted
    assert counted == _by_listing(store, "acme", since, until, "archive")
    inbound, kept, answered, tiers = counted
    assert 0 < answered < kept < inbound < 18
    assert sum(tiers.values()) == kept


def test_counts_of_a_company_without_complaints_are_zero(store: Store) -> None:
    assert store.count_complaints("nobody", since=T0, until=T0 + timedelta(days=1), source="archive") == (0, 0, 0, {})
