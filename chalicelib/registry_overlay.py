"""Companies an archive import discovered (``import --all-companies``), laid over ``companies.toml``.

Kept apart from :mod:`chalicelib.jobs.importer` because every request reads the registry: serving one must
not import the archive parsers and, through them, ``requests`` and Powertools.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from chalicelib.domain.models import Company
    from chalicelib.store.base import Store

DISCOVERED_KEY = "registry:discovered"  # snapshot of companies registered by ``--all-companies``


def discovered_companies(store: Store, registry: Mapping[str, Company] | None = None) -> dict[str, Company]:
    """Companies registered by ``import --all-companies``, to be merged with ``companies.toml``.

    When ``registry`` is given, a discovered company whose slug or handle the registry already has is left
    out: the operator's file wins, and a handle never answers for two companies.
    """
    from chalicelib.registry import validate_company

    found = store.get_snapshot(DISCOVERED_KEY)
    if found is None:
        return {}
    registry = registry or {}
    owned = {(p, h) for c in registry.values() for p in c.handles for h in c.handles_on(p)}
    result: dict[str, Company] = {}
    for slug, entry in sorted(found[0].get("companies", {}).items()):
        company = validate_company(slug, entry)
        if slug in registry or any((p, h) in owned for p in company.handles for h in company.handles_on(p)):
            continue
        result[slug] = company
    return result
