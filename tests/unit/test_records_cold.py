"""Records without ``dataclasses`` at import, and what ``import app`` loads for a cold first request.

:mod:`chalicelib.domain.records` gives the record types every ``dataclasses`` behaviour without importing
``dataclasses`` (and ``inspect``) until something asks for it; :func:`chalicelib.runtime.preload` imports the
modules nearly every route needs when the app is imported. tests/unit/test_models_prebuilt.py compares the
domain records with generated twins; this file covers the store's records and what the base class adds.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import os
import pickle
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from chalicelib.domain import records
from chalicelib.domain.models import Company, Complaint, Reply, ReplyKind, Tier
from chalicelib.store.base import ComplaintFilter, Page
from tests.conftest import REPO_ROOT

T0 = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
COMPLAINT = Complaint("x", "p1", "acme-air", "42", "jo", T0, Tier.ORDINARY)
REPLY = Reply("x", "r1", "p1", "acme-air", "AcmeAirHelp", T0, ReplyKind.DEFLECTION)


def _twin(cls: type) -> type:
    """What ``@dataclass(frozen=True, slots=True)`` generates for ``cls``'s fields."""
    specs: list[Any] = []
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            specs.append((f.name, f.type, dataclasses.field(default=f.default)))
        else:
            specs.append((f.name, f.type))
    return dataclasses.make_dataclass(cls.__name__, specs, frozen=True, slots=True)


@pytest.mark.parametrize(
    ("cls", "args"),
    [(Page, ([COMPLAINT], "c1")), (Page, ([], None)), (ComplaintFilter, ("x", "notable", False, "praise")),
     (ComplaintFilter, ())],
    ids=["page", "last-page", "filter", "filter-defaults"],
)
def test_store_records_behave_as_their_generated_twins(cls: type, args: tuple[Any, ...]) -> None:
    # GIVEN a store record and the dataclass generated from its fields, built from the same arguments
    ours, theirs = cls(*args), _twin(cls)(*args)
    # THEN values, repr, match args and (where hashable) hash agree, and the record stays frozen and slotted
    assert dataclasses.astuple(ours) == dataclasses.astuple(theirs) and repr(ours) == repr(theirs)
    assert cls.__match_args__ == _twin(cls).__match_args__
    try:
        expected: Any = hash(theirs)
    except TypeError:
        with pytest.raises(TypeError):
            hash(ours)
    else:
        assert hash(ours) == expected
    assert ours == cls(*args) and ours != theirs
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(ours, dataclasses.fields(cls)[0].name, "changed")
    assert not hasattr(ours, "__dict__") and cls.__dataclass_params__.frozen


def test_records_replace_agrees_with_dataclasses_replace() -> None:
    # GIVEN a record WHEN one copy is made by each replace THEN they agree, and the original is untouched
    ours = records.replace(COMPLAINT, first_reply=REPLY, deleted=True)
    assert ours == dataclasses.replace(COMPLAINT, first_reply=REPLY, deleted=True)
    assert ours.first_reply is REPLY and ours.deleted and not COMPLAINT.deleted
    # AND the hooks of __init__ still run (a naive time becomes UTC, as dataclasses.replace would do too)
    naive = records.replace(COMPLAINT, created_at=datetime(2024, 5, 1, 12, 30))
    assert naive.created_at == T0 and naive.created_at.tzinfo is UTC
    # AND an unknown field is refused by both
    for replace in (records.replace, dataclasses.replace):
        with pytest.raises(TypeError):
            replace(COMPLAINT, colour="red")


def test_deleting_a_field_is_refused_and_copies_are_equal() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        del COMPLAINT.text
    company = Company("acme-air", "Acme Air", {"x": ("AcmeAirHelp",)}, search={"x": ("acme",)})
    for made in (copy.copy(company), copy.deepcopy(company), pickle.loads(pickle.dumps(company))):
        assert made == company and made is not company


def test_dataclasses_sees_records_and_only_records() -> None:
    # GIVEN the record machinery THEN dataclasses recognises record classes, but neither the base nor a plain class
    assert dataclasses.is_dataclass(Company) and dataclasses.is_dataclass(COMPLAINT)
    assert not dataclasses.is_dataclass(records.Record)
    assert [f.name for f in dataclasses.fields(Company)][:3] == ["slug", "name", "handles"]
    assert dataclasses.fields(Company)[6].default_factory is dict  # ``search`` is built per instance


def test_a_record_cannot_extend_a_record() -> None:
    with pytest.raises(TypeError, match="cannot extend"):

        @records.record
        class Wider(Page):  # type: ignore[misc]
            extra: int = 0


def _child(code: str, **env: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, check=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT), **env},
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


_IMPORT_APP = """
import json, sys
import app
print(json.dumps(sorted(sys.modules)))
"""
#: Never at ``import app``: code generation, the TOML parser, OpenSSL, the AWS SDK, the DynamoDB backend.
NEVER_AT_IMPORT = ("dataclasses", "inspect", "tomllib", "hashlib", "hmac", "boto3", "botocore",
                   "chalicelib.store.dynamodb")


@pytest.mark.parametrize("store", ["sqlite", "dynamodb"])
def test_import_app_preloads_the_request_path_but_nothing_heavy(store: str) -> None:
    # GIVEN a fresh interpreter configured for one store WHEN it imports the app
    loaded = set(_child(_IMPORT_APP, FAIR_REPLY_STORE=store))
    # THEN the modules every request needs are loaded, the configured backend's only, and nothing heavy
    assert {"chalicelib.config", "chalicelib.registry", "chalicelib.domain.models", "chalicelib.store.base"} <= loaded
    assert ("chalicelib.store.sqlite" in loaded) == ("sqlite3" in loaded) == (store == "sqlite")
    assert [m for m in NEVER_AT_IMPORT if m in loaded] == []


_FIRST_REGISTRY_READ = """
import json, sys
import app
from chalicelib import runtime
companies = runtime.registry()
print(json.dumps({"companies": sorted(companies), "tomllib": "tomllib" in sys.modules}))
"""


def test_a_cold_process_reads_the_registry_without_the_toml_parser(isolated_env: Path) -> None:
    # GIVEN a registry whose cache an earlier process left in the data dir
    env = {k: os.environ[k] for k in ("FAIR_REPLY_DATA_DIR", "FAIR_REPLY_COMPANIES", "FAIR_REPLY_STORE")}
    (isolated_env / "data").mkdir()
    first = _child(_FIRST_REGISTRY_READ, **env)
    # WHEN a new cold process reads the registry
    second = _child(_FIRST_REGISTRY_READ, **env)
    # THEN it has the same companies, and never imported tomllib (the first one had to)
    assert first["companies"] == second["companies"] == ["acme-air", "bolt-bank"]
    assert first["tomllib"] and not second["tomllib"]
