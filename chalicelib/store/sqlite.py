"""SQLite backend: the local default (CLI, local server, tests), one file created on first use.

One connection guarded by a re-entrant lock makes the store safe to share between the local server's and the
scheduler's threads; WAL mode and a busy timeout let a second process (an archive import) use the same file.
Timestamps are integer microseconds since the epoch, so SQL orders and compares them exactly.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from chalicelib.domain.models import Account, Checkpoint, Complaint, Post, Reply, Subscription
from chalicelib.store import codec
from chalicelib.store.base import FIRST_REPLY, REPLY_SLOTS, ComplaintChange, ComplaintFilter, Store, normalise_email
from chalicelib.store.cursor import ComplaintKey
from chalicelib.store.errors import IncompatibleSchema, StoreError, StoreUnavailable

# Each step upgrades the schema by one version (PRAGMA user_version); steps are never edited once released,
# only appended, so any older file can be brought forward.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: posts, accounts, complaints with their first replies, checkpoints, snapshots
    (
        """CREATE TABLE posts (
            platform TEXT NOT NULL, post_id TEXT NOT NULL, created_at INTEGER NOT NULL, thread_id TEXT,
            in_reply_to_post_id TEXT, author_id TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
            doc TEXT NOT NULL, PRIMARY KEY (platform, post_id))""",
        "CREATE INDEX posts_by_thread ON posts (platform, thread_id, created_at, post_id) WHERE thread_id IS NOT NULL",
        "CREATE INDEX posts_by_parent ON posts (platform, in_reply_to_post_id) WHERE in_reply_to_post_id IS NOT NULL",
        """CREATE TABLE accounts (
            platform TEXT NOT NULL, account_id TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (platform, account_id))""",
        """CREATE TABLE complaints (
            platform TEXT NOT NULL, post_id TEXT NOT NULL, company TEXT NOT NULL, created_at INTEGER NOT NULL,
            tier TEXT NOT NULL, category TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,
            first_reply_at INTEGER, first_reply_id TEXT, first_reply TEXT,
            first_substantive_reply_at INTEGER, first_substantive_reply_id TEXT, first_substantive_reply TEXT,
            doc TEXT NOT NULL, PRIMARY KEY (platform, post_id))""",
        "CREATE INDEX complaints_by_company_time ON complaints (company, created_at, platform, post_id)",
        """CREATE TABLE checkpoints (
            company TEXT NOT NULL, source TEXT NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (company, source))""",
        "CREATE TABLE snapshots (key TEXT PRIMARY KEY, body BLOB NOT NULL, generated_at INTEGER NOT NULL)",
    ),
    # 2: observation horizons, subscriptions, sent alerts, suppressed addresses, rate-limit events
    (
        """CREATE TABLE horizons (
            company TEXT NOT NULL, platform TEXT NOT NULL, observed_until INTEGER NOT NULL,
            PRIMARY KEY (company, platform))""",
        """CREATE TABLE subscriptions (
            sub_id TEXT PRIMARY KEY, email_norm TEXT NOT NULL, company TEXT NOT NULL, status TEXT NOT NULL,
            doc TEXT NOT NULL)""",
        "CREATE INDEX subscriptions_by_email ON subscriptions (email_norm, company)",
        "CREATE INDEX subscriptions_by_company ON subscriptions (company, status)",
        """CREATE TABLE alerts (
            sub_id TEXT NOT NULL, platform TEXT NOT NULL, post_id TEXT NOT NULL, at INTEGER NOT NULL,
            PRIMARY KEY (sub_id, platform, post_id))""",
        "CREATE TABLE suppressions (email_norm TEXT PRIMARY KEY, reason TEXT NOT NULL, at INTEGER)",
        "CREATE TABLE events (kind TEXT NOT NULL, key TEXT NOT NULL, at INTEGER NOT NULL)",
        "CREATE INDEX events_by_key ON events (kind, key, at)",
    ),
    # 3: change sequence on complaints, so aggregation reads only what changed since its last run
    (
        "ALTER TABLE complaints ADD COLUMN seq INTEGER NOT NULL DEFAULT 0",
        "UPDATE complaints SET seq = rowid",
        "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
        "INSERT INTO counters (name, value) SELECT 'complaint_seq', COALESCE(MAX(seq), 0) FROM complaints",
        "CREATE INDEX complaints_by_seq ON complaints (company, seq)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

_NEXT_SEQ = "(SELECT value + 1 FROM counters WHERE name = 'complaint_seq')"
_BUMP_SEQ = "UPDATE counters SET value = value + 1 WHERE name = 'complaint_seq'"
_COMPLAINT_COLUMNS = "doc, category, deleted, first_reply, first_substantive_reply"
_COMPLAINT_INSERT = """INSERT INTO complaints (platform, post_id, company, created_at, tier, category, deleted,
    first_reply_at, first_reply_id, first_reply, first_substantive_reply_at, first_substantive_reply_id,
    first_substantive_reply, doc, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {seq})"""
IN_CHUNK = 512  # ids per "IN (...)" query (a power of two, see _in_chunks), well under SQLite's bound-parameter limit
_MAX_ROWID = 2**63 - 1
FRESH_LIMIT = 50_000  # posts remembered per transaction (see SQLiteStore._fresh)


def migrate(conn: sqlite3.Connection, *, target: int = SCHEMA_VERSION) -> int:
    """Apply the missing migration steps up to ``target`` in one transaction; return the resulting version."""
    current = conn.execute("PRAGMA user_version").fetchone()[0]
    if current > SCHEMA_VERSION:
        raise IncompatibleSchema(f"database schema version {current} is newer than this code ({SCHEMA_VERSION})")
    if current >= target:
        return current
    conn.execute("BEGIN IMMEDIATE")
    try:
        for version in range(current + 1, target + 1):
            for statement in MIGRATIONS[version - 1]:
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {int(target)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return target


def connect(path: str | Path) -> sqlite3.Connection:
    """Open (creating directory and file if needed) with the pragmas every connection needs."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    # WAL is a property of the file: only a new file needs the (slower, writing) switch
    if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    return conn


