"""``python -m chalicelib import``: bring a twarc2 JSONL or TWCS CSV archive into the store.

Archives go through the same :class:`~chalicelib.jobs.ingest.Ingestor` as live polls, one batch at a time,
so a complaint is paired the same way whichever way it arrived, memory stays flat on multi-gigabyte files,
and a re-run stores nothing twice (posts and complaints are keyed upserts). What an archive adds is the
*observation horizon*: the archive says nothing about what happened after its last post (or after an
explicit ``--observed-until``), so unanswered complaints are censored there, never at "now".

There is one horizon per archive, not per company. Each archive gets its own source key,
``archive:{digest}`` (:func:`archive_source`), stamped on its complaints (``Complaint.source``) and used as
the horizon key of every company it holds complaints for; the aggregate censors each source at its own
horizon. One shared key would let a later archive's end censor an earlier archive's unanswered complaints
months after anybody looked at them. The digest is of the file's bytes, not its name: a re-run of the same
file, or a copy under another name, lands on the same key (and the same complaints), so nothing is counted
twice and the horizon is the same. A complaint that two archives hold keeps the source it was first stored
with (the store never rewrites ``source``): it is censored at the end of an archive that did observe it.
The API's ``meta.coverage`` lists every key with its horizon, so readers see one row per archive. Stores
written before this hold the *legacy* key ``archive`` (:data:`ARCHIVE_SOURCE` alone), one horizon per
company; those complaints keep it and are censored as before.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import logging
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from chalicelib.domain.models import Account, Company, Post, normalise_handle
from chalicelib.domain.tiers import DEFAULT_THRESHOLDS, TierThresholds
from chalicelib.registry_overlay import DISCOVERED_KEY, discovered_companies
from chalicelib.sources.archives import (
    ArchivedPost,
    ArchiveSummary,
    company_accounts,
    iter_twarc2,
    iter_twcs,
    load_authors_file,
)

if TYPE_CHECKING:
    from chalicelib.store.base import Store

__all__ = [
    "ARCHIVE_SOURCE",
    "DISCOVERED_KEY",
    "FORMATS",
    "ArchiveImportError",
    "CompanyTally",
    "ImportReport",
    "archive_source",
    "discovered_companies",
    "format_report",
    "import_archive",
    "is_archive_source",
    "register",
]

FORMATS: tuple[str, ...] = ("twarc2", "twcs")
ARCHIVE_SOURCE = "archive"  # prefix of every archive's source key; alone, the legacy key (one horizon per company)
PLATFORM = "x"
Progress = Callable[[str, int], None]  # (phase, bytes read so far)
_DIGEST_BYTES = 8  # 16 hex digits: a collision between one researcher's archives is not a practical concern
_DIGEST_CHUNK = 1 << 20


class ArchiveImportError(ValueError):
    """Input the import cannot start with (missing file, unknown format, options that do not apply)."""


@dataclass(frozen=True, slots=True)
class CompanyTally:
    """What the store holds for one company from archives, within the archive's time span, after the import.

    ``inbound`` counts every post addressed to the company that opened a conversation (any category);
    ``complaints`` only those classified as complaints and not deleted (what the statistics use);
    ``answered`` those complaints with a company reply; ``tiers`` splits ``complaints`` by audience tier.
    """

    inbound: int = 0
    complaints: int = 0
    answered: int = 0
    tiers: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ImportReport:
    """The summary a researcher reads after an import (and the numbers a test checks).

    ``read`` counts records (lines or CSV rows), ``imported`` the posts handed to the store, ``new_posts``
    those not stored before (0 on a re-run), ``skipped`` the records or posts left out, by reason.
    ``source`` is the archive's key (:func:`archive_source`): its complaints' source and its horizon's key.
    """

    path: str
    fmt: str
    read: int
    imported: int
    new_posts: int
    skipped: Mapping[str, int]
    companies: Mapping[str, CompanyTally]
    horizon: datetime | None
    earliest_post_at: datetime | None
    latest_post_at: datetime | None
    registered: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    source: str = ""

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())


# --- the pipeline ----------------------------------------------------------------------------------------------


def archive_source(path: str | Path, *, progress: Progress | None = None) -> str:
    """The archive's source key, ``archive:{digest}``: a BLAKE2b digest of the file's bytes, read 1 MiB at a time.

    Content, not the file's name or path: importing the same file again, or a copy under another name, must
    land on the same key, or its complaints would stay under the first key while the horizon went to a
    second. Hashing costs one sequential read, small next to parsing every record. ``progress`` gets
    ``("digest", bytes_read)``.
    """
    digest = hashlib.blake2b(digest_size=_DIGEST_BYTES)
    with Path(path).open("rb") as fp:
        while chunk := fp.read(_DIGEST_CHUNK):
            digest.update(chunk)
            if progress is not None:
                progress("digest", fp.tell())
    return f"{ARCHIVE_SOURCE}:{digest.hexdigest()}"


def is_archive_source(source: str) -> bool:
    """True for an archive's key and for the legacy key ``archive``, False for live sources (``x``, …)."""
    return source == ARCHIVE_SOURCE or source.startswith(f"{ARCHIVE_SOURCE}:")


