"""The parsed-registry cache: reused only while the TOML text is exactly the one it was parsed from.

A cold request reads the registry from a JSON cache instead of importing ``tomllib``; these tests check that
the cache can never serve a registry other than the file's, and that a broken or unwritable cache only costs
a parse.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from chalicelib import registry as registry_module
from chalicelib.errors import RegistryError
from chalicelib.registry import CACHE_FILE, load_registry, precompiled_path, write_precompiled

GOOD = """
[companies.acme-air]
name = "Acme Air"
sector = "airline"
sla_minutes = 60
search = { x = ["acme air"] }
[companies.acme-air.handles]
x = ["AcmeAirHelp", "@AcmeAir"]
"""


def _no_toml(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any TOML parse fail loudly, so a test can tell a cache hit from a parse."""

    def refuse(text: str, path: Path) -> None:
        raise AssertionError("the TOML was parsed although a valid cache existed")

    monkeypatch.setattr(registry_module, "_parse_toml", refuse)


def _registry(tmp_path: Path, text: str = GOOD) -> Path:
    path = tmp_path / "companies.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_cached_registry_equals_the_parsed_one_and_skips_the_parse(tmp_path: Path, monkeypatch) -> None:
    # GIVEN a registry loaded once with a cache
    path, cache = _registry(tmp_path), tmp_path / CACHE_FILE
    first = load_registry(path, cache=cache)
    # WHEN it is loaded again with TOML parsing made impossible
    _no_toml(monkeypatch)
    again = load_registry(path, cache=cache)
    # THEN the cache served it, and it equals the registry loaded without any cache
    monkeypatch.undo()
    assert cache.exists() and again == first == load_registry(path)
    assert again["acme-air"].handles["x"] == ("AcmeAirHelp", "AcmeAir")


def test_an_edit_with_the_same_size_and_mtime_is_seen(tmp_path: Path) -> None:
    # GIVEN a cached registry
    path, cache = _registry(tmp_path), tmp_path / CACHE_FILE
    load_registry(path, cache=cache)
    stat = os.stat(path)
    # WHEN the file is rewritten with text of the same length and its mtime is put back
    edited = GOOD.replace("Acme Air", "Acme Aer")
    assert len(edited) == len(GOOD)
    path.write_text(edited, encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    # THEN the new text is what loads (the cache is keyed by the text, not by file metadata), and is re-cached
    assert load_registry(path, cache=cache)["acme-air"].name == "Acme Aer"
    assert json.loads(cache.read_text(encoding="utf-8"))["source"] == edited


def test_an_invalid_registry_fails_the_same_from_the_cache(tmp_path: Path, monkeypatch) -> None:
    # GIVEN valid TOML that is an invalid registry (an unknown field), loaded once with a cache
    path, cache = _registry(tmp_path, GOOD + 'colour = "red"\n'), tmp_path / CACHE_FILE
    with pytest.raises(RegistryError) as parsed:
        load_registry(path, cache=cache)
    # WHEN it is loaded again from the cache THEN it is refused with the same message
    _no_toml(monkeypatch)
    with pytest.raises(RegistryError) as cached:
        load_registry(path, cache=cache)
    assert str(cached.value) == str(parsed.value) and "colour" in str(parsed.value)


def test_invalid_toml_is_reported_and_not_cached(tmp_path: Path) -> None:
    path, cache = _registry(tmp_path, "[companies.acme-air\nname = 1"), tmp_path / CACHE_FILE
    with pytest.raises(RegistryError, match="not valid TOML"):
        load_registry(path, cache=cache)
    assert not cache.exists()


def test_a_document_json_cannot_keep_is_not_cached(tmp_path: Path) -> None:
    # GIVEN a registry holding a TOML date (JSON would turn it into a string, and so change the validation)
    path, cache = _registry(tmp_path, GOOD.replace('sector = "airline"', "sector = 1979-05-27")), tmp_path / CACHE_FILE
    # WHEN it is loaded THEN it fails as a date, and nothing is cached that could later pass as a string
    for _ in range(2):
        with pytest.raises(RegistryError, match="'sector': must be a string"):
            load_registry(path, cache=cache)
    assert not cache.exists()


@pytest.mark.parametrize("content", ["not json", '{"format": 999, "source": "x", "document": {}}', "[]"])
def test_a_broken_or_foreign_cache_is_ignored_and_replaced(tmp_path: Path, content: str) -> None:
    path, cache = _registry(tmp_path), tmp_path / CACHE_FILE
    cache.write_text(content, encoding="utf-8")
    assert load_registry(path, cache=cache) == load_registry(path)
    assert json.loads(cache.read_text(encoding="utf-8"))["source"] == GOOD


def test_a_cache_that_cannot_be_written_only_costs_a_parse(tmp_path: Path) -> None:
    # GIVEN a cache path in a directory that does not exist (as on a read-only Lambda file system)
    path, cache = _registry(tmp_path), tmp_path / "missing" / CACHE_FILE
    # WHEN the registry is loaded THEN it loads, and no stray temporary file is left behind
    assert load_registry(path, cache=cache) == load_registry(path)
    assert not cache.parent.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["companies.toml"]


def test_a_precompiled_registry_beside_the_file_is_used_while_current(tmp_path: Path, monkeypatch) -> None:
    # GIVEN a registry precompiled beside its file (what ``make package`` would ship) and no writable cache
    path = _registry(tmp_path)
    written = write_precompiled(path)
    assert written == precompiled_path(path) == tmp_path / "companies.registry.json"
    cache = tmp_path / "elsewhere" / CACHE_FILE
    # WHEN it is loaded without the TOML parser THEN the precompiled copy serves it
    _no_toml(monkeypatch)
    assert load_registry(path, cache=cache)["acme-air"].sla_minutes == 60
    monkeypatch.undo()
    # AND once the file changes, the stale precompiled copy is ignored
    path.write_text(GOOD.replace("sla_minutes = 60", "sla_minutes = 90"), encoding="utf-8")
    assert load_registry(path, cache=cache)["acme-air"].sla_minutes == 90


def test_an_invalid_registry_is_not_precompiled(tmp_path: Path) -> None:
    path = _registry(tmp_path, GOOD + 'colour = "red"\n')
    with pytest.raises(RegistryError):
        write_precompiled(path)
    assert not precompiled_path(path).exists()


def test_the_app_keeps_its_cache_in_the_data_dir(isolated_env: Path) -> None:
    # GIVEN the app's settings (conftest points the data dir and registry into tmp_path)
    from chalicelib import runtime

    data = isolated_env / "data"
    data.mkdir()
    # WHEN the registry is read twice, across a reset (a new cold start)
    first = runtime.registry()
    runtime.reset()
    # THEN the second read comes from the cache the first one wrote into the data dir
    assert (data / CACHE_FILE).exists()
    assert runtime.registry() == first and set(first) == {"acme-air", "bolt-bank"}
