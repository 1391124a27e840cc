"""What Fair Reply costs on AWS per month: measured DynamoDB request units per complaint, priced in us-east-1.

The real pipeline runs under moto on a real archive (the first 1,000 rows of the Customer Support on
Twitter dataset in ``../shared/fixtures/twcs``): the ingestor stores posts and pairs threads exactly as a
poll does, then the aggregate job runs twice (once absorbing every complaint, once with nothing new). moto
does not meter capacity, so every call the store makes is metered here from DynamoDB's published rules:
a write costs 1 WRU per started KB of the larger of the old and new item, plus the same for each global
secondary index entry it puts or removes (2 when an index key moves), and conditional writes that fail
still cost their WRUs; a read costs 1 RRU per started 4 KB read (half when eventually consistent, as index
queries always are), a query paying for every item it evaluates before filtering.

Lambda duration, API traffic and e-mail volume cannot be measured offline, so they are stated assumptions
(``Assumptions``); change them and rerun. ``python -m bench.cost_model`` prints the table docs/cost.md shows.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TWCS = ROOT.parent / "shared" / "fixtures" / "twcs" / "twcs_first1000_rows.csv"
TABLE = "fair-reply-cost"
GSIS = {"GSI1": ("GSI1PK", "GSI1SK"), "GSI2": ("GSI2PK", "GSI2SK"), "BySeq": ("SEQPK", "seq")}
ITEM_OVERHEAD_BYTES = 100  # DynamoDB bills storage per item, and per index entry, with 100 bytes of overhead

# us-east-1 on-demand list prices, USD. DynamoDB figures are those after AWS's 2024-11-01 on-demand price cut.
PRICE_DATE = "2025-01 (us-east-1 list prices as published then; re-check https://aws.amazon.com/pricing before quoting)"
PRICES = {
    "dynamodb_wru_per_million": 0.625,
    "dynamodb_rru_per_million": 0.125,
    "dynamodb_storage_gb_month": 0.25,
    "dynamodb_pitr_gb_month": 0.20,
    "lambda_gb_second": 0.0000166667,
    "lambda_requests_per_million": 0.20,
    "apigw_rest_requests_per_million": 3.50,
    "ses_per_thousand_emails": 0.10,
    "cloudwatch_alarm_metric_month": 0.10,
}


@dataclass(frozen=True, slots=True)
class Assumptions:
    """What cannot be measured offline. Durations are averages per invocation."""

    complaints_per_month: int = 1_000_000
    companies: int = 1_000
    sources_per_company: int = 1
    poll_runs_per_month: int = 30 * 24 * 12  # every 5 minutes
    aggregate_runs_per_month: int = 30 * 24 * 4  # every 15 minutes
    alerts_runs_per_month: int = 30 * 24 * 4
    api_requests_per_month: int = 1_000_000
    emails_per_month: int = 10_000
    poll_seconds: float = 60.0  # network-bound: ~1,000 companies' timelines per run
    poll_memory_mb: int = 512
    aggregate_seconds: float = 120.0
    aggregate_memory_mb: int = 1024
    alerts_seconds: float = 10.0
    alerts_memory_mb: int = 256
    api_seconds: float = 0.15
    api_memory_mb: int = 512
    alarm_metrics: int = 14  # alarms in infra/template.yaml, counting each metric of a metric-math alarm


# -- metering ---------------------------------------------------------------------------------------------


def _value_size(value: Mapping[str, Any]) -> int:
    (kind, inner), = value.items()
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "N":
        digits = str(Decimal(inner).normalize()).lstrip("-").replace(".", "").lstrip("0") or "0"
        return 1 + math.ceil(len(digits) / 2)
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + _value_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode("utf-8")) + _value_size(v) for k, v in inner.items())
    if kind in ("SS", "BS"):
        return sum(len(v) if kind == "BS" else len(v.encode("utf-8")) for v in inner)
    if kind == "NS":
        return sum(_value_size({"N": v}) for v in inner)
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: Mapping[str, Any] | None) -> int:
    """DynamoDB's item size: attribute name bytes plus value bytes."""
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + _value_size(value) for name, value in item.items())


