"""Store posts, then re-pair every thread they touch: the one path from any source into the numbers.

Live polls and archive imports both come through here, so a complaint is counted the same way whichever
way it arrived. Pairing is a pure function of a thread's stored posts, so re-pairing the whole thread after
each batch makes out-of-order arrival (a reply stored before its complaint) and re-runs harmless: the
store's upserts are idempotent and keep the earliest reply.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from chalicelib.domain.models import Account, Company, Post, normalise_handle
from chalicelib.domain.pairing import pair_thread, thread_root
from chalicelib.domain.tiers import DEFAULT_THRESHOLDS, TierThresholds
from chalicelib.store.base import Store

_MAX_THREAD_POSTS = 5_000  # a runaway thread (a viral post) is paired on its first posts only; logged


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
        self._owners: dict[tuple[str, str], Company] = {}
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
        """Store ``posts`` (and their authors), then pair every thread they belong to."""
        stats = IngestStats(posts_read=len(posts))
        accounts = list(accounts)
        if accounts:
            self.store.put_accounts(accounts)
        if not posts:
            return stats
        stats.posts_new = self.store.put_posts(posts)
        batch = {post.key: post for post in posts}
        roots: set[tuple[str, str]] = set()
        for post in posts:
            roots.add((post.platform, thread_root(post, self._lookup(post.platform, batch))))
        for platform, root in sorted(roots):
            self._pair(platform, root, batch, stats)
        return stats

    def _lookup(self, platform: str, batch: Mapping[tuple[str, str], Post]):
        def lookup(post_id: str) -> Post | None:
            return batch.get((platform, post_id)) or self.store.get_post(platform, post_id)

        return lookup

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
        for post in thread:
            handles = [post.author.handle, *post.mentions]
            for handle in handles:
                company = self._owners.get((post.platform, normalise_handle(handle)))
                if company is not None:
                    involved[company.slug] = company
        return [involved[slug] for slug in sorted(involved)]

    def _pair(self, platform: str, root: str, batch: Mapping[tuple[str, str], Post], stats: IngestStats) -> None:
        thread = self._load_thread(platform, root, batch)
        for company in self._companies_in(thread):
            result = pair_thread(thread, company, thresholds=self.thresholds, source=self.source or platform)
            if result.complaints:
                # each complaint carries its first replies; the store keeps the earliest ones it has seen
                self.store.put_complaints(result.complaints)
            stats.threads_paired += 1
            stats.complaints += len(result.complaints)
            stats.replies += len(result.replies)
            stats.complaints_by_company[company.slug] += len(result.complaints)
            stats.ignored.update(result.ignored)
