"""The company registry: which companies are tracked and which accounts answer for them.

Read from ``companies.toml`` (``FAIR_REPLY_COMPANIES`` overrides the path). The whole file is
validated before anything is returned, and every problem is reported at once, so that an operator
fixes a bad registry in one go and the app never starts half-loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from chalicelib.domain.models import PLATFORMS, SLUG_RE, Company
from chalicelib.errors import RegistryError

_KNOWN_KEYS = {"name", "sector", "sla_minutes", "handles", "email_domains", "search", "sample", "retired"}
MAX_SLA_MINUTES = 30 * 24 * 60


def load_registry(path: str | Path) -> dict[str, Company]:
    """Load and validate a registry file; raise :class:`RegistryError` listing every problem."""
    import tomllib  # here, not at the top: the admin API and the OpenAPI document use this module without a file

    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RegistryError(f"{path}: company registry not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"{path}: not valid TOML: {exc}") from exc
    return parse_registry(raw, source=str(path))


def parse_registry(raw: Mapping[str, Any], source: str = "<registry>") -> dict[str, Company]:
    """Validate an already-parsed registry document."""
    problems: list[str] = []
    unknown_top = set(raw) - {"companies"}
    if unknown_top:
        problems.append(f"{source}: unknown top-level key(s) {sorted(unknown_top)}; expected [companies.<slug>]")
    table = raw.get("companies", {})
    if not isinstance(table, Mapping):
        raise RegistryError(f"{source}: 'companies' must be a table of [companies.<slug>] sections")
    companies: dict[str, Company] = {}
    for slug, entry in table.items():
        errors: list[str] = []
        company = _parse_company(slug, entry, errors)
        problems.extend(f"{source}: company '{slug}': {e}" for e in errors)
        if company is not None and not errors:
            companies[slug] = company
    problems.extend(_duplicate_handles(companies.values(), source))
    if problems:
        raise RegistryError("invalid company registry:\n  " + "\n  ".join(problems))
    return companies


def validate_company(slug: str, entry: Mapping[str, Any]) -> Company:
    """Validate one company entry (the admin API uses the same rules as the file)."""
    errors: list[str] = []
    company = _parse_company(slug, entry, errors)
    if errors or company is None:
        raise RegistryError(f"company '{slug}': " + "; ".join(errors))
    return company


def _parse_company(slug: str, entry: Any, errors: list[str]) -> Company | None:
    if not SLUG_RE.match(slug):
        errors.append("field 'slug': use lowercase letters, digits and single hyphens")
    if not isinstance(entry, Mapping):
        errors.append("must be a table")
        return None
    for key in sorted(set(entry) - _KNOWN_KEYS):
        errors.append(f"field '{key}': unknown field")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        errors.append("field 'name': required, a non-empty string")
    sector = entry.get("sector")
    if sector is not None and not isinstance(sector, str):
        errors.append("field 'sector': must be a string")
    sla = entry.get("sla_minutes")
    if sla is not None and (isinstance(sla, bool) or not isinstance(sla, int) or not 1 <= sla <= MAX_SLA_MINUTES):
        errors.append(f"field 'sla_minutes': must be a whole number of minutes from 1 to {MAX_SLA_MINUTES}")
    handles = _platform_lists(entry.get("handles"), "handles", errors, required=True)
    search = _platform_lists(entry.get("search", {}), "search", errors, required=False)
    domains = entry.get("email_domains", [])
    if not isinstance(domains, list) or not all(isinstance(d, str) and "." in d and "@" not in d for d in domains):
        errors.append("field 'email_domains': must be a list of domain names like \"acme.example\"")
        domains = []
    for flag in ("sample", "retired"):
        if not isinstance(entry.get(flag, False), bool):
            errors.append(f"field '{flag}': must be true or false")
    if errors:
        return None
    return Company(
        slug=slug,
        name=name.strip(),
        handles=handles,
        sector=sector,
        sla_minutes=sla,
        email_domains=tuple(d.lower() for d in domains),
        search=search,
        sample=bool(entry.get("sample", False)),
        retired=bool(entry.get("retired", False)),
    )


def _platform_lists(value: Any, field: str, errors: list[str], required: bool) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, Mapping):
        errors.append(f"field '{field}': must be a table of platform = [\"...\"] lists")
        return {}
    result: dict[str, tuple[str, ...]] = {}
    for platform, items in value.items():
        if platform not in PLATFORMS:
            errors.append(f"field '{field}.{platform}': unknown platform; use one of {', '.join(PLATFORMS)}")
            continue
        if not isinstance(items, list) or not items or not all(isinstance(h, str) and h.strip() for h in items):
            errors.append(f"field '{field}.{platform}': must be a non-empty list of non-empty strings")
            continue
        result[platform] = tuple(h.strip().lstrip("@") if field == "handles" else h.strip() for h in items)
    if required and not result and not any(e.startswith(f"field '{field}") for e in errors):
        errors.append(f"field '{field}': at least one platform handle is required")
    return result


def _duplicate_handles(companies: Iterable[Company], source: str) -> list[str]:
    """A handle may answer for one company only, or complaints would be counted twice."""
    owner: dict[tuple[str, str], str] = {}
    problems = []
    for company in companies:
        for platform in company.handles:
            for handle in company.handles_on(platform):
                other = owner.setdefault((platform, handle), company.slug)
                if other != company.slug:
                    problems.append(
                        f"{source}: company '{company.slug}': field 'handles.{platform}': "
                        f"'{handle}' is already a handle of '{other}'"
                    )
    return problems