def _complaint(row: sqlite3.Row | tuple[Any, ...]) -> Complaint:
    doc, category, deleted, first, first_substantive = row
    first_reply = codec.reply_from_doc(first)
    return codec.complaint_from_doc(
        doc, category=category, deleted=bool(deleted), first_reply=first_reply,
        first_substantive_reply=first_reply if first_substantive == first else codec.reply_from_doc(first_substantive),
    )


def _post(row: tuple[Any, ...]) -> Post:
    doc, deleted = row
    return codec.post_from_doc(doc, deleted=bool(deleted))


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def _in_chunks(ids: list[str]) -> Iterator[list[str]]:
    """Chunks of ``ids`` padded (by repeating one) to a few fixed lengths.

    Every length of an "IN (?, …)" list is another statement in sqlite3's statement cache, and statements
    with hundreds of parameters are large: arbitrary lengths would churn the cache and grow memory.
    """
    for start in range(0, len(ids), IN_CHUNK):
        chunk = ids[start : start + IN_CHUNK]
        size = max(8, 1 << (len(chunk) - 1).bit_length())
        yield chunk + [chunk[-1]] * (size - len(chunk))


def _complaint_params(c: Complaint) -> tuple[Any, ...]:
    first = _reply_columns(c.first_reply)
    # usually one reply fills both slots: encode it once
    substantive = first if c.first_substantive_reply is c.first_reply else _reply_columns(c.first_substantive_reply)
    return (
        c.platform, c.post_id, c.company, codec.to_us(c.created_at), str(c.tier), str(c.category), int(c.deleted),
        *first, *substantive, codec.complaint_row_doc(c),
    )


def _update_sql(*, category: bool, deleted: bool, seq: str) -> str:
    """Set the named fields (parameters: their values, ``seq``'s if a parameter, key, the values again) if they differ."""
    columns = [c for c, on in (("category", category), ("deleted", deleted)) if on]
    sets = ", ".join(f"{c} = ?" for c in columns)
    differs = " OR ".join(f"{c} IS NOT ?" for c in columns)
    return f"UPDATE complaints SET {sets}, seq = {seq} WHERE platform = ? AND post_id = ? AND ({differs})"


