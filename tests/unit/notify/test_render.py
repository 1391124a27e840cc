"""Pure rendering and privacy helpers."""

from __future__ import annotations

from html.parser import HTMLParser

from chalicelib.domain.models import Tier
from chalicelib.domain.privacy import is_public_tier, pseudonym
from chalicelib.notify import render


def test_pseudonym_is_stable_distinct_and_depends_on_the_salt() -> None:
    a = pseudonym(b"salt-1", "x", "12345")
    assert a == pseudonym(b"salt-1", "x", "12345")
    assert a.startswith("anon-") and len(a) == len("anon-") + 8
    assert a != pseudonym(b"salt-2", "x", "12345")
    assert a != pseudonym(b"salt-1", "mastodon", "12345")
    assert a != pseudonym(b"salt-1", "x", "12346")
    assert "12345" not in a


def test_only_high_profile_is_public() -> None:
    assert [t for t in Tier if is_public_tier(t)] == [Tier.HIGH_PROFILE]
    assert is_public_tier("high_profile") and not is_public_tier("unknown")


def test_only_http_links_reach_an_email() -> None:
    assert render._safe_link("https://x.com/a/status/1") == "https://x.com/a/status/1"
    for bad in ("javascript:alert(1)", "/relative", "data:text/html,hi", "", None):
        assert render._safe_link(bad) is None


def test_unsubscribe_prompt_posts_one_click_to_the_same_link() -> None:
    forms: list[dict[str, str | None]] = []
    inputs: list[dict[str, str | None]] = []

    class Collect(HTMLParser):
        def handle_starttag(self, tag, attrs):
            (forms if tag == "form" else inputs if tag == "input" else []).append(dict(attrs))

    Collect().feed(render.unsubscribe_prompt_page('tok"en<>'))
    assert forms == [{"method": "post", "action": "?token=tok%22en%3C%3E"}]
    assert inputs == [{"type": "hidden", "name": "List-Unsubscribe", "value": "One-Click"}]


def test_message_page_escapes() -> None:
    page = render.message_page("<b>Done</b>", "a & b")
    assert "<b>Done</b>" not in page and "&lt;b&gt;Done" in page and "a &amp; b" in page


def test_every_link_state_has_its_own_page_and_unknown_states_look_invalid() -> None:
    states = ["confirmed", "already_confirmed", "inactive", "unsubscribed", "already_unsubscribed", "invalid"]
    pages = [render.result_page(s) for s in states]
    assert len(set(pages)) == len(states)
    assert render.result_page("something-else") == render.result_page("invalid")
