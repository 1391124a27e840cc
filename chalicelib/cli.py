"""Command-line entry point for operators: ``python -m chalicelib <verb> --help``.

Every verb wires its job like a schedule does (settings → registry → store → job) and turns any
configuration or input error into one clear line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from chalicelib import __version__
from chalicelib.errors import FairReplyError

EXIT_USAGE = 2

class CliError(Exception):
    """Bad input on the command line; printed as one line, exit code 2."""


def _cmd_companies(args: argparse.Namespace) -> int:
    from chalicelib import runtime
    from chalicelib.registry import load_registry

    path = args.file or runtime.settings().companies_path
    companies = load_registry(path)
    if args.action == "validate":
        print(f"{path}: {len(companies)} companies, valid")
        return 0
    for company in sorted(companies.values(), key=lambda c: c.slug):
        handles = "; ".join(f"{p}: {', '.join(h)}" for p, h in sorted(company.handles.items()))
        flags = "".join([" [sample]" if company.sample else "", " [retired]" if company.retired else ""])
        print(f"{company.slug}\t{company.name}{flags}\t{handles}")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    from chalicelib.local import run_local

    return run_local(host=args.host, port=args.port, scheduler=False, sample_data=not args.no_sample_data)


def _cmd_run(args: argparse.Namespace) -> int:
    from chalicelib.local import run_local

    return run_local(host=args.host, port=args.port, scheduler=True, sample_data=not args.no_sample_data)


def _add_server_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1, local only)")
    parser.add_argument("--port", type=_port, default=8000, help="port to listen on (default 8000)")
    parser.add_argument("--no-sample-data", action="store_true", help="do not load the bundled sample data")


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--port must be a number, got {value!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"--port must be between 0 and 65535, got {port}")
    return port


# Each module adds its verbs with ``register(subparsers)`` and sets ``handler=`` on them.
VERB_MODULES: tuple[str, ...] = ("chalicelib.jobs.aggregate_cli", "chalicelib.jobs.poll_cli", "chalicelib.jobs.importer")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m chalicelib",
        description="Fair Reply operators' command line. Each verb has --help.",
    )
    parser.add_argument("--version", action="version", version=f"fair-reply {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

    run = sub.add_parser("run", help="start the local stack: API + page on 127.0.0.1, scheduler, SQLite storage")
    _add_server_args(run)
    run.set_defaults(handler=_cmd_run)

    serve = sub.add_parser("serve", help="serve the API and page only (no scheduled jobs)")
    _add_server_args(serve)
    serve.set_defaults(handler=_cmd_serve)

    companies = sub.add_parser("companies", help="list or validate the company registry (companies.toml)")
    companies.add_argument("action", choices=["list", "validate"], nargs="?", default="list")
    companies.add_argument("--file", help="registry file (default: FAIR_REPLY_COMPANIES or ./companies.toml)")
    companies.set_defaults(handler=_cmd_companies)

    for module in VERB_MODULES:
        importlib.import_module(module).register(sub)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except (CliError, FairReplyError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