def _record_first_sql(slot: str, *, seq: str) -> str:
    """Set a reply slot if the reply is earlier: the WHERE clause is the earliest-wins rule, so concurrent writers
    cannot overwrite an earlier reply (ties go to the smaller post id)."""
    column = FIRST_REPLY if slot == FIRST_REPLY else "first_substantive_reply"
    return f"""UPDATE complaints SET {column}_at = :at, {column}_id = :id, {column} = :doc, seq = {seq}
               WHERE platform = :platform AND post_id = :complaint
                 AND ({column}_at IS NULL OR {column}_at > :at OR ({column}_at = :at AND {column}_id > :id))"""


def _reply_columns(reply: Reply | None) -> tuple[int | None, str | None, str | None]:
    if reply is None:
        return None, None, None
    return codec.to_us(reply.created_at), reply.post_id, codec.reply_row_doc(reply)


class SQLiteStore(Store):
    """A :class:`Store` in one SQLite file."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.RLock()
        self._depth = 0
        # Posts this connection inserted in the open transaction, by key. While it is open no other writer
        # can change them (BEGIN IMMEDIATE), so reading one back may return this copy instead of decoding its
        # JSON: an ingest batch re-reads the threads it has just stored. Emptied when the transaction ends.
        self._fresh: dict[tuple[str, str], Post] = {}
        try:
            self._conn = connect(self.path)
            migrate(self._conn)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(f"cannot open SQLite store {self.path}: {exc}") from exc

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    # -- plumbing --------------------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (nested calls join the outer one), with sqlite3 errors translated."""
        with self._lock, _translated():
            outer = self._depth == 0
            if outer:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self._conn
            except BaseException:
                self._depth -= 1
                if outer:
                    self._fresh.clear()
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._fresh.clear()
                self._conn.execute("COMMIT")

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock, _translated():
            yield self._conn

    def _batch(self) -> contextlib.AbstractContextManager[Any]:
        return self._tx()

    # -- posts and accounts ----------------------------------------------------------------------------------

    def _insert_posts(self, posts: list[Post]) -> int:
        with self._tx() as db:
            # Insert first, ask later: within the transaction new rows get rowids above the largest one before
            # (posts are never deleted, and SQLite picks max(rowid) + 1 until rowids run out at 2**63 - 1), so
            # when some keys were stored already, the rowids tell exactly which posts this insert added.
            before = db.execute("SELECT MAX(rowid) FROM posts").fetchone()[0] or 0
            rows = [
                (p.platform, p.post_id, codec.to_us(p.created_at), p.thread_id, p.in_reply_to_post_id,
                 p.author.account_id, int(p.deleted), codec.post_row_doc(p))
                for p in posts
            ]
            added = db.executemany("INSERT OR IGNORE INTO posts VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows).rowcount
            if added == len(posts):
                new = posts
            elif before >= _MAX_ROWID - len(posts):  # rowids may have been chosen at random: remember none
                new = []
            else:
                inserted = set(db.execute("SELECT platform, post_id FROM posts WHERE rowid > ?", (before,)))
                new = [p for p in posts if p.key in inserted]
            fresh = self._fresh
            for p in new:
                # only copies that read back identically (the codec turns any sequence of mentions into a tuple)
                if len(fresh) < FRESH_LIMIT and type(p.mentions) is tuple:
                    fresh[p.key] = p
            return added

    def _mark_posts_deleted(self, keys: list[tuple[str, str]]) -> int:
        with self._tx() as db:
            for key in keys:
                self._fresh.pop(key, None)
            sql = "UPDATE posts SET deleted = 1 WHERE platform = ? AND post_id = ? AND deleted = 0"
            return db.executemany(sql, keys).rowcount

    def _post_row(self, platform: str, post_id: str, deleted: int, doc: str) -> Post:
        fresh = self._fresh.get((platform, post_id))
        if fresh is not None and fresh.deleted == bool(deleted):
            return fresh
        return _post((doc, deleted))

    def _get_post(self, platform: str, post_id: str) -> Post | None:
        with self._read() as db:
            sql = "SELECT post_id, deleted, doc FROM posts WHERE platform = ? AND post_id = ?"
            found = db.execute(sql, (platform, post_id)).fetchone()
            return None if found is None else self._post_row(platform, *found)

    def _get_posts(self, platform: str, post_ids: list[str]) -> dict[str, Post]:
        found: dict[str, Post] = {}
        with self._read() as db:
            for chunk in _in_chunks(post_ids):
                sql = f"SELECT post_id, deleted, doc FROM posts WHERE platform = ? AND post_id IN ({_marks(len(chunk))})"
                for row in db.execute(sql, (platform, *chunk)):
                    found[row[0]] = self._post_row(platform, *row)
        return found

    def _thread_posts(self, platform: str, thread_id: str) -> list[Post]:
        return self._thread_posts_many(platform, [thread_id]).get(thread_id, [])

    def _thread_posts_many(self, platform: str, thread_ids: list[str]) -> dict[str, list[Post]]:
        return self._posts_by(platform, "thread_id", thread_ids)

    def _posts_replying_to(self, platform: str, post_id: str) -> list[Post]:
        return self._posts_replying_to_any(platform, [post_id]).get(post_id, [])

    def _posts_replying_to_any(self, platform: str, post_ids: list[str]) -> dict[str, list[Post]]:
        return self._posts_by(platform, "in_reply_to_post_id", post_ids)

    def _posts_by(self, platform: str, column: str, values: list[str]) -> dict[str, list[Post]]:
        """Posts whose indexed ``column`` (thread_id or in_reply_to_post_id) is one of ``values``, grouped by it."""
        found: dict[str, list[Post]] = {}
        fresh = self._fresh
        with self._read() as db:
            for chunk in _in_chunks(values):
                sql = (
                    f"SELECT {column}, post_id, deleted, doc FROM posts "
                    f"WHERE platform = ? AND {column} IN ({_marks(len(chunk))})"
                )
                for value, post_id, deleted, doc in db.execute(sql, (platform, *chunk)):
                    post = fresh.get((platform, post_id))  # what _post_row does, inline: threads are read in bulk
                    if post is None or post.deleted != bool(deleted):
                        post = _post((doc, deleted))
                    found.setdefault(value, []).append(post)
        return found

    def _upsert_accounts(self, accounts: list[Account]) -> int:
        sql = """INSERT INTO accounts VALUES (?, ?, ?) ON CONFLICT (platform, account_id)
                 DO UPDATE SET doc = excluded.doc WHERE doc IS NOT excluded.doc"""
        rows = [(a.platform, a.account_id, codec.dumps(codec.account_doc(a))) for a in accounts]
        with self._tx() as db:
            return db.executemany(sql, rows).rowcount

    def _get_account(self, platform: str, account_id: str) -> Account | None:
        sql = "SELECT doc FROM accounts WHERE platform = ? AND account_id = ?"
        with self._read() as db:
            found = db.execute(sql, (platform, account_id)).fetchone()
        return None if found is None else codec.account_from(json.loads(found[0]))

    # -- complaints ------------------------------------------------------------------------------------------

    def _insert_complaint(self, c: Complaint) -> bool:
        sql = _COMPLAINT_INSERT.replace("INSERT", "INSERT OR IGNORE", 1).format(seq=_NEXT_SEQ)
        with self._tx() as db:
            if db.execute(sql, _complaint_params(c)).rowcount == 0:
                return False
            db.execute(_BUMP_SEQ)
            return True

    def _insert_complaints(self, complaints: list[Complaint]) -> set[tuple[str, str]]:
        # One transaction holds the write lock, so the counter is ours: number the complaints in one go and move
        # the counter once. Callers pass complaints they found absent, so normally every row goes in; if some
        # were stored after all, their rows keep a number at most the counter's, which tells them apart.
        with self._tx() as db:
            last = self._counter(db)
            rows = [(*_complaint_params(c), last + n) for n, c in enumerate(complaints, 1)]
            sql = _COMPLAINT_INSERT.replace("INSERT", "INSERT OR IGNORE", 1).format(seq="?")
            added = db.executemany(sql, rows).rowcount
            self._set_counter(db, last + len(complaints))
            if added == len(complaints):
                return {c.key for c in complaints}
            seqs = self._complaint_rows(db, [c.key for c in complaints], "seq")
            return {key for key, (seq,) in seqs.items() if seq > last}

    def _change_complaints(self, changes: list[ComplaintChange]) -> None:
        # The same writes as one _update_complaint/_record_first each, numbered in the same order, as a few
        # executemany calls: each complaint's writes go field update, first reply, first substantive reply, so
        # running the statements in that order leaves every complaint with its last write's number. The write
        # lock makes the caller's reading of what differs still true; a write whose condition fails anyway
        # only leaves its number unused.
        with self._tx() as db:
            last = self._counter(db)
            updates: dict[tuple[bool, bool], list[tuple[Any, ...]]] = {}
            firsts: dict[str, list[dict[str, Any]]] = {slot: [] for slot in REPLY_SLOTS}
            n = 0
            for change in changes:
                if change.category is not None or change.deleted is not None:
                    n += 1
                    values = [v for v in (change.category, None if change.deleted is None else int(change.deleted))
                              if v is not None]
                    shape = (change.category is not None, change.deleted is not None)
                    updates.setdefault(shape, []).append((*values, last + n, change.platform, change.post_id, *values))
                for slot, reply in change.firsts:
                    n += 1
                    at, reply_id, doc = _reply_columns(reply)
                    firsts[slot].append({"at": at, "id": reply_id, "doc": doc, "seq": last + n,
                                         "platform": change.platform, "complaint": change.post_id})
            for (category, deleted), params in updates.items():
                db.executemany(_update_sql(category=category, deleted=deleted, seq="?"), params)
            for slot in REPLY_SLOTS:
                if firsts[slot]:
                    db.executemany(_record_first_sql(slot, seq=":seq"), firsts[slot])
            self._set_counter(db, last + n)

    @staticmethod
    def _counter(db: sqlite3.Connection) -> int:
        return db.execute("SELECT value FROM counters WHERE name = 'complaint_seq'").fetchone()[0]

    @staticmethod
    def _set_counter(db: sqlite3.Connection, value: int) -> None:
        db.execute("UPDATE counters SET value = ? WHERE name = 'complaint_seq'", (value,))

    def _get_complaint(self, platform: str, post_id: str) -> Complaint | None:
        sql = f"SELECT {_COMPLAINT_COLUMNS} FROM complaints WHERE platform = ? AND post_id = ?"
        with self._read() as db:
            found = db.execute(sql, (platform, post_id)).fetchone()
        return None if found is None else _complaint(found)

    def _get_complaints(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], Complaint]:
        with self._read() as db:
            rows = self._complaint_rows(db, keys, _COMPLAINT_COLUMNS)
            return {key: _complaint(row) for key, row in rows.items()}

    @staticmethod
    def _complaint_rows(
        db: sqlite3.Connection, keys: list[tuple[str, str]], columns: str
    ) -> dict[tuple[str, str], tuple[Any, ...]]:
        """``columns`` of the stored complaints among ``keys``, by key."""
        found: dict[tuple[str, str], tuple[Any, ...]] = {}
        for platform in {p for p, _ in keys}:
            ids = [i for p, i in keys if p == platform]
            for chunk in _in_chunks(ids):
                sql = f"SELECT post_id, {columns} FROM complaints WHERE platform = ? AND post_id IN ({_marks(len(chunk))})"
                for post_id, *row in db.execute(sql, (platform, *chunk)):
                    found[(platform, post_id)] = tuple(row)
        return found

    def _update_complaint(self, platform: str, post_id: str, *, category: str | None, deleted: bool | None) -> bool:
        values = [v for v in (category, None if deleted is None else int(deleted)) if v is not None]
        if not values:
            return False
        sql = _update_sql(category=category is not None, deleted=deleted is not None, seq=_NEXT_SEQ)
        with self._tx() as db:
            if db.execute(sql, (*values, platform, post_id, *values)).rowcount == 0:
                return False
            db.execute(_BUMP_SEQ)
            return True

    def _record_first(self, platform: str, complaint_post_id: str, reply: Reply, slot: str) -> bool:
        at, reply_id, doc = _reply_columns(reply)
        params = {"at": at, "id": reply_id, "doc": doc, "platform": platform, "complaint": complaint_post_id}
        with self._tx() as db:
            if db.execute(_record_first_sql(slot, seq=_NEXT_SEQ), params).rowcount == 0:
                return False
            db.execute(_BUMP_SEQ)
            return True

    def _query_complaints(
        self,
        company: str,
        *,
        since: datetime | None,
        until: datetime | None,
        after: ComplaintKey | None,
        filters: ComplaintFilter,
        limit: int,
    ) -> list[Complaint]:
        where, params = ["company = ?"], [company]
        if since is not None:
            where.append("created_at >= ?")
            params.append(codec.to_us(since))
        if until is not None:
            where.append("created_at < ?")
            params.append(codec.to_us(until))
        if after is not None:
            where.append("(created_at, platform, post_id) > (?, ?, ?)")
            params.extend((codec.to_us(after[0]), after[1], after[2]))
        for column, value in (("platform", filters.platform), ("tier", filters.tier), ("category", filters.category)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if filters.answered is not None:
            where.append(f"first_reply_at IS {'NOT ' if filters.answered else ''}NULL")
        sql = (
            f"SELECT {_COMPLAINT_COLUMNS} FROM complaints WHERE {' AND '.join(where)} "
            "ORDER BY created_at, platform, post_id LIMIT ?"
        )
        with self._read() as db:
            return [_complaint(r) for r in db.execute(sql, (*params, limit))]

    def _count_complaints(
        self, company: str, *, since: datetime, until: datetime, source: str
    ) -> tuple[int, int, int, dict[str, int]]:
        # documents are arrays (positional) or, when written by older code, objects
        source_path = f"CASE json_type(doc) WHEN 'array' THEN '$[{codec.COMPLAINT_SOURCE_INDEX}]' ELSE '$.source' END"
        sql = f"""SELECT tier, category = 'complaint' AND deleted = 0, COUNT(*), SUM(first_reply_at IS NOT NULL)
                  FROM complaints WHERE company = ? AND created_at >= ? AND created_at < ?
                    AND IFNULL(json_extract(doc, {source_path}), '') = ?
                  GROUP BY 1, 2"""
        inbound = complaints = answered = 0
        tiers: dict[str, int] = {}
        with self._read() as db:
            for tier, counted, n, n_answered in db.execute(
                sql, (company, codec.to_us(since), codec.to_us(until), source)
            ):
                inbound += n
                if counted:
                    complaints += n
                    answered += n_answered
                    tiers[tier] = tiers.get(tier, 0) + n
        return inbound, complaints, answered, tiers

    def _changed_complaints(self, company: str, *, after: int, limit: int) -> list[tuple[int, Complaint]]:
        sql = f"SELECT seq, {_COMPLAINT_COLUMNS} FROM complaints WHERE company = ? AND seq > ? ORDER BY seq LIMIT ?"
        with self._read() as db:
            return [(r[0], _complaint(r[1:])) for r in db.execute(sql, (company, after, limit))]

    # -- checkpoints, horizons and snapshots -----------------------------------------------------------------

    def _get_checkpoint(self, company: str, source: str) -> Checkpoint | None:
        with self._read() as db:
            found = db.execute(
                "SELECT doc FROM checkpoints WHERE company = ? AND source = ?", (company, source)
            ).fetchone()
        return None if found is None else codec.checkpoint_from(json.loads(found[0]))

    def _put_checkpoint(self, cp: Checkpoint) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO checkpoints VALUES (?, ?, ?)",
                (cp.company, cp.source, codec.dumps(codec.checkpoint_doc(cp))),
            )

    def _list_checkpoints(self) -> list[Checkpoint]:
        with self._read() as db:
            return [codec.checkpoint_from(json.loads(r[0])) for r in db.execute("SELECT doc FROM checkpoints")]

    def _raise_horizon(self, company: str, platform: str, observed_until: datetime) -> None:
        sql = """INSERT INTO horizons VALUES (?, ?, ?) ON CONFLICT (company, platform)
                 DO UPDATE SET observed_until = MAX(observed_until, excluded.observed_until)"""
        with self._tx() as db:
            db.execute(sql, (company, platform, codec.to_us(observed_until)))

    def _get_horizons(self, company: str) -> dict[str, datetime]:
        with self._read() as db:
            rows = db.execute("SELECT platform, observed_until FROM horizons WHERE company = ?", (company,))
            return {platform: codec.from_us(at) for platform, at in rows}

    def _put_snapshot(self, key: str, data: bytes, generated_at: datetime) -> None:
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?)", (key, data, codec.to_us(generated_at)))

    def _get_snapshot(self, key: str) -> tuple[bytes, datetime] | None:
        with self._read() as db:
            found = db.execute("SELECT body, generated_at FROM snapshots WHERE key = ?", (key,)).fetchone()
        return None if found is None else (bytes(found[0]), codec.from_us(found[1]))

    # -- subscriptions ---------------------------------------------------------------------------------------

    def _put_subscription(self, sub: Subscription) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR REPLACE INTO subscriptions VALUES (?, ?, ?, ?, ?)",
                (sub.sub_id, normalise_email(sub.email), sub.company, sub.status,
                 codec.dumps(codec.subscription_doc(sub))),
            )

    def _subscriptions(self, where: str, params: Any) -> list[Subscription]:
        with self._read() as db:
            rows = db.execute(f"SELECT doc FROM subscriptions WHERE {where}", params)
            return [codec.subscription_from(json.loads(r[0])) for r in rows]

    def _get_subscription(self, sub_id: str) -> Subscription | None:
        found = self._subscriptions("sub_id = ?", (sub_id,))
        return found[0] if found else None

    def _find_subscriptions(self, email_norm: str, company: str) -> list[Subscription]:
        return self._subscriptions("email_norm = ? AND company = ?", (email_norm, company))

    def _list_subscriptions(self, *, company: str | None, status: str | None) -> list[Subscription]:
        return self._subscriptions(
            "(:company IS NULL OR company = :company) AND (:status IS NULL OR status = :status)",
            {"company": company, "status": status},
        )

    def _mark_alerted(self, sub_id: str, platform: str, post_id: str, at: datetime) -> bool:
        with self._tx() as db:
            sql = "INSERT OR IGNORE INTO alerts VALUES (?, ?, ?, ?)"
            return db.execute(sql, (sub_id, platform, post_id, codec.to_us(at))).rowcount == 1

    def _was_alerted(self, sub_id: str, platform: str, post_id: str) -> bool:
        sql = "SELECT 1 FROM alerts WHERE sub_id = ? AND platform = ? AND post_id = ?"
        with self._read() as db:
            return db.execute(sql, (sub_id, platform, post_id)).fetchone() is not None

    def _suppress(self, email_norm: str, reason: str, at: datetime | None) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO suppressions VALUES (?, ?, ?)",
                (email_norm, reason, None if at is None else codec.to_us(at)),
            )

    def _is_suppressed(self, email_norm: str) -> bool:
        with self._read() as db:
            return db.execute("SELECT 1 FROM suppressions WHERE email_norm = ?", (email_norm,)).fetchone() is not None

    def _record_event(self, kind: str, key: str, at: datetime) -> None:
        with self._tx() as db:
            db.execute("INSERT INTO events VALUES (?, ?, ?)", (kind, key, codec.to_us(at)))

    def _count_events(self, kind: str, key: str, since: datetime) -> int:
        sql = "SELECT COUNT(*) FROM events WHERE kind = ? AND key = ? AND at >= ?"
        with self._read() as db:
            return db.execute(sql, (kind, key, codec.to_us(since))).fetchone()[0]


@contextlib.contextmanager
def _translated() -> Iterator[None]:
    """Turn sqlite3 errors into store errors; a locked or unreadable file is worth a retry, the rest is not."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        raise StoreUnavailable(f"SQLite store unavailable: {exc}") from exc
    except sqlite3.Error as exc:
        raise StoreError(f"SQLite store error: {exc}") from exc
