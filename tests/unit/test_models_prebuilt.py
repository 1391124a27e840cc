"""The record types' written-out methods behave exactly like the ones ``@dataclass`` would generate.

``chalicelib.domain.models``, ``chalicelib.config``, ``chalicelib.jobs.schedules`` and
``chalicelib.notify.subscriptions`` build their records with ``chalicelib.domain.records`` (``__init__`` written in
the class, ``__repr__``/``__eq__``/``__hash__`` from one base) so that a cold start does not compile generated
methods. Each class is compared here with a twin that ``dataclasses.make_dataclass`` generates from the class's
own fields, so a field added to the class body but forgotten in one of the methods fails.
"""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from chalicelib.config import Settings
from chalicelib.domain import models
from chalicelib.domain.models import (
    Account,
    Category,
    Checkpoint,
    Company,
    Complaint,
    Post,
    PostKind,
    Reply,
    ReplyKind,
    Subscription,
    Tier,
)
from chalicelib.jobs.schedules import Schedule
from chalicelib.notify.render import DigestLine
from chalicelib.notify.subscriptions import Limits, LinkResult, SubscriptionOutcome, SubscriptionRequest

T0 = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
T1 = T0 + timedelta(minutes=42)
ACCOUNT = Account("x", "42", "jo", "Jo", 1_200, True, "https://x.example/jo", "blue")
REPLY = Reply("x", "r1", "p1", "acme-air", "AcmeAirHelp", T1, ReplyKind.DEFLECTION, "https://x.example/r1")

# Every field set to a non-default value, positionally in field order: the twin must agree on all of them.
FULL: dict[type, tuple[Any, ...]] = {
    Account: ("x", "42", "jo", "Jo", 1_200, True, "https://x.example/jo", "blue"),
    Post: ("x", "p1", ACCOUNT, T0, "late again", PostKind.REPLY, "t1", "p0", "7", ("acmeairhelp",),
           "https://x.example/p1", "en", True),
    Reply: ("x", "r1", "p1", "acme-air", "AcmeAirHelp", T1, ReplyKind.DEFLECTION, "https://x.example/r1"),
    Complaint: ("x", "p1", "acme-air", "42", "jo", T0, Tier.NOTABLE, 1_200, Category.PRAISE, "t1",
                "https://x.example/p1", "late again", REPLY, REPLY, True, "archive"),
    Company: ("acme-air", "Acme Air", {"x": ("AcmeAirHelp",)}, "airline", 60, ("acme.example",),
              {"x": ("acme air",)}, True, True),
    Checkpoint: ("acme-air", "x", "c1", T0, T1),
    Subscription: ("s1", "jo@example.org", "acme-air", 30, ("ordinary",), "daily", "confirmed", T0, T1, "192.0.2.1"),
    Schedule: ("poll", 5, "Poll", "chalicelib.jobs.poll:run", True),
    Limits: (1, 2, 3, timedelta(hours=1), timedelta(days=2)),
    SubscriptionOutcome: (200, "ok"),
    SubscriptionRequest: ("jo@example.org", "acme-air", 30, ("ordinary",), "daily"),
    LinkResult: ("confirmed", Subscription("s1", "e@x.example", "acme-air", None, (), "daily", "confirmed", T0), None),
    DigestLine: ("x", "ordinary", 95, "anon-3f9a1c2b", None),
    Settings: ("dynamodb", Path("/d"), Path("/d/c.toml"), "t", "prod", 10, 20, 5, "DEBUG", "https://fr.example"),
}
RECORDS = list(FULL)


def _twin(cls: type) -> type:
    """What ``@dataclass(frozen=True, slots=True)`` generates for ``cls``'s fields, under the same name."""
    specs = []
    for f in dataclasses.fields(cls):
        if f.default_factory is not dataclasses.MISSING:
            specs.append((f.name, f.type, dataclasses.field(default_factory=f.default_factory)))
        elif f.default is not dataclasses.MISSING:
            specs.append((f.name, f.type, dataclasses.field(default=f.default)))
        else:
            specs.append((f.name, f.type))
    return dataclasses.make_dataclass(cls.__name__, specs, frozen=True, slots=True)


