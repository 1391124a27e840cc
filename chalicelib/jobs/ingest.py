"""Store posts, then re-pair every thread they touch: the one path from any source into the numbers.

Live polls and archive imports both come through here, so a complaint is counted the same way whichever
way it arrived. Pairing is a pure function of a thread's stored posts, so re-pairing the whole thread after
each batch makes out-of-order arrival (a reply stored before its complaint) and re-runs harmless: the
store's upserts are idempotent and keep the earliest reply.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from chalicelib.domain.classify import classify_inbound, classify_reply
from chalicelib.domain.models import Account, Company, Complaint, Post, normalise_handle
from chalicelib.domain.pairing import pair_companies, thread_root
from chalicelib.domain.tiers import DEFAULT_THRESHOLDS, TierThresholds
from chalicelib.store.base import Store

_MAX_THREAD_POSTS = 5_000  # a runaway thread (a viral post) is paired on its first posts only; logged
_CLASSIFIED_TEXTS = 4_096  # texts remembered per ingestor: enough for the threads a batch boundary cuts
_ROOTS_PER_READ = 1_000  # threads loaded and paired together: bounds memory when a batch touches big threads


@dataclass
class IngestStats:
    """Counts for logs, the CLI summary and EMF metrics."""

    posts_read: int = 0
    posts_new: int = 0
    threads_paired: int = 0
    complaints: int = 0
    replies: int = 0
    complaints_by_company: Counter[str] = field(default_factory=Counter)
    ignored: Counter[str] = field(default_factory=Counter)

    def add(self, other: IngestStats) -> None:
        self.posts_read += other.posts_read
        self.posts_new += other.posts_new
        self.threads_paired += other.threads_paired
        self.complaints += other.complaints
        self.replies += other.replies
        self.complaints_by_company.update(other.complaints_by_company)
        self.ignored.update(other.ignored)


class Ingestor:
    """Ingests batches of posts for a set of companies into one store."""

    def __init__(
        self,
        store: Store,
        companies: Mapping[str, Company],
        *,
        thresholds: TierThresholds = DEFAULT_THRESHOLDS,
        source: str = "",
    ) -> None:
        self.store = store
        self.thresholds = thresholds
        self.source = source
        # A thread is re-paired whenever a batch touches it, and templated texts recur: classify each text once.
        self._classify_inbound = functools.lru_cache(maxsize=_CLASSIFIED_TEXTS)(classify_inbound)
        self._classify_reply = functools.lru_cache(maxsize=_CLASSIFIED_TEXTS)(classify_reply)
        self._owners: dict[tuple[str, str], Company] = {}
        self._handle_key = _HandleKeys()
        for company in companies.values():
            for platform in company.handles:
                for handle in company.handles_on(platform):
                    self._owners[(platform, handle)] = company

    def add_company(self, company: Company) -> None:
        """Register a company discovered in an archive (``import --all-companies``)."""
        for platform in company.handles:
            for handle in company.handles_on(platform):
                self._owners.setdefault((platform, handle), company)

    def ingest(self, posts: Sequence[Post], accounts: Iterable[Account] = ()) -> IngestStats:
        """Store ``posts`` (and their authors), then pair every thread they belong to.

        One store batch (one SQLite transaction) per call, and bulk reads per thread level for all the
        batch's threads at once: the cost of a batch is a few queries, not a few per post.
        """
        stats = IngestStats(posts_read=len(posts))
        accounts = list(accounts)
        self._handle_key.clear()  # memoised per batch: memory stays flat over any number of batches
        with self.store.batch():
            if accounts:
                self.store.put_accounts(accounts)
            if not posts:
                return stats
            stats.posts_new = self.store.put_posts(posts)
            batch = {post.key: post for post in posts}
            roots = sorted(self._roots(posts, batch))
            complaints: list[Complaint] = []
            tally = _Tally()
            for start in range(0, len(roots), _ROOTS_PER_READ):
                chunk = roots[start : start + _ROOTS_PER_READ]
                threads: dict[tuple[str, str], list[Post]] = {}
                for platform in sorted({p for p, _ in chunk}):
                    loaded = self._load_threads(platform, [r for p, r in chunk if p == platform], batch)
                    threads.update(((platform, root), thread) for root, thread in loaded.items())
                for key in chunk:
                    complaints.extend(self._pair_into(key[0], threads[key], tally))
            tally.add_to(stats)
            if complaints:
                # each complaint carries its first replies; the store keeps the earliest ones it has seen
                self.store.put_complaints(complaints)
        return stats

    def _roots(self, posts: Iterable[Post], batch: Mapping[tuple[str, str], Post]) -> set[tuple[str, str]]:
        """Each post's thread (:func:`thread_root`), reading missing ancestors in bulk, one level per round."""
        roots: set[tuple[str, str]] = set()
        fetched: dict[tuple[str, str], Post | None] = {}
        pending = list(posts)
        while pending:
            missing: set[tuple[str, str]] = set()
            unresolved = []
            for post in pending:
                try:
                    roots.add((post.platform, thread_root(post, _Lookup(post.platform, batch, fetched, missing))))
                except _Unresolved:
                    unresolved.append(post)
            for platform in {p for p, _ in missing}:
                ids = [i for p, i in missing if p == platform]
                found = self.store.get_posts(platform, ids)
                fetched.update(((platform, i), found.get(i)) for i in ids)
            pending = unresolved
        return roots

    def _load_threads(
        self, platform: str, roots: list[str], batch: Mapping[tuple[str, str], Post]
    ) -> dict[str, list[Post]]:
        """:meth:`_load_thread` for many roots, walking all their reply trees together, one level per query.

        The walk reaches the same posts as the one-thread walk, unless a thread reaches the size cap, where
        which posts are kept depends on the walk's order: those threads are walked again the one-thread way.
        """
        stored = self.store.thread_posts_many(platform, roots)
        found = {root: {p.post_id: p for p in stored[root]} for root in roots}
        absent = [r for r in roots if r not in found[r] and (platform, r) not in batch]
        stored_roots = self.store.get_posts(platform, absent) if absent else {}
        frontier: dict[str, list[str]] = {}
        for root in roots:
            root_post = batch.get((platform, root)) or stored_roots.get(root)
            if root_post is not None:
                found[root].setdefault(root, root_post)
            frontier[root] = [root, *(p.post_id for p in found[root].values() if not p.thread_id)]
        seen: dict[str, set[str]] = {root: set() for root in roots}
        oversized = {root for root in roots if len(found[root]) >= _MAX_THREAD_POSTS}
        active = [root for root in roots if root not in oversized]
        while active:
            wanted = {pid for root in active for pid in frontier[root] if pid not in seen[root]}
            children = self.store.posts_replying_to_any(platform, wanted) if wanted else {}
            still = []
            for root in active:
                level, frontier[root] = frontier[root], []
                for post_id in level:
                    if post_id in seen[root]:
                        continue
                    seen[root].add(post_id)
                    for child in children.get(post_id, ()):
                        found[root].setdefault(child.post_id, child)
                        frontier[root].append(child.post_id)
                if len(found[root]) >= _MAX_THREAD_POSTS:
                    oversized.add(root)
                elif frontier[root]:
                    still.append(root)
            active = still
        threads = {root: list(posts.values()) for root, posts in found.items()}
        for root in oversized:
            threads[root] = self._load_thread(platform, root, batch)
        return threads

    def _load_thread(self, platform: str, root: str, batch: Mapping[tuple[str, str], Post]) -> list[Post]:
        """Every stored post of a thread: by thread id where the platform has one, else by reply links."""
        found: dict[str, Post] = {p.post_id: p for p in self.store.thread_posts(platform, root)}
        root_post = batch.get((platform, root)) or self.store.get_post(platform, root)
        frontier = [root]
        if root_post is not None:
            found.setdefault(root, root_post)
        frontier.extend(p.post_id for p in list(found.values()) if not p.thread_id)
        seen: set[str] = set()
        while frontier and len(found) < _MAX_THREAD_POSTS:
            post_id = frontier.pop()
            if post_id in seen:
                continue
            seen.add(post_id)
            for child in self.store.posts_replying_to(platform, post_id):
                if child.post_id not in found:
                    found[child.post_id] = child
                frontier.append(child.post_id)
        return list(found.values())

    def _companies_in(self, thread: Iterable[Post]) -> list[Company]:
        involved: dict[str, Company] = {}
        owners, key = self._owners, self._handle_key
        for post in thread:
            platform = post.platform
            company = owners.get((platform, key[post.author.handle]))
            if company is not None:
                involved[company.slug] = company
            for handle in post.mentions:
                company = owners.get((platform, key[handle]))
                if company is not None:
                    involved[company.slug] = company
        return [involved[slug] for slug in sorted(involved)]

    def _pair(self, platform: str, thread: list[Post], stats: IngestStats) -> list[Complaint]:
        tally = _Tally()
        complaints = self._pair_into(platform, thread, tally)
        tally.add_to(stats)
        return complaints

    def _pair_into(self, platform: str, thread: list[Post], tally: _Tally) -> list[Complaint]:
        complaints: list[Complaint] = []
        companies = self._companies_in(thread)
        if not companies:
            return complaints
        results = pair_companies(
            thread, companies, thresholds=self.thresholds, source=self.source or platform,
            classify_complaint=self._classify_inbound, classify_reply=self._classify_reply,
            handle_key=self._handle_key.__getitem__,
        )
        by_company, ignored = tally.by_company, tally.ignored
        for company, result in zip(companies, results, strict=True):
            complaints.extend(result.complaints)
            tally.threads_paired += 1
            tally.replies += len(result.replies)
            by_company[company.slug] = by_company.get(company.slug, 0) + len(result.complaints)
            for reason, n in result.ignored.items():
                ignored[reason] = ignored.get(reason, 0) + n
        return complaints


