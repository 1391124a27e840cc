"""Ingest: parse → pair → store of a twarc2 archive, against a bare parse-and-insert loop on the same file.

The floor is the least any importer must do: ``json.loads`` per line and one ``executemany`` of the posts'
columns into a fresh SQLite table. The subject is ``import_archive(fmt="twarc2")`` into a fresh
SQLiteStore with a registry of the archive's companies: parsing through the live X parser, storing posts
and authors, pairing each thread, classifying complaints and replies. Both run in fresh interpreters,
alternately, on the same generated file (:mod:`bench.archive_gen`); the figure that matters is the subject's
rate as a share of the floor's (target ≥ ⅓). Peak RSS of each child at 1×, 10× and 100× the smallest
archive shows whether memory stays flat as the archive grows (target: 100× within 1.5× of 1×).

DynamoDB write units per complaint are measured by ``bench.cost_model`` (its own entry, ``bench.write_units``).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import median, replace_section, run_child, stamp

SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (2_000, 20_000, 200_000)
RATE_TARGET = 1 / 3
MEMORY_TARGET = 1.5

_FLOOR = """
import json, sqlite3, time
from bench.common import emit
started = time.perf_counter()
conn = sqlite3.connect({db!r})
conn.execute("CREATE TABLE posts (id TEXT PRIMARY KEY, author TEXT, created_at TEXT, text TEXT, thread TEXT, "
             "reply_to TEXT)")
posts = 0
with open({path!r}, "rb") as fp:
    for line in fp:
        page = json.loads(line)
        rows = [(t["id"], t["author_id"], t["created_at"], t["text"], t.get("conversation_id"),
                 t.get("in_reply_to_user_id")) for t in page.get("data", ())]
        conn.executemany("INSERT OR IGNORE INTO posts VALUES (?, ?, ?, ?, ?, ?)", rows)
        posts += len(rows)
conn.commit()
conn.close()
emit({{"seconds": time.perf_counter() - started, "posts": posts}})
"""

_READER = """
import time
from bench.common import emit
from chalicelib.sources.archives import ArchivedPost, iter_twarc2
started = time.perf_counter()
posts = 0
with open({path!r}, "rb") as fp:
    for item in iter_twarc2(fp):
        posts += type(item) is ArchivedPost
emit({{"seconds": time.perf_counter() - started, "posts": posts}})
"""

# The classifier calls the import makes on these archives: each complaint (a customer's post opening a
# conversation with a company) and each company reply, through the same per-ingestor cache as the Ingestor.
_READER_CLASSIFIER = """
import functools, time
from bench.common import emit
from bench.ingest import registry_for
from chalicelib.domain.classify import classify_inbound, classify_reply
from chalicelib.domain.models import normalise_handle
from chalicelib.sources.archives import ArchivedPost, iter_twarc2
started = time.perf_counter()
inbound = functools.lru_cache(maxsize=4096)(classify_inbound)
reply = functools.lru_cache(maxsize=4096)(classify_reply)
handles = {{normalise_handle(h) for c in registry_for({companies}).values() for h in c.handles_on("x")}}
posts = classified = 0
with open({path!r}, "rb") as fp:
    for item in iter_twarc2(fp):
        if type(item) is not ArchivedPost:
            continue
        posts += 1
        post = item.post
        if normalise_handle(post.author.handle) in handles:
            if post.in_reply_to_post_id:
                reply(post.text, post.lang)
                classified += 1
        elif post.post_id == post.thread_id:
            inbound(post.text, post.lang)
            classified += 1
emit({{"seconds": time.perf_counter() - started, "posts": posts, "classified": classified}})
"""

_SUBJECT = """
import time
from bench.common import emit
from bench.ingest import registry_for
from chalicelib.jobs.importer import import_archive
from chalicelib.store.sqlite import SQLiteStore
started = time.perf_counter()
store = SQLiteStore({db!r})
report = import_archive({path!r}, fmt="twarc2", store=store, companies=registry_for({companies}))
store.close()
emit({{"seconds": time.perf_counter() - started, "posts": report.imported,
       "complaints": sum(t.complaints for t in report.companies.values()),
       "inbound": sum(t.inbound for t in report.companies.values()),
       "answered": sum(t.answered for t in report.companies.values())}})
"""


_CHILDREN = {"floor": _FLOOR, "reader": _READER, "reader_classifier": _READER_CLASSIFIER, "subject": _SUBJECT}


def registry_for(companies: int) -> dict[str, Any]:
    """The registry the import attributes posts with: the generated archive's companies."""
    from bench.archive_gen import company_handles
    from chalicelib.domain.models import Company

    return {slug: Company(slug=slug, name=slug, handles={"x": handles})
            for slug, handles in company_handles(companies).items()}


def _run(kind: str, archive: Path, work: Path, companies: int) -> dict[str, Any]:
    db = work / f"{kind}.sqlite3"
    for leftover in work.glob(f"{kind}.sqlite3*"):
        leftover.unlink()
    code = _CHILDREN[kind].format(db=str(db), path=str(archive), companies=companies)
    try:
        return run_child(code)
    finally:
        for leftover in work.glob(f"{kind}.sqlite3*"):
            leftover.unlink()