def import_archive(
    path: str | Path,
    *,
    fmt: str,
    store: Store,
    companies: Mapping[str, Company],
    thresholds: TierThresholds = DEFAULT_THRESHOLDS,
    observed_until: datetime | None = None,
    all_companies: bool = False,
    authors: Mapping[str, int] | None = None,
    batch_size: int = 5000,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> ImportReport:
    """Import one archive file into ``store``, attributing posts to ``companies``.

    Parameters
    ----------
    path
        The archive; read in binary mode, one record at a time.
    fmt
        ``"twarc2"`` or ``"twcs"``.
    companies
        The registry; posts addressed to these companies' handles become their complaints.
    observed_until
        End of the observation, if the collector knows it; default: the archive's latest post.
        Several archives of one company each keep their own horizon (see the module docstring).
    all_companies
        TWCS only: also register every company account (author of an outbound row) the archive reveals,
        persisted so that :func:`discovered_companies` returns them.
    authors
        TWCS only: follower counts by ``author_id`` (:func:`chalicelib.sources.archives.load_authors_file`);
        without them every complaint's tier is unknown.
    batch_size
        Posts stored and paired per batch: the only posts held in memory at once.
    progress
        Called with ``(phase, bytes_read)`` after each chunk or batch; phase is ``"digest"``, ``"scan"`` or
        ``"import"``.
    now
        When discovered companies are recorded (default: the clock).

    Returns
    -------
    ImportReport

    Raises
    ------
    ArchiveImportError
        Missing file, unknown format, or ``all_companies``/``authors`` with a format that cannot use them.
    """
    path = Path(path)
    _check_input(path, fmt, all_companies=all_companies, authors=authors)
    if batch_size < 1:
        raise ArchiveImportError(f"batch_size={batch_size}: must be at least 1")
    source = archive_source(path, progress=progress)
    known = {**discovered_companies(store, registry=companies), **companies}
    registered: dict[str, Company] = {}
    if all_companies:
        with _quiet_sources(), path.open("rb") as fp:
            accounts = company_accounts(_with_progress(iter_twcs(fp), fp, "scan", progress))
        registered = _new_companies(accounts.values(), known)
        if registered:
            _save_discovered(store, registered, now or datetime.now(UTC))
        known.update(registered)

    from chalicelib.jobs.ingest import Ingestor, IngestStats

    ingestor = Ingestor(store, known, thresholds=thresholds, source=source)
    summary = ArchiveSummary()
    totals = IngestStats()
    with _quiet_sources(), path.open("rb") as fp:
        items = iter_twcs(fp, authors, summary=summary) if fmt == "twcs" else iter_twarc2(fp, summary=summary)
        for posts in _batches(_with_progress(items, fp, "import", progress), batch_size):
            totals.add(ingestor.ingest(posts, _authors_of(posts)))
    return _report(path, fmt, store, source, summary, totals, observed_until, tuple(sorted(registered)))


def _check_input(path: Path, fmt: str, *, all_companies: bool, authors: Mapping[str, int] | None) -> None:
    if fmt not in FORMATS:
        raise ArchiveImportError(f"unknown --format {fmt!r}; use one of: {', '.join(FORMATS)}")
    if not path.is_file():
        raise ArchiveImportError(f"{path}: no such file")
    if fmt == "twarc2" and all_companies:
        raise ArchiveImportError(
            "--all-companies needs --format twcs: a twarc2 archive does not say which accounts are companies; "
            "list them in companies.toml instead"
        )
    if fmt == "twarc2" and authors is not None:
        raise ArchiveImportError("--authors applies to --format twcs only: twarc2 archives carry follower counts")


@contextlib.contextmanager
def _quiet_sources() -> Iterator[None]:
    """The X parser logs a warning per malformed item; an archive's summary counts them instead."""
    log = logging.getLogger("fair-reply")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _with_progress(items: Iterator[Any], fp: IO[bytes], phase: str, progress: Progress | None) -> Iterator[Any]:
    if progress is None:
        yield from items
        return
    for n, item in enumerate(items, start=1):
        if n % 1000 == 0:
            progress(phase, fp.tell())
        yield item
    progress(phase, fp.tell())


def _batches(items: Iterator[Any], size: int) -> Iterator[list[Post]]:
    batch: list[Post] = []
    for item in items:
        if isinstance(item, ArchivedPost):
            batch.append(item.post)
            if len(batch) >= size:
                yield batch
                batch = []
    if batch:
        yield batch


def _authors_of(posts: list[Post]) -> list[Account]:
    return list({(p.author.platform, p.author.account_id): p.author for p in posts}.values())


def _report(
    path: Path,
    fmt: str,
    store: Store,
    source: str,
    summary: ArchiveSummary,
    totals: Any,
    observed_until: datetime | None,
    registered: tuple[str, ...],
) -> ImportReport:
    """Record this archive's horizon for every company that got complaints, and tally what the store now holds."""
    latest = summary.observation_horizon
    horizon = observed_until or latest
    warnings: list[str] = []
    if observed_until is not None and latest is not None and observed_until < latest:
        warnings.append(
            f"--observed-until {observed_until.isoformat()} is before the archive's latest post "
            f"({latest.isoformat()}): complaints after it are left out of the statistics and replies after it "
            "count as not yet seen"
        )
    touched = sorted(slug for slug, n in totals.complaints_by_company.items() if n)
    horizons: dict[str, dict[str, datetime]] = {}
    if horizon is not None:
        for slug in touched:
            store.set_horizon(slug, source, horizon)
            horizons[slug] = store.get_horizons(slug)
        kept = sorted(s for s in touched if horizons[s].get(source, horizon) > horizon)
        if kept:
            warnings.append(
                f"{len(kept)} companies ({', '.join(kept[:5])}{', …' if len(kept) > 5 else ''}) keep a later "
                f"horizon for this archive ({source}) from an earlier import: horizons never move back"
            )
    tallies = {}
    if summary.earliest_post_at is not None and latest is not None:
        since, until = summary.earliest_post_at, latest + timedelta(microseconds=1)
        tallies = {s: _tally(store, s, source, since, until) for s in touched}
        warnings += _elsewhere(store, horizons, source, since, until)
    if summary.parsed and not touched:
        warnings.append("no post was addressed to a registered company (companies.toml, or --all-companies for TWCS)")
    return ImportReport(
        path=str(path),
        fmt=fmt,
        read=summary.read,
        imported=summary.parsed,
        new_posts=totals.posts_new,
        skipped=dict(sorted(summary.skipped.items())),
        companies=tallies,
        horizon=horizon,
        earliest_post_at=summary.earliest_post_at,
        latest_post_at=latest,
        registered=registered,
        warnings=tuple(warnings),
        source=source,
    )


def _tally(store: Store, company: str, source: str, since: datetime, until: datetime) -> CompanyTally:
    """Count from the store, not from batch stats: threads spanning batches are re-paired, so stats repeat."""
    inbound, complaints, answered, tiers = store.count_complaints(company, since=since, until=until, source=source)
    return CompanyTally(inbound, complaints, answered, dict(sorted(tiers.items())))


def _elsewhere(
    store: Store, horizons: Mapping[str, Mapping[str, datetime]], source: str, since: datetime, until: datetime
) -> list[str]:
    """Complaints in this archive's span stored by other archives (or the legacy key), which the tallies omit.

    Those this archive also holds keep the key they were first stored with, and that archive's horizon; said
    here so that a re-import of an archive first imported under the legacy key does not look empty.
    """
    found: dict[str, int] = {}
    for slug, keys in horizons.items():
        for key in sorted(k for k in keys if k != source and is_archive_source(k)):
            inbound = store.count_complaints(slug, since=since, until=until, source=key)[0]
            if inbound:
                found[key] = found.get(key, 0) + inbound
    if not found:
        return []
    where = ", ".join(
        f"{n:,} under {k}{' (legacy key)' if k == ARCHIVE_SOURCE else ''}" for k, n in sorted(found.items())
    )
    return [
        f"this archive's span also holds complaints stored by other imports ({where}); those this archive "
        "holds too keep that key and are censored at that import's horizon, and are not in the counts above"
    ]


# --- companies discovered in archives ---------------------------------------------------------------------------


def _slug(handle: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", handle.lower()).strip("-") or "account"


def _new_companies(accounts: Any, known: Mapping[str, Company]) -> dict[str, Company]:
    """One company per company account not yet owned by a known company; slugs stay clear of known ones."""
    owned = {h for c in known.values() for h in c.handles_on(PLATFORM)}
    taken = set(known)
    found: dict[str, Company] = {}
    for account in sorted(accounts, key=lambda a: (normalise_handle(a.handle), a.handle)):
        if normalise_handle(account.handle) in owned:
            continue
        slug = base = _slug(account.handle)
        suffix = 2
        while slug in taken:
            slug, suffix = f"{base}-{suffix}", suffix + 1
        taken.add(slug)
        owned.add(normalise_handle(account.handle))
        found[slug] = Company(slug=slug, name=account.handle, handles={PLATFORM: (account.handle,)})
    return found


def _save_discovered(store: Store, companies: Mapping[str, Company], now: datetime) -> None:
    existing = store.get_snapshot(DISCOVERED_KEY)
    body: dict[str, Any] = existing[0] if existing else {"companies": {}}
    for slug, company in companies.items():
        body["companies"][slug] = {"name": company.name, "handles": {p: list(h) for p, h in company.handles.items()}}
    store.put_snapshot(DISCOVERED_KEY, body, now)


# --- the command line -------------------------------------------------------------------------------------------


def format_report(report: ImportReport) -> str:
    """The summary printed at the end of an import."""

    def when(value: datetime | None) -> str:
        return value.isoformat() if value is not None else "-"

    lines = [
        f"imported {report.path} ({report.fmt})",
        f"  records read     {report.read:>10,}",
        f"  posts imported   {report.imported:>10,}  ({report.new_posts:,} new)",
        f"  skipped          {report.skipped_total:>10,}",
    ]
    lines += [f"    {reason:<22} {count:>8,}" for reason, count in report.skipped.items()]
    lines.append(f"  posts from {when(report.earliest_post_at)} to {when(report.latest_post_at)}")
    lines.append(f"  observed until   {when(report.horizon)}  (unanswered complaints are censored here)")
    if report.source:
        lines.append(f"  source key       {report.source}  (this archive's complaints and horizon; API coverage)")
    if report.registered:
        lines.append(f"  registered {len(report.registered)} companies: {', '.join(report.registered)}")
    if report.companies:
        lines.append(f"  {'company':<24} {'inbound':>8} {'complaints':>10} {'answered':>8}  tiers")
        for slug, t in report.companies.items():
            tiers = ", ".join(f"{k} {v}" for k, v in t.tiers.items())
            lines.append(f"  {slug:<24} {t.inbound:>8,} {t.complaints:>10,} {t.answered:>8,}  {tiers}")
    lines += [f"warning: {w}" for w in report.warnings]
    return "\n".join(lines)


class _Bar:
    """tqdm bars of bytes read, one per phase, only on a terminal (tqdm is imported only then)."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.phase: str | None = None
        self.bar: Any = None

    def __call__(self, phase: str, position: int) -> None:
        if phase != self.phase:
            self.close()
            from tqdm import tqdm

            desc = {"digest": "fingerprinting", "scan": "scanning for company accounts"}.get(phase, "importing")
            self.bar = tqdm(total=self.total, unit="B", unit_scale=True, desc=desc, file=sys.stderr, leave=False)
            self.phase = phase
        self.bar.update(max(0, position - self.bar.n))

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _cmd(args: argparse.Namespace) -> int:
    from chalicelib import runtime
    from chalicelib.jobs.aggregate_cli import parse_when

    settings = runtime.settings()
    observed_until = None
    if args.observed_until is not None:
        try:
            observed_until = parse_when(args.observed_until)
        except argparse.ArgumentTypeError as exc:
            raise ArchiveImportError(f"--observed-until: {exc}") from None
    path = Path(args.path)
    _check_input(path, args.format, all_companies=args.all_companies, authors={} if args.authors else None)
    if args.authors and not Path(args.authors).is_file():
        raise ArchiveImportError(f"--authors {args.authors}: no such file")
    authors = load_authors_file(args.authors) if args.authors else None
    if args.all_companies and not settings.companies_path.exists():
        registry: Mapping[str, Company] = {}  # a researcher may import a data set before writing a registry
    else:
        registry = runtime.registry()
    bar = _Bar(path.stat().st_size) if sys.stderr.isatty() else None
    try:
        report = import_archive(
            path,
            fmt=args.format,
            store=runtime.store(),
            companies=registry,
            thresholds=TierThresholds(settings.notable_followers, settings.high_profile_followers),
            observed_until=observed_until,
            all_companies=args.all_companies,
            authors=authors,
            progress=bar,
        )
    finally:
        if bar is not None:
            bar.close()
    print(format_report(report))
    return 0


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "import",
        help="import a twarc2 JSONL or TWCS CSV archive (safe to re-run: nothing is counted twice)",
        description="Import an archive of X posts. Posts addressed to the handles in companies.toml become "
        "those companies' complaints; unanswered complaints are censored at the archive's end.",
    )
    parser.add_argument("path", help="the archive file")
    parser.add_argument("--format", required=True, help="twarc2 (X API v2 pages, one per line) or twcs (CSV)")
    parser.add_argument(
        "--observed-until", metavar="ISO8601", default=None,
        help="when observation of the archived accounts ended (default: the archive's latest post)",
    )
    parser.add_argument(
        "--all-companies", action="store_true",
        help="twcs: also register every company account the archive reveals (authors of outbound rows)",
    )
    parser.add_argument(
        "--authors", metavar="CSV", default=None,
        help="twcs: CSV of author_id,followers giving audience sizes (otherwise every tier is unknown)",
    )
    parser.set_defaults(handler=_cmd)
