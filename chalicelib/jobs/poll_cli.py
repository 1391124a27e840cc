"""``python -m chalicelib poll | backfill | status``: the poll job, a one-off history read, and its health."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from chalicelib.jobs.aggregate_cli import parse_when


def _cmd_poll(args: argparse.Namespace) -> int:
    from chalicelib.jobs.poll import run
    from chalicelib.sources.registry import enabled_names

    if not enabled_names():
        print("no live sources enabled: set FAIR_REPLY_SOURCES (e.g. 'mastodon,bluesky' or 'all')", file=sys.stderr)
    summary = run(
        now=args.now, force=args.force, only_companies=tuple(args.company or ()), only_sources=tuple(args.source or ())
    )
    print(json.dumps(summary, default=str))
    return 1 if summary.get("errors") else 0


def _cmd_backfill(args: argparse.Namespace) -> int:
    from chalicelib import runtime
    from chalicelib.cli import CliError
    from chalicelib.jobs.poll import backfill
    from chalicelib.sources.registry import build_sources

    companies = runtime.registry()
    if args.company not in companies:
        raise CliError(f"unknown company {args.company!r}; see `python -m chalicelib companies`")
    source = build_sources({**_environ(), "FAIR_REPLY_SOURCES": args.source}).get(args.source)
    if source is None:
        raise CliError(f"source {args.source!r} is not available (X needs FAIR_REPLY_X_BEARER_TOKEN)")
    if hasattr(source, "lookback"):
        source.lookback = timedelta(days=args.days)  # type: ignore[attr-defined]
    bar = _progress(args.max_requests)
    try:
        result = backfill(
            runtime.store(), companies, source, args.company, now=args.now or datetime.now(UTC),
            max_requests=args.max_requests, on_page=(lambda used: bar.update(used - bar.n)) if bar else None,
        )
    finally:
        if bar is not None:
            bar.close()
    print(json.dumps({
        "company": args.company, "source": args.source, "pages": result.pages, "requests": result.requests,
        "posts": result.stats.posts_read, "posts_new": result.stats.posts_new, "complaints": result.stats.complaints,
        "more_remains": result.exhausted,
    }))
    return 0


def _environ() -> dict[str, str]:
    import os

    return dict(os.environ)


def _progress(total: int) -> Any:
    """A tqdm bar of requests spent, on a terminal only (logs and pipes get the JSON summary alone)."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="req", desc="backfill", file=sys.stderr)


def _cmd_status(args: argparse.Namespace) -> int:
    from chalicelib import runtime
    from chalicelib.health import poll_status

    rows = poll_status(runtime.store(), runtime.registry(), args.now or datetime.now(UTC))
    if args.json:
        print(json.dumps(rows))
        return 0
    if not rows:
        print("no polls yet (enable sources with FAIR_REPLY_SOURCES, then run `python -m chalicelib poll`)")
        return 0
    header = ("company", "source", "ok", "last success", "lag", "budget", "paused until", "last error")
    table = [header] + [
        (
            r["company"], r["source"], "yes" if r["ok"] else "NO", r["last_success"] or "-",
            _duration(r["poll_lag_seconds"]), "-" if r["remaining_budget"] is None else str(r["remaining_budget"]),
            r["paused_until"] or "-", (r["last_error"] or "-")[:60],
        )
        for r in rows
    ]
    widths = [max(len(str(row[i])) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0 if all(r["ok"] for r in rows) else 1


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes = seconds / 60
    return f"{minutes:.0f}m" if minutes < 120 else f"{minutes / 60:.1f}h"


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def register(sub: Any) -> None:
    poll = sub.add_parser("poll", help="poll every company x enabled source once (FAIR_REPLY_SOURCES), as the schedule does")
    poll.add_argument("--company", action="append", help="only this company (repeatable)")
    poll.add_argument("--source", action="append", help="only this source (repeatable)")
    poll.add_argument("--now", type=parse_when, default=None, help="the run's time (default: now)")
    poll.add_argument("--force", action="store_true", help="ignore this 5-minute slot's claims by a scheduled run")
    poll.set_defaults(handler=_cmd_poll)

    backfill = sub.add_parser("backfill", help="read one company x source from the oldest the API serves")
    backfill.add_argument("company", help="company slug")
    backfill.add_argument("source", help="platform: x, mastodon, bluesky or reddit")
    backfill.add_argument("--max-requests", type=_positive, default=100, help="request budget (default 100)")
    backfill.add_argument("--days", type=_positive, default=7, help="how far back to start (default 7)")
    backfill.add_argument("--now", type=parse_when, default=None, help="the run's time (default: now)")
    backfill.set_defaults(handler=_cmd_backfill)

    status = sub.add_parser("status", help="per company x source: last poll, lag, last error, rate budget")
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    status.add_argument("--now", type=parse_when, default=None, help="compute lag as of this time")
    status.set_defaults(handler=_cmd_status)