def _write_units(size: int) -> int:
    return max(1, math.ceil(size / 1024))


def _read_units(size: int, consistent: bool) -> float:
    units = max(1, math.ceil(size / 4096))
    return float(units) if consistent else units / 2


def _index_key(item: Mapping[str, Any] | None, keys: tuple[str, str]) -> tuple[Any, ...] | None:
    if not item or not all(k in item for k in keys):
        return None
    return tuple(str(item[k]) for k in keys)


class Meter:
    """Counts request units and items by operation; ``phase`` labels what the pipeline is doing."""

    def __init__(self) -> None:
        self.wru: Counter[str] = Counter()
        self.rru: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()
        self.phase = "setup"

    def write(self, op: str, old: Mapping[str, Any] | None, new: Mapping[str, Any] | None, applied: bool) -> None:
        self.calls[self.phase] += 1
        units = _write_units(max(item_size(old), item_size(new)))
        if applied:
            for keys in GSIS.values():
                before, after = _index_key(old, keys), _index_key(new, keys)
                if before is not None and after is not None:
                    units += _write_units(item_size(new)) * (2 if before != after else 1)
                elif before is not None:
                    units += _write_units(item_size(old))
                elif after is not None:
                    units += _write_units(item_size(new))
        self.wru[self.phase] += units

    def read(self, size: int, consistent: bool) -> None:
        self.calls[self.phase] += 1
        self.rru[self.phase] += _read_units(size, consistent)


