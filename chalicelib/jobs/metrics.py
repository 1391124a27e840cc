"""Per-source poll counters, published as CloudWatch EMF through Powertools at the end of a run.

Counting is plain Python (tests read :attr:`PollMetrics.by_source`); Powertools is imported only when a
run actually publishes, because its metrics module costs cold-start time the API functions never need.
On Lambda the EMF blobs go to stdout, where CloudWatch turns them into metrics; locally they are printed
only with ``FAIR_REPLY_METRICS=1``, so ``make run`` output stays readable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

NAMESPACE = "FairReply"
SERVICE = "fair-reply"

# counter attribute -> (EMF metric name, unit)
_METRICS: dict[str, tuple[str, str]] = {
    "posts_fetched": ("PostsFetched", "Count"),
    "posts_new": ("PostsNew", "Count"),
    "complaints_stored": ("ComplaintsStored", "Count"),
    "replies_paired": ("RepliesPaired", "Count"),
    "source_errors": ("SourceErrors", "Count"),
    "rate_limit_waits": ("RateLimitWaits", "Count"),
    "pages": ("PagesStored", "Count"),
}


@dataclass
class SourceCounts:
    """What one source did in one run; ``poll_lag_seconds`` is now − newest post seen (None: nothing seen yet)."""

    posts_fetched: int = 0
    posts_new: int = 0
    complaints_stored: int = 0
    replies_paired: int = 0
    source_errors: int = 0
    rate_limit_waits: int = 0
    pages: int = 0
    poll_lag_seconds: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class PollMetrics:
    """Counters for one poll run, keyed by source (the EMF dimension ``source``)."""

    def __init__(self) -> None:
        self.by_source: dict[str, SourceCounts] = {}

    def source(self, name: str) -> SourceCounts:
        return self.by_source.setdefault(name, SourceCounts())

    def publish(self, env: Mapping[str, str] | None = None) -> int:
        """Emit one EMF blob per source, plus one for the whole run, when enabled; return how many were emitted.

        Per-source blobs carry the ``source`` dimension; the run blob has only ``service`` and ``stage``, the
        exact dimension set the PollLag alarm in infra/template.yaml watches (CloudWatch matches sets exactly).
        """
        env = os.environ if env is None else env
        if not metrics_enabled(env) or not self.by_source:
            return 0
        stage = env.get("FAIR_REPLY_STAGE", "local")
        total = SourceCounts()
        lags = [c.poll_lag_seconds for c in self.by_source.values() if c.poll_lag_seconds is not None]
        total.poll_lag_seconds = max(lags) if lags else None
        for counts in self.by_source.values():
            for attr in _METRICS:
                setattr(total, attr, getattr(total, attr) + getattr(counts, attr))
        blobs = [*({"source": n} for n in sorted(self.by_source)), {}]
        for dims, counts in zip(blobs, [*(self.by_source[n] for n in sorted(self.by_source)), total], strict=True):
            _emit(counts, {"stage": stage, **dims})
        return len(blobs)


def _emit(counts: SourceCounts, dimensions: Mapping[str, str]) -> None:
    from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

    # One instance per blob: a blob's dimensions apply to every metric in it.
    metrics = EphemeralMetrics(namespace=NAMESPACE, service=SERVICE)
    for name, value in dimensions.items():
        metrics.add_dimension(name=name, value=value)
    for attr, (metric, unit) in _METRICS.items():
        metrics.add_metric(name=metric, unit=MetricUnit[unit], value=getattr(counts, attr))
    if counts.poll_lag_seconds is not None:
        metrics.add_metric(name="PollLagSeconds", unit=MetricUnit.Seconds, value=max(0.0, counts.poll_lag_seconds))
    metrics.flush_metrics()


def metrics_enabled(env: Mapping[str, str] | None = None) -> bool:
    """On Lambda always (unless FAIR_REPLY_METRICS=0); locally only when FAIR_REPLY_METRICS=1."""
    env = os.environ if env is None else env
    flag = env.get("FAIR_REPLY_METRICS", "").strip()
    if flag:
        return flag not in ("0", "false", "no")
    return bool(env.get("AWS_LAMBDA_FUNCTION_NAME"))
