"""``python -m chalicelib aggregate``: rebuild the snapshots now, as the schedule does."""

from __future__ import annotations

import argparse
import json
from datetime import datetime
from typing import Any


def parse_when(value: str) -> datetime:
    """An ISO-8601 instant for the command line; naive values are UTC."""
    from chalicelib.domain.models import parse_instant

    try:
        return parse_instant(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO-8601 date or time: {value!r}") from None


def _cmd(args: argparse.Namespace) -> int:
    from chalicelib.jobs.aggregate import run

    result: dict[str, Any] = run(now=args.now)
    print(json.dumps(result))
    return 0


def register(sub: Any) -> None:
    parser = sub.add_parser("aggregate", help="rebuild per-company and leaderboard snapshots from stored complaints")
    parser.add_argument("--now", type=parse_when, default=None, help="evaluate as of this time (default: now)")
    parser.set_defaults(handler=_cmd)