class MeteredClient:
    """A DynamoDB client that meters each call the store makes, then makes it."""

    def __init__(self, client: Any, meter: Meter) -> None:
        self._client = client
        self.meter = meter
        self.exceptions = client.exceptions

    def _current(self, table: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
        return self._client.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")

    def _write(self, op: str, key: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        old = self._current(kwargs["TableName"], key)
        try:
            response = getattr(self._client, op)(**kwargs)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                self.meter.write(op, old, old, applied=False)
            raise
        self.meter.write(op, old, self._current(kwargs["TableName"], key), applied=True)
        return response

    def put_item(self, **kwargs: Any) -> dict[str, Any]:
        key = {"PK": kwargs["Item"]["PK"], "SK": kwargs["Item"]["SK"]}
        return self._write("put_item", key, **kwargs)

    def update_item(self, **kwargs: Any) -> dict[str, Any]:
        return self._write("update_item", kwargs["Key"], **kwargs)

    def delete_item(self, **kwargs: Any) -> dict[str, Any]:
        return self._write("delete_item", kwargs["Key"], **kwargs)

    def get_item(self, **kwargs: Any) -> dict[str, Any]:
        response = self._client.get_item(**kwargs)
        self.meter.read(item_size(response.get("Item")), kwargs.get("ConsistentRead", False))
        return response

    def query(self, **kwargs: Any) -> dict[str, Any]:
        response = self._client.query(**kwargs)
        evaluated = response.get("Items", [])
        if "FilterExpression" in kwargs or kwargs.get("Select") == "COUNT":
            evaluated = self._client.query(**_unfiltered(kwargs)).get("Items", [])
        consistent = kwargs.get("ConsistentRead", False) and "IndexName" not in kwargs
        self.meter.read(sum(item_size(i) for i in evaluated), consistent)
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _unfiltered(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """The same query without its filter, to see what DynamoDB evaluated (and bills) before filtering."""
    query = {k: v for k, v in kwargs.items() if k not in ("FilterExpression", "Select", "ProjectionExpression")}
    used = query["KeyConditionExpression"]
    if "ExpressionAttributeValues" in query:
        query["ExpressionAttributeValues"] = {k: v for k, v in query["ExpressionAttributeValues"].items() if k in used}
    if "ExpressionAttributeNames" in query:
        names = {k: v for k, v in query["ExpressionAttributeNames"].items() if k in used}
        if names:
            query["ExpressionAttributeNames"] = names
        else:
            del query["ExpressionAttributeNames"]
    return query


# -- the measured run ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Measured:
    complaints: int
    answered: int
    companies: int
    posts: int
    ingest_wru: float
    ingest_rru: float
    aggregate_first_wru: float
    aggregate_first_rru: float
    aggregate_idle_wru: float
    aggregate_idle_rru: float
    aggregate_refresh_wru: float
    aggregate_refresh_rru: float
    checkpoint_wru: float
    checkpoint_rru: float
    snapshot_read_rru: float
    stored_bytes: int


def _archive(path: Path, rows: int | None = None) -> tuple[list[Any], dict[str, Any]]:
    from chalicelib.domain.models import Company
    from chalicelib.sources.archives import ArchivedPost, iter_twcs

    with path.open("rb") as fp:
        items = [i for i in iter_twcs(fp) if isinstance(i, ArchivedPost)][:rows]
    handles = sorted({i.post.author.handle for i in items if i.outbound})
    companies = {}
    for handle in handles:
        slug = "".join(ch if ch.isalnum() else "-" for ch in handle.lower()).strip("-")
        companies[slug] = Company(slug=slug, name=handle, handles={"x": (handle,)})
    return [i.post for i in items], companies


def _stored_bytes(client: Any) -> int:
    """Table plus index storage: each item once, and once more per index it appears in (ALL projection)."""
    total = 0
    for page in client.get_paginator("scan").paginate(TableName=TABLE):
        for item in page["Items"]:
            copies = 1 + sum(_index_key(item, keys) is not None for keys in GSIS.values())
            total += copies * (item_size(item) + ITEM_OVERHEAD_BYTES)
    return total


#: The scheduled aggregate's cadence and the all-time window's (FAIR_REPLY_ALL_WINDOW_MINUTES): one run in four
#: also recomputes the all-time window.
AGGREGATE_EVERY_MINUTES = 15
ALL_WINDOW_MINUTES = 60


def idle_per_company_run(m: Measured) -> tuple[float, float]:
    """WRU and RRU per company of an average run with nothing new, over an hour of the schedule."""
    due = AGGREGATE_EVERY_MINUTES / ALL_WINDOW_MINUTES
    wru = (1 - due) * m.aggregate_idle_wru + due * m.aggregate_refresh_wru
    rru = (1 - due) * m.aggregate_idle_rru + due * m.aggregate_refresh_rru
    return wru / m.companies, rru / m.companies


def measure(archive: Path = TWCS, batch: int = 100, rows: int | None = None) -> Measured:
    """Run ingest, aggregate and the per-run bookkeeping under moto, metering every store call."""
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    import boto3
    from moto import mock_aws

    from chalicelib.domain.models import Checkpoint
    from chalicelib.jobs.aggregate import company_key, run_aggregate, scheduled_options
    from chalicelib.jobs.ingest import Ingestor
    from chalicelib.store.dynamodb import DynamoDBStore, create_table

    posts, companies = _archive(archive, rows)
    with mock_aws():
        raw = boto3.client("dynamodb", region_name="us-east-1")
        create_table(raw, TABLE)
        meter = Meter()
        store = DynamoDBStore(MeteredClient(raw, meter), TABLE)
        ingestor = Ingestor(store, companies, source="x")
        meter.phase = "ingest"
        for start in range(0, len(posts), batch):  # a poll stores what one page of results brings
            ingestor.ingest(posts[start : start + batch])
        now = max(p.created_at for p in posts) + timedelta(hours=1)
        options = scheduled_options(min_sample=30, all_window_minutes=ALL_WINDOW_MINUTES)
        meter.phase = "aggregate_first"
        run_aggregate(store, companies, now, options)
        meter.phase = "aggregate_idle"  # the next run: nothing new, the all-time window not due
        run_aggregate(store, companies, now + timedelta(minutes=AGGREGATE_EVERY_MINUTES), options)
        meter.phase = "aggregate_refresh"  # nothing new, the all-time window due again
        run_aggregate(store, companies, now + timedelta(minutes=ALL_WINDOW_MINUTES + 1), options)
        meter.phase = "checkpoint"  # per company and source, every poll: read cursor, save cursor, raise horizon
        slug = sorted(companies)[0]
        store.get_checkpoint(slug, "x")
        store.put_checkpoint(Checkpoint(company=slug, source="x", cursor="1234567890123456789", updated_at=now,
                                        newest_post_at=now))
        store.set_horizon(slug, "x", now)
        meter.phase = "snapshot_read"
        store.get_snapshot(company_key(slug, "30d"))
        meter.phase = "report"
        complaints = answered = 0
        for company in companies:
            page_cursor = None
            while True:
                page = store.list_complaints(company, limit=1000, cursor=page_cursor)
                complaints += len(page.items)
                answered += sum(c.first_reply is not None for c in page.items)
                if page.next_cursor is None:
                    break
                page_cursor = page.next_cursor
        stored = _stored_bytes(raw)
    return Measured(
        complaints=complaints, answered=answered, companies=len(companies), posts=len(posts),
        ingest_wru=meter.wru["ingest"], ingest_rru=meter.rru["ingest"],
        aggregate_first_wru=meter.wru["aggregate_first"], aggregate_first_rru=meter.rru["aggregate_first"],
        aggregate_idle_wru=meter.wru["aggregate_idle"], aggregate_idle_rru=meter.rru["aggregate_idle"],
        aggregate_refresh_wru=meter.wru["aggregate_refresh"], aggregate_refresh_rru=meter.rru["aggregate_refresh"],
        checkpoint_wru=meter.wru["checkpoint"], checkpoint_rru=meter.rru["checkpoint"],
        snapshot_read_rru=meter.rru["snapshot_read"], stored_bytes=stored,
    )


# -- the monthly bill ---------------------------------------------------------------------------------------


def monthly_cost(m: Measured, a: Assumptions = Assumptions()) -> list[tuple[str, str, float]]:
    """(line item, how it is computed, USD per month) for the scenario in ``a``."""
    per_complaint_wru = m.ingest_wru / m.complaints + (m.aggregate_first_wru - m.aggregate_refresh_wru) / m.complaints
    per_complaint_rru = m.ingest_rru / m.complaints + (m.aggregate_first_rru - m.aggregate_refresh_rru) / m.complaints
    idle_wru_per_company_run, idle_rru_per_company_run = idle_per_company_run(m)
    polls = a.poll_runs_per_month * a.companies * a.sources_per_company
    wru = (a.complaints_per_month * per_complaint_wru
           + a.aggregate_runs_per_month * a.companies * idle_wru_per_company_run + polls * m.checkpoint_wru)
    rru = (a.complaints_per_month * per_complaint_rru
           + a.aggregate_runs_per_month * a.companies * idle_rru_per_company_run + polls * m.checkpoint_rru
           + a.api_requests_per_month * m.snapshot_read_rru)
    stored_gb_per_month = a.complaints_per_month * m.stored_bytes / m.complaints / 1e9
    gb_seconds = (
        a.poll_runs_per_month * a.poll_seconds * a.poll_memory_mb
        + a.aggregate_runs_per_month * a.aggregate_seconds * a.aggregate_memory_mb
        + a.alerts_runs_per_month * a.alerts_seconds * a.alerts_memory_mb
        + a.api_requests_per_month * a.api_seconds * a.api_memory_mb
    ) / 1024
    invocations = a.poll_runs_per_month + a.aggregate_runs_per_month + a.alerts_runs_per_month + a.api_requests_per_month
    p = PRICES
    return [
        ("DynamoDB writes", f"{wru / 1e6:,.1f} M WRU ({per_complaint_wru:.2f}/complaint + per-run bookkeeping)",
         wru / 1e6 * p["dynamodb_wru_per_million"]),
        ("DynamoDB reads", f"{rru / 1e6:,.1f} M RRU ({per_complaint_rru:.2f}/complaint + runs + API reads)",
         rru / 1e6 * p["dynamodb_rru_per_million"]),
        ("DynamoDB storage", f"{stored_gb_per_month:.2f} GB added per month (table + indexes)",
         stored_gb_per_month * p["dynamodb_storage_gb_month"]),
        ("DynamoDB backups (PITR)", f"{stored_gb_per_month:.2f} GB", stored_gb_per_month * p["dynamodb_pitr_gb_month"]),
        ("Lambda compute", f"{gb_seconds:,.0f} GB-s (assumed durations)", gb_seconds * p["lambda_gb_second"]),
        ("Lambda requests", f"{invocations / 1e6:.2f} M invocations", invocations / 1e6 * p["lambda_requests_per_million"]),
        ("API Gateway (REST)", f"{a.api_requests_per_month / 1e6:.2f} M requests",
         a.api_requests_per_month / 1e6 * p["apigw_rest_requests_per_million"]),
        ("SES", f"{a.emails_per_month:,} e-mails", a.emails_per_month / 1000 * p["ses_per_thousand_emails"]),
        ("CloudWatch alarms", f"{a.alarm_metrics} alarm metrics", a.alarm_metrics * p["cloudwatch_alarm_metric_month"]),
    ]


def report(m: Measured, a: Assumptions = Assumptions()) -> str:
    lines = [
        f"Measured on {m.posts} archived posts: {m.complaints} complaints ({m.answered} answered), {m.companies} companies.",
        "",
        "| measured (per unit) | WRU | RRU |",
        "|---|---|---|",
        f"| ingest, per complaint (posts, accounts, complaint, replies, pairing reads) | "
        f"{m.ingest_wru / m.complaints:.2f} | {m.ingest_rru / m.complaints:.2f} |",
        f"| aggregate, per complaint absorbed | {(m.aggregate_first_wru - m.aggregate_refresh_wru) / m.complaints:.2f} | "
        f"{(m.aggregate_first_rru - m.aggregate_refresh_rru) / m.complaints:.2f} |",
        f"| aggregate, per company per run with nothing new (all-time window not due) | "
        f"{m.aggregate_idle_wru / m.companies:.2f} | {m.aggregate_idle_rru / m.companies:.2f} |",
        f"| aggregate, per company per run with nothing new that also refreshes the all-time window | "
        f"{m.aggregate_refresh_wru / m.companies:.2f} | {m.aggregate_refresh_rru / m.companies:.2f} |",
        "| aggregate, per company per run with nothing new, averaged over the schedule (one run in "
        f"{ALL_WINDOW_MINUTES // AGGREGATE_EVERY_MINUTES} refreshes) | "
        + " | ".join(f"{v:.2f}" for v in idle_per_company_run(m)) + " |",
        f"| poll bookkeeping, per company × source per run | {m.checkpoint_wru:.2f} | {m.checkpoint_rru:.2f} |",
        f"| API request reading one snapshot | 0 | {m.snapshot_read_rru:.2f} |",
        f"| storage per complaint (bytes, table + indexes) | {m.stored_bytes / m.complaints:,.0f} | |",
        "",
        f"Monthly cost for {a.complaints_per_month:,} complaints and {a.companies:,} companies, us-east-1, "
        f"prices as of {PRICE_DATE}:",
        "",
        "| line item | quantity | USD / month |",
        "|---|---|---|",
    ]
    rows = monthly_cost(m, a)
    lines += [f"| {name} | {how} | {usd:,.2f} |" for name, how, usd in rows]
    lines.append(f"| **total** | | **{sum(usd for _, _, usd in rows):,.2f}** |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cost_model", description=__doc__.split("\n\n")[0])
    parser.add_argument("--archive", type=Path, default=TWCS)
    parser.add_argument("--rows", type=int, help="use only the first ROWS posts (quicker, noisier)")
    args = parser.parse_args(argv)
    started = datetime.now(UTC)
    print(report(measure(args.archive, rows=args.rows)))
    print(f"\n(ran {started:%Y-%m-%d}, {(datetime.now(UTC) - started).total_seconds():.0f} s)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main(sys.argv[1:]))
