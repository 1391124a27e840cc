"""Tracked companies as the API sees them: the file registry with the admin API's changes laid over it.

Admin changes live in the store (one small snapshot, ``registry:admin``), not in ``companies.toml``, so a
deployed Lambda can add, change and retire companies without a redeploy. DELETE only retires: a retired
company is no longer polled or ranked, but its history stays queryable. Changes are read-modify-write of
that one document; admin edits are rare and made by one operator at a time.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from chalicelib.api.errors import BadParameter, Forbidden, NotFound

if TYPE_CHECKING:
    from chalicelib.domain.models import Company
    from chalicelib.store.base import Store

ADMIN_KEY = "registry:admin"
_FIELD_RE = re.compile(r"field '([^']+)'")


def admin_entries(store: Store) -> dict[str, dict[str, Any]]:
    found = store.get_snapshot(ADMIN_KEY)
    return dict(found[0].get("companies", {})) if found else {}


def tracked_companies(store: Store, registry: Mapping[str, Company]) -> dict[str, Company]:
    """Every company the API knows, retired ones included; an admin entry replaces the file's entry."""
    from chalicelib.errors import RegistryError
    from chalicelib.registry import validate_company

    merged = dict(registry)
    for slug, entry in admin_entries(store).items():
        try:
            merged[slug] = validate_company(slug, entry)
        except RegistryError:  # validated when written; a hand-edited store must not take the API down
            continue
    return merged


def entry_of(company: Company) -> dict[str, Any]:
    """A company as a ``companies.toml`` entry (the shape the admin API accepts)."""
    entry: dict[str, Any] = {
        "name": company.name,
        "handles": {p: list(h) for p, h in company.handles.items()},
        "sample": company.sample,
        "retired": company.retired,
    }
    if company.sector is not None:
        entry["sector"] = company.sector
    if company.sla_minutes is not None:
        entry["sla_minutes"] = company.sla_minutes
    if company.email_domains:
        entry["email_domains"] = list(company.email_domains)
    if company.search:
        entry["search"] = {p: list(s) for p, s in company.search.items()}
    return entry


def _field_of(message: str) -> str:
    found = _FIELD_RE.search(message)
    return found.group(1) if found else "body"


def _check_handles(company: Company, others: Mapping[str, Company]) -> None:
    """A handle may answer for one live company only, or its complaints would be counted twice."""
    for other in others.values():
        if other.slug == company.slug or other.retired:
            continue
        for platform in company.handles:
            shared = company.handles_on(platform) & other.handles_on(platform)
            if shared:
                raise BadParameter(
                    f"field 'handles.{platform}': '{sorted(shared)[0]}' is already a handle of '{other.slug}'",
                    f"handles.{platform}",
                    code="invalid_field",
                )


def put_company(
    store: Store, registry: Mapping[str, Company], slug: str, entry: Any, now: datetime
) -> tuple[Company, bool]:
    """Add or replace a company from a ``companies.toml``-shaped entry; return (company, created)."""
    from chalicelib.errors import RegistryError
    from chalicelib.registry import validate_company

    if not isinstance(entry, Mapping):
        raise BadParameter("the request body must be a JSON object (a companies.toml entry)", "body", "invalid_field")
    try:
        company = validate_company(slug, entry)
    except RegistryError as exc:
        raise BadParameter(str(exc), _field_of(str(exc)), code="invalid_field") from exc
    current = tracked_companies(store, registry)
    _check_handles(company, current)
    entries = admin_entries(store)
    entries[slug] = entry_of(company)
    store.put_snapshot(ADMIN_KEY, {"companies": entries}, now)
    return company, slug not in current


def retire_company(store: Store, registry: Mapping[str, Company], slug: str, now: datetime) -> Company:
    """Mark a company retired (idempotent); its snapshots and complaints are kept."""
    from dataclasses import replace

    current = tracked_companies(store, registry)
    if slug not in current:
        raise NotFound(f"no company {slug!r}", "slug")
    company = replace(current[slug], retired=True)
    entries = admin_entries(store)
    entries[slug] = entry_of(company)
    store.put_snapshot(ADMIN_KEY, {"companies": entries}, now)
    return company


def on_aws(env: Mapping[str, str] | None = None) -> bool:
    env = os.environ if env is None else env
    return bool(env.get("AWS_LAMBDA_FUNCTION_NAME"))


def check_caller(context: Mapping[str, Any] | None, env: Mapping[str, str] | None = None) -> None:
    """On AWS the IAM authorizer has already vouched for the caller; locally only loopback may administer.

    Fair Reply's local server (:mod:`chalicelib.local`) puts the real TCP peer in ``sourceIp`` (chalice alone
    says 127.0.0.1 for everyone), so this check is the guard even when the server listens on 0.0.0.0.
    """
    if on_aws(env):
        return
    source = ((context or {}).get("identity") or {}).get("sourceIp") or ""
    try:
        loopback = ipaddress.ip_address(source).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise Forbidden("admin routes are only served to loopback callers locally", None)