class _Tally:
    """Pairing counts of one batch in plain dicts, added to :class:`IngestStats` once (Counter updates are slow)."""

    __slots__ = ("by_company", "ignored", "replies", "threads_paired")

    def __init__(self) -> None:
        self.threads_paired = self.replies = 0
        self.by_company: dict[str, int] = {}
        self.ignored: dict[str, int] = {}

    def add_to(self, stats: IngestStats) -> None:
        stats.threads_paired += self.threads_paired
        stats.replies += self.replies
        stats.complaints += sum(self.by_company.values())
        stats.complaints_by_company.update(self.by_company)
        stats.ignored.update(self.ignored)


class _HandleKeys(dict[str, str]):
    """``normalise_handle`` memoised: a batch meets the same few company handles in every thread."""

    def __missing__(self, handle: str) -> str:
        key = self[handle] = normalise_handle(handle)
        return key


class _Unresolved(Exception):
    """A thread walk needs a post that is neither in the batch nor read yet (internal to ``Ingestor._roots``)."""


class _Lookup:
    """``thread_root``'s lookup over the batch and the posts read so far; records and stops at the first unknown."""

    __slots__ = ("batch", "fetched", "missing", "platform")

    def __init__(
        self,
        platform: str,
        batch: Mapping[tuple[str, str], Post],
        fetched: Mapping[tuple[str, str], Post | None],
        missing: set[tuple[str, str]],
    ) -> None:
        self.platform, self.batch, self.fetched, self.missing = platform, batch, fetched, missing

    def __call__(self, post_id: str) -> Post | None:
        key = (self.platform, post_id)
        post = self.batch.get(key)
        if post is not None:
            return post
        if key in self.fetched:
            return self.fetched[key]
        self.missing.add(key)
        raise _Unresolved(post_id)
