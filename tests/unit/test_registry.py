from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.errors import RegistryError
from chalicelib.registry import load_registry, parse_registry

GOOD = """
[companies.acme-air]
name = "Acme Air"
sector = "airline"
sla_minutes = 60
[companies.acme-air.handles]
x = ["AcmeAirHelp", "@AcmeAir"]
mastodon = ["help@acme.example"]
"""


def test_reads_the_documented_shape(tmp_path: Path) -> None:
    # GIVEN the registry shape from the README
    path = tmp_path / "companies.toml"
    path.write_text(GOOD)
    # WHEN it is loaded
    companies = load_registry(path)
    # THEN handles are normalised per platform and ownership is case-insensitive
    acme = companies["acme-air"]
    assert acme.name == "Acme Air" and acme.sla_minutes == 60 and acme.sector == "airline"
    assert acme.handles["x"] == ("AcmeAirHelp", "AcmeAir")
    assert acme.owns("x", "@acmeairhelp") and not acme.owns("mastodon", "AcmeAirHelp")


def test_the_bundled_registry_is_valid_and_only_has_sample_companies() -> None:
    companies = load_registry(Path(__file__).resolve().parents[2] / "companies.toml")
    assert companies and all(c.sample and "(sample)" in c.name for c in companies.values())


@pytest.mark.parametrize(
    ("entry", "field"),
    [
        ('name = ""\n[companies.x-co.handles]\nx = ["a"]', "name"),
        ('name = "X"\nsla_minutes = 0\n[companies.x-co.handles]\nx = ["a"]', "sla_minutes"),
        ('name = "X"\nsla_minutes = "60"\n[companies.x-co.handles]\nx = ["a"]', "sla_minutes"),
        ('name = "X"\n[companies.x-co.handles]\nmyspace = ["a"]', "handles.myspace"),
        ('name = "X"\n[companies.x-co.handles]\nx = []', "handles.x"),
        ('name = "X"\ncolour = "red"\n[companies.x-co.handles]\nx = ["a"]', "colour"),
        ('name = "X"', "handles"),
        ('name = "X"\nemail_domains = ["not a domain"]\n[companies.x-co.handles]\nx = ["a"]', "email_domains"),
    ],
)
def test_invalid_entries_name_file_company_and_field(tmp_path: Path, entry: str, field: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[companies.x-co]\n" + entry)
    with pytest.raises(RegistryError) as err:
        load_registry(path)
    message = str(err.value)
    assert str(path) in message and "'x-co'" in message and f"'{field}'" in message


def test_bad_slug_is_rejected() -> None:
    with pytest.raises(RegistryError, match="slug"):
        parse_registry({"companies": {"Acme Air": {"name": "A", "handles": {"x": ["a"]}}}})


def test_every_problem_is_reported_and_nothing_is_half_loaded() -> None:
    raw = {
        "companies": {
            "good": {"name": "Good", "handles": {"x": ["good"]}},
            "bad-one": {"name": "", "handles": {"x": ["b"]}},
            "bad-two": {"name": "B2", "sla_minutes": -5, "handles": {"x": ["c"]}},
        }
    }
    with pytest.raises(RegistryError) as err:
        parse_registry(raw)
    assert "'bad-one'" in str(err.value) and "'bad-two'" in str(err.value)


def test_a_handle_cannot_belong_to_two_companies() -> None:
    raw = {
        "companies": {
            "one": {"name": "One", "handles": {"x": ["Shared"]}},
            "two": {"name": "Two", "handles": {"x": ["shared"]}},
        }
    }
    with pytest.raises(RegistryError, match="already a handle"):
        parse_registry(raw)


def test_missing_file_and_broken_toml_are_clear(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="not found"):
        load_registry(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[companies.a\nname=")
    with pytest.raises(RegistryError, match="not valid TOML"):
        load_registry(broken)