def measure(sizes: tuple[int, ...] = SIZES, repeats: int = 1, companies: int = 5) -> dict[str, Any]:
    """Per size: floor and subject rates (posts/s, medians over `repeats` alternating pairs) and peak RSS."""
    from bench.archive_gen import write_twarc2_archive

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for size in sizes:
            archive = write_twarc2_archive(work / f"archive-{size}.jsonl", size, companies=companies)
            runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in _CHILDREN}
            for _ in range(repeats):  # alternate, so machine noise hits them all alike
                for kind in runs:
                    runs[kind].append(_run(kind, archive.path, work, companies))
            archive.path.unlink()
            floor, subject = runs["floor"], runs["subject"]
            rates = {kind: median([r["posts"] / r["seconds"] for r in done]) for kind, done in runs.items()}
            floor_rate, subject_rate = rates["floor"], rates["subject"]
            rows.append({
                "posts": size,
                "bytes": archive.bytes,
                "complaints": subject[-1]["complaints"],
                "inbound": subject[-1]["inbound"],
                "answered": subject[-1]["answered"],
                "floor_posts_per_s": floor_rate,
                "subject_posts_per_s": subject_rate,
                "share_of_floor": subject_rate / floor_rate,
                "reader_posts_per_s": rates["reader"],
                "reader_classifier_posts_per_s": rates["reader_classifier"],
                "classified": runs["reader_classifier"][-1]["classified"],
                "floor_maxrss_mib": median([r["maxrss_mib"] for r in floor]),
                "subject_maxrss_mib": median([r["maxrss_mib"] for r in subject]),
            })
    largest, smallest = rows[-1], rows[0]
    return {
        "rows": rows,
        "share_of_floor": largest["share_of_floor"],
        "bound_share_of_floor": largest["reader_classifier_posts_per_s"] / largest["floor_posts_per_s"],
        "memory_growth": largest["subject_maxrss_mib"] / smallest["subject_maxrss_mib"],
    }


def table(result: dict[str, Any]) -> str:
    lines = [
        "| archive | floor: parse + insert (reference) | import_archive | share of floor | peak RSS floor | "
        "peak RSS import |",
        "|---|---|---|---|---|---|",
    ]
    base = result["rows"][0]["subject_maxrss_mib"]
    for r in result["rows"]:
        lines.append(
            f"| {r['posts']:,} posts ({r['bytes'] / 2**20:,.0f} MiB, {r['complaints']:,} complaints) | "
            f"{r['floor_posts_per_s']:,.0f} posts/s | {r['subject_posts_per_s']:,.0f} posts/s | "
            f"{r['share_of_floor']:.3f} | {r['floor_maxrss_mib']:,.0f} MiB | {r['subject_maxrss_mib']:,.0f} MiB "
            f"({r['subject_maxrss_mib'] / base:.2f}×) |"
        )
    return "\n".join(lines)


def stages_table(result: dict[str, Any]) -> str:
    """What the shared X reader and the classifier cost on their own, as shares of the floor's rate."""
    lines = [
        "| archive | floor (reference) | archive reader alone (`iter_twarc2`) | reader + classifier calls | "
        "import_archive (reader + classifier + pairing + storing) |",
        "|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        floor = r["floor_posts_per_s"]
        lines.append(
            f"| {r['posts']:,} posts | {floor:,.0f} posts/s (1.000) | "
            f"{r['reader_posts_per_s']:,.0f} posts/s ({r['reader_posts_per_s'] / floor:.3f}) | "
            f"{r['reader_classifier_posts_per_s']:,.0f} posts/s ({r['reader_classifier_posts_per_s'] / floor:.3f};"
            f" {r['classified']:,} texts) | {r['subject_posts_per_s']:,.0f} posts/s ({r['share_of_floor']:.3f}) |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES} instead of {SIZES}")
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args(argv)
    result = measure(QUICK_SIZES if args.quick else SIZES, repeats=args.repeats)
    rate_ok = result["share_of_floor"] >= RATE_TARGET
    memory_ok = result["memory_growth"] <= MEMORY_TARGET
    verdict = (
        f"Rate at the largest archive: {result['share_of_floor']:.3f} of the floor (target ≥ {RATE_TARGET:.2f}: "
        f"{'met' if rate_ok else 'MISSED'}). Peak RSS at 100× the smallest archive: {result['memory_growth']:.2f}× "
        f"(target ≤ {MEMORY_TARGET}×, flat: {'met' if memory_ok else 'MISSED'})."
    )
    bound = result["bound_share_of_floor"]
    stages = (
        "Where the time goes: the same file read by the importer's own reader (the live X parser, building the"
        " domain's posts) and, beside it, also classified the way the import classifies it (each complaint and each"
        " company reply), with nothing paired or stored. These are lower bounds on any import built on this reader"
        " and classifier.\n\n" + stages_table(result) + "\n\n"
        f"Reader and classifier alone at the largest archive: {bound:.3f} of the floor"
        + (", below the ⅓ target before any pairing or storing: the target cannot be met by an import that uses"
           " them, however its pairing and storing are built." if bound < RATE_TARGET else ".")
    )
    body = (
        stamp("make bench  (or: .venv/bin/python -m bench.ingest [--quick])")
        + f"\n\nFresh interpreter per run, the four children alternating; {args.repeats} run(s) of each per size."
        " Peak RSS is each child's ru_maxrss (interpreter included).\n\n" + table(result) + "\n\n" + verdict
        + "\n\n" + stages
    )
    replace_section("ingest", body)
    print(table(result) + "\n\n" + verdict + "\n\n" + stages)
    return 0 if rate_ok and memory_ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
