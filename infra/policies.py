"""Least-privilege IAM policies, one per function and stage, written to ``.chalice/policy-<stage>-<function>.json``.

Chalice reads these files for both ``chalice deploy`` and ``chalice package``, so they cannot contain
CloudFormation references: resources are named instead, which is why the table (``fair-reply-<stage>``),
the SSM prefix (``/fair-reply/<stage>/``), the SES configuration set and the function names are all
deterministic per stage. Edit the tables below, then run ``python -m infra.policies`` to rewrite the files;
a test fails while the files and this module disagree.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

APP = "fair-reply"
CHALICE_DIR = Path(__file__).resolve().parent.parent / ".chalice"
STAGES: tuple[str, ...] = ("dev", "prod")

# The DynamoDB item operations each function's code performs (see chalicelib/store/dynamodb.py).
TABLE_ACTIONS: dict[str, tuple[str, ...]] = {
    # routes read complaints and snapshots; subscribe/confirm/unsubscribe write subscriptions and rate-limit events
    "api_handler": ("GetItem", "Query", "PutItem", "UpdateItem"),
    # posts, complaints, first replies, the change counter, checkpoints and horizons
    "poll": ("GetItem", "Query", "PutItem", "UpdateItem"),
    # reads changed complaints, replaces snapshots (new parts, then the head, then old parts deleted)
    "aggregate": ("GetItem", "Query", "PutItem", "DeleteItem"),
    # reads subscriptions and complaints, records alerts sent and suppressions
    "alerts": ("GetItem", "Query", "PutItem"),
    # SES bounces and complaints (via SNS) add the address to the suppression list
    "ses_events": ("GetItem", "PutItem"),
}

# SSM SecureString parameters (names under the stage prefix) each function reads.
SECRETS: dict[str, tuple[str, ...]] = {
    "api_handler": ("signing-key",),
    "poll": ("x-bearer-token", "reddit-client-id", "reddit-client-secret"),
    "aggregate": (),
    "alerts": ("signing-key",),
    "ses_events": (),
}

SENDS_EMAIL: frozenset[str] = frozenset({"api_handler", "alerts"})

FUNCTIONS: tuple[str, ...] = tuple(TABLE_ACTIONS)


def function_name(stage: str, function: str) -> str:
    """The Lambda function name: what ``chalice deploy`` chooses, and what infra/ pins in CloudFormation."""
    return f"{APP}-{stage}" if function == "api_handler" else f"{APP}-{stage}-{function}"


def table_name(stage: str) -> str:
    return f"{APP}-{stage}"


def ssm_prefix(stage: str) -> str:
    return f"/{APP}/{stage}/"


def policy(stage: str, function: str) -> dict[str, Any]:
    """The IAM policy document for one function in one stage."""
    log_group = f"arn:aws:logs:*:*:log-group:/aws/lambda/{function_name(stage, function)}"
    table = f"arn:aws:dynamodb:*:*:table/{table_name(stage)}"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "OwnLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": [log_group, f"{log_group}:*"],
        },
        {
            "Sid": "Table",
            "Effect": "Allow",
            "Action": [f"dynamodb:{a}" for a in TABLE_ACTIONS[function]],
            "Resource": [table, f"{table}/index/*"],
        },
    ]
    statements.append({
        "Sid": "Tracing",  # Lambda active tracing (config.json "xray": true); X-Ray has no resource-level scoping
        "Effect": "Allow",
        "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
        "Resource": ["*"],
    })
    if SECRETS[function]:
        statements.append({
            "Sid": "Secrets",
            "Effect": "Allow",
            "Action": ["ssm:GetParameter"],
            "Resource": [f"arn:aws:ssm:*:*:parameter{ssm_prefix(stage)}{name}" for name in SECRETS[function]],
        })
    if function in SENDS_EMAIL:
        statements.append({
            "Sid": "SendEmail",
            "Effect": "Allow",
            "Action": ["ses:SendEmail", "ses:SendRawEmail"],
            "Resource": ["arn:aws:ses:*:*:identity/*", f"arn:aws:ses:*:*:configuration-set/{APP}-{stage}"],
        })
    return {"Version": "2012-10-17", "Statement": statements}


def policy_path(stage: str, function: str) -> Path:
    return CHALICE_DIR / f"policy-{stage}-{function}.json"


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2) + "\n"


def write_all() -> list[Path]:
    """Rewrite every policy file; returns the paths written."""
    written = []
    for stage in STAGES:
        for function in FUNCTIONS:
            path = policy_path(stage, function)
            path.write_text(render(policy(stage, function)), encoding="utf-8")
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    for path in write_all():
        print(path.relative_to(CHALICE_DIR.parent))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
