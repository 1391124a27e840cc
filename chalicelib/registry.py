"""The company registry: which companies are tracked and which accounts answer for them.

Read from ``companies.toml`` (``FAIR_REPLY_COMPANIES`` overrides the path). The whole file is
validated before anything is returned, and every problem is reported at once, so that an operator
fixes a bad registry in one go and the app never starts half-loaded.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from chalicelib.domain.models import PLATFORMS, SLUG_RE, Company
from chalicelib.errors import RegistryError

_KNOWN_KEYS = {"name", "sector", "sla_minutes", "handles", "email_domains", "search", "sample", "retired"}
MAX_SLA_MINUTES = 30 * 24 * 60


def load_registry(path: str | Path, cache: str | Path | None = None) -> dict[str, Company]:
    """Load and validate a registry file; raise :class:`RegistryError` listing every problem.

    With ``cache`` (a writable JSON file's path), the parsed document is reused while the registry file's text
    is exactly the one it was parsed from: first from :func:`precompiled_path` beside the file (``make package``
    can ship one, see :func:`write_precompiled`), then from ``cache``, which is rewritten on a miss. A cold
    Lambda then skips ``tomllib`` (importing it compiles its regular expressions: about 5 ms). A cache holds
    the document before validation, so a cached registry is validated, and fails, exactly as a parsed one.
    """
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError as exc:
        raise RegistryError(f"{path}: company registry not found") from exc
    raw = None
    if cache is not None:
        raw = _cached_document(precompiled_path(path), text)
        if raw is None:
            raw = _cached_document(cache, text)
    if raw is None:
        raw = _parse_toml(text, path)
        if cache is not None:
            _write_cache(cache, text, raw)
    return parse_registry(raw, source=str(path))


def _parse_toml(text: str, path: Path) -> dict[str, Any]:
    import tomllib  # here, not at the top: requests read the registry from the cache, and the admin API needs no file

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"{path}: not valid TOML: {exc}") from exc


#: Bump when the cache's layout changes; older caches are then ignored and rewritten.
CACHE_FORMAT = 1
#: The writable cache's name in the data directory (``FAIR_REPLY_DATA_DIR``), where the app keeps it.
CACHE_FILE = "registry-cache.json"


def precompiled_path(path: str | Path) -> Path:
    """Where a precompiled registry for ``path`` is looked for: beside it, ``companies.toml`` → ``companies.registry.json``.

    Beside the file because Chalice packages ``chalicelib/`` (where the registry travels) and nothing else.
    """
    path = Path(path)
    return path.with_name(f"{path.stem}.registry.json")


def write_precompiled(path: str | Path) -> Path:
    """Validate the registry at ``path`` and write its precompiled form beside it (for ``make package``).

    Raises :class:`RegistryError` for an invalid registry, and ValueError if its document cannot be cached
    (JSON does not keep TOML dates and times).
    """
    path = Path(path)
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    raw = _parse_toml(text, path)
    parse_registry(raw, source=str(path))
    target = precompiled_path(path)
    if not _write_cache(target, text, raw):
        raise ValueError(f"{path}: this registry cannot be precompiled to {target}")
    return target


def _cached_document(cache: str | Path, text: str) -> dict[str, Any] | None:
    """The cached document of ``text``, or None (no cache, unreadable, another format, or another text)."""
    import json

    try:
        with open(cache, encoding="utf-8") as handle:
            doc = json.load(handle)
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("format") != CACHE_FORMAT or doc.get("source") != text:
        return None
    document = doc.get("document")
    return document if isinstance(document, dict) else None


def _write_cache(cache: str | Path, text: str, raw: dict[str, Any]) -> bool:
    """Best effort: a read-only or missing directory only means the next cold start parses the TOML again.

    Only documents JSON gives back unchanged are cached (TOML dates, say, are not: they stay uncached). The
    file is written beside the cache and renamed over it, so a concurrent reader sees the old or the new one.
    """
    import json
    import os

    try:
        body = json.dumps({"format": CACHE_FORMAT, "source": text, "document": raw}, allow_nan=False)
    except (TypeError, ValueError):
        return False
    if json.loads(body)["document"] != raw:
        return False
    tmp = f"{cache}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(body)
        os.replace(tmp, cache)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        return False
    return True


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