def _required(cls: type) -> tuple[Any, ...]:
    return FULL[cls][: sum(1 for p in inspect.signature(cls).parameters.values() if p.default is p.empty)]


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: c.__name__)
def test_methods_are_written_out_not_generated(cls: type) -> None:
    # GIVEN a record type WHEN its methods are inspected THEN they come from source files, not exec()
    from chalicelib.domain import records

    assert inspect.getsourcefile(cls.__init__) == inspect.getsourcefile(cls)
    for name in ("__repr__", "__eq__", "__hash__"):
        assert inspect.getsourcefile(getattr(cls, name)) == inspect.getsourcefile(records), name


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: c.__name__)
def test_signature_matches_the_generated_init(cls: type) -> None:
    # GIVEN the generated twin WHEN both constructors' parameters are compared THEN names, order and defaults agree
    ours = inspect.signature(cls).parameters
    theirs = inspect.signature(_twin(cls)).parameters
    assert list(ours) == list(theirs)
    for name, param in ours.items():
        expected = theirs[name].default
        if repr(expected) == "<factory>":
            assert repr(param.default) == "<factory>"
        else:
            assert param.default == expected and param.kind == theirs[name].kind, name


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("full", [True, False], ids=["all-fields", "required-only"])
def test_values_repr_equality_and_hash_match_the_twin(cls: type, full: bool) -> None:
    # GIVEN the same arguments for the record and its generated twin
    args = FULL[cls] if full else _required(cls)
    ours, theirs = cls(*args), _twin(cls)(*args)
    # THEN every field, the repr and (where hashable) the hash agree, and the frozen/slotted nature is kept
    assert dataclasses.astuple(ours) == dataclasses.astuple(theirs)
    assert repr(ours) == repr(theirs)
    try:
        expected_hash: Any = hash(theirs)
    except TypeError:
        expected_hash = TypeError
    if expected_hash is TypeError:
        with pytest.raises(TypeError):
            hash(ours)
    else:
        assert hash(ours) == expected_hash
    assert ours == cls(*args) and not ours != cls(*args)
    assert ours != theirs and (ours == theirs) is False  # another class is never equal, as generated __eq__ says
    assert dataclasses.replace(ours) == ours and pickle.loads(pickle.dumps(ours)) == ours
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(ours, dataclasses.fields(cls)[0].name, "changed")
    assert not hasattr(ours, "__dict__") and cls.__dataclass_params__.frozen


@pytest.mark.parametrize("cls", RECORDS, ids=lambda c: c.__name__)
def test_one_changed_field_breaks_equality(cls: type) -> None:
    # GIVEN two records differing in one field at a time THEN they are unequal (every field is compared)
    base = cls(*FULL[cls])
    for f in dataclasses.fields(cls):
        current = getattr(base, f.name)
        changed = current - timedelta(days=1) if isinstance(current, datetime) else object()
        assert dataclasses.replace(base, **{f.name: changed}) != base, f.name


def test_times_are_normalised_to_utc_as_before() -> None:
    # GIVEN naive and offset times WHEN records are built THEN they hold aware UTC, as __post_init__ always did
    plus2 = timezone(timedelta(hours=2))
    post = Post("x", "p1", ACCOUNT, datetime(2024, 5, 1, 12, 30))
    complaint = Complaint("x", "p1", "acme-air", "42", "jo", datetime(2024, 5, 1, 14, 30, tzinfo=plus2), Tier.ORDINARY)
    sub = Subscription("s1", "e@x.example", "acme-air", None, (), "daily", "pending",
                       datetime(2024, 5, 1, 12, 30), datetime(2024, 5, 1, 14, 30, tzinfo=plus2))
    reply = Reply("x", "r1", "p1", "acme-air", "h", datetime(2024, 5, 1, 14, 30, tzinfo=plus2))
    assert post.created_at == complaint.created_at == sub.created_at == sub.confirmed_at == reply.created_at == T0
    assert all(t.tzinfo is UTC for t in (post.created_at, complaint.created_at, sub.created_at, reply.created_at))
    assert Subscription("s1", "e", "c", None, (), "daily", "pending", T0).confirmed_at is None


def test_company_search_default_is_a_fresh_dict_and_none_is_kept() -> None:
    # GIVEN companies built without ``search`` THEN each gets its own empty dict; an explicit None stays None
    a, b = Company("a", "A", {"x": ("a",)}), Company("b", "B", {"x": ("b",)})
    assert a.search == {} and a.search is not b.search
    assert Company("a", "A", {"x": ("a",)}, search=None).search is None
    assert models.Company is Company
