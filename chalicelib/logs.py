"""Structured logging with Powertools, created lazily.

Powertools' Logger costs more import time than the whole hello-world Chalice app, so it is built on first
use rather than at import: a cold start that serves a cached snapshot never pays for it. On Lambda (and
whenever stderr is not a terminal) records are JSON with stable keys (``company``, ``source``, ``job``);
on a terminal, as under ``make run``, they are short human-readable lines.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger

SERVICE = "fair-reply"
_LOGGER: Logger | None = None


def _human_formatter() -> Any:
    from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter

    class HumanFormatter(LambdaPowertoolsFormatter):
        """One line per record: time, level, message, then the structured keys as key=value."""

        _skip = frozenset({"level", "location", "message", "timestamp", "service", "sampling_rate", "xray_trace_id"})

        def format(self, record: logging.LogRecord) -> str:
            body = json.loads(super().format(record))
            keys = " ".join(f"{k}={v}" for k, v in body.items() if k not in self._skip and not isinstance(v, dict))
            stamp = self.formatTime(record, "%H:%M:%S")
            return f"{stamp} {record.levelname.lower():7} {body.get('message', '')}" + (f"  {keys}" if keys else "")

    return HumanFormatter()


def get_logger() -> Logger:
    """The process-wide Powertools logger (built once)."""
    global _LOGGER
    if _LOGGER is None:
        from aws_lambda_powertools import Logger

        on_lambda = bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
        human = not on_lambda and sys.stderr.isatty() and os.environ.get("FAIR_REPLY_LOG_FORMAT") != "json"
        level = os.environ.get("FAIR_REPLY_LOG_LEVEL", "INFO").upper()
        kwargs: dict[str, Any] = {"service": SERVICE, "level": level, "stream": sys.stderr}
        if human:
            kwargs["logger_formatter"] = _human_formatter()
        _LOGGER = Logger(**kwargs)
    return _LOGGER
