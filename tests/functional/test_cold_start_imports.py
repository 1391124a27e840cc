"""A cold process serving stored snapshots must not load what only jobs and on-request statistics need.

Every module a first request imports is executed on a cold Lambda, so these imports are the first request's
cost: see BENCHMARKS.md, "Cold start". The second test invokes the handler as Lambda does, with no
``chalice.test`` loaded (it brings in ``hashlib``, ``email``, ``ssl`` and more, which would hide them).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.conftest import REPO_ROOT

SNAPSHOT_ROUTES = (
    "/", "/companies/acme-air", "/health", "/v1/leaderboard", "/v1/companies", "/v1/companies/acme-air",
    "/v1/companies/acme-air/badge.svg", "/v1/companies/acme-air/complaints",
)
NOT_FOR_SNAPSHOTS = (
    "chalicelib.domain.fairness", "chalicelib.domain.survival", "chalicelib.domain.breakdowns",
    "chalicelib.jobs.aggregate", "chalicelib.jobs.importer", "chalicelib.sources.base", "requests",
    "aws_lambda_powertools", "boto3", "multiprocessing",
)

_CHILD = """
import json, sys
from chalice.test import Client
from app import app
before = set(sys.modules)
statuses = {}
with Client(app, project_dir=sys.argv[1]) as client:
    for route in json.loads(sys.argv[2]):
        statuses[route] = client.http.get(route).status_code
print(json.dumps({"statuses": statuses, "loaded": sorted(set(sys.modules) - before)}))
"""


def _aggregated(tmp_path: Path) -> Path:
    from chalicelib import runtime
    from chalicelib.domain.simulation import generate_sample_complaints
    from chalicelib.jobs.aggregate import AggregateOptions, run_aggregate

    now = datetime.now(UTC).replace(microsecond=0)
    store = runtime.store()
    store.put_complaints(generate_sample_complaints("acme-air", "x", 120, now - timedelta(days=20), now, seed=1))
    run_aggregate(store, runtime.registry(), now, AggregateOptions(replicates=20))
    runtime.reset()  # close the file before the child opens it
    project = tmp_path / "project"
    (project / ".chalice").mkdir(parents=True)
    (project / ".chalice" / "config.json").write_text(
        json.dumps({"version": "2.0", "app_name": "fair-reply", "stages": {"dev": {}}})
    )
    return project


def test_serving_snapshots_loads_no_statistics_sources_or_aws_sdk(tmp_path: Path) -> None:
    # GIVEN stored snapshots for every window, and a fresh interpreter that has imported the app
    project = _aggregated(tmp_path)
    env = {**os.environ, "FAIR_REPLY_PSEUDONYM_SALT": "salt", "PYTHONPATH": str(REPO_ROOT)}
    # WHEN it serves the first request of each snapshot-backed route
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(project), json.dumps(SNAPSHOT_ROUTES)],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # THEN every route answered, and none loaded the statistics, the platform clients or the AWS SDK
    assert result["statuses"] == dict.fromkeys(SNAPSHOT_ROUTES, 200)
    assert [m for m in result["loaded"] if m.split(".")[0] in NOT_FOR_SNAPSHOTS or m in NOT_FOR_SNAPSHOTS] == []


# What a cold Lambda loads, chalice.app alone: per route, the modules its first request must not load.
_IMPORT_APP_LOADS = {"app", "chalicelib", "chalicelib.api", "chalicelib.api.routes", "chalicelib.jobs",
                     "chalicelib.jobs.schedules", "chalicelib.domain", "chalicelib.domain.records",
                     "chalicelib.notify", "chalicelib.notify.routes", "chalicelib.runtime",
                     # runtime.preload(): what nearly every first request needs, SQLite being the configured store
                     "chalicelib.config", "chalicelib.errors", "chalicelib.domain.models", "chalicelib.registry",
                     "chalicelib.registry_overlay", "chalicelib.health", "chalicelib.store", "chalicelib.store.base",
                     "chalicelib.store.codec", "chalicelib.store.cursor", "chalicelib.store.errors",
                     "chalicelib.store.sqlite"}
_MAIL = ("email", "smtplib", "ssl", "socket", "uuid", "secrets", "chalicelib.notify.senders")
#: The statistics a request must not import for their constants (the methodology bundle holds them).
_STATISTICS = ("chalicelib.domain.logrank", "chalicelib.domain.tiers", "statistics", "fractions", "random")
#: A published document is sent with the tag stored beside it: no hashing (OpenSSL), no CSV writer, nothing
#: of the fixed documents.
_PUBLISHED = ("hashlib", "csv", "chalicelib.api.documents", "chalicelib.api.methodology", "chalicelib.api.openapi",
              "chalicelib.notify.subscriptions", *_STATISTICS, *_MAIL, *NOT_FOR_SNAPSHOTS)
#: The fixed documents come from generated files: no store, no registry, no published records, no queries.
_DOCUMENTS = ("sqlite3", "tomllib", "chalicelib.store", "chalicelib.registry", "chalicelib.api.published",
              "chalicelib.api.queries", "chalicelib.api.views", "chalicelib.jobs.snapshots", "csv",
              "chalicelib.notify.subscriptions", "chalicelib.notify.render", *_STATISTICS, *_MAIL,
              *NOT_FOR_SNAPSHOTS)
LAMBDA_ROUTES = {
    "/health": ("hashlib", "chalicelib.api", "chalicelib.notify", *_MAIL, *NOT_FOR_SNAPSHOTS),
    "/v1/subscriptions/confirm": _MAIL,  # a link opened: HMAC check and an HTML page, no mail machinery
    "/v1/subscriptions/unsubscribe": ("sqlite3", "tomllib", "chalicelib.store", *_MAIL),  # the prompt page only
    "/v1/leaderboard": _PUBLISHED,
    "/v1/companies": _PUBLISHED,
    "/v1/companies/{slug}": _PUBLISHED,
    "/v1/methodology": _DOCUMENTS,  # the ETag is hashed: the document holds the running thresholds
    "/v1/openapi.json": ("hashlib", "chalicelib.api.openapi", "chalicelib.api.params", *_DOCUMENTS),
}

_LAMBDA_CHILD = """
import json, sys
before = set(sys.modules)
from app import app
at_import = set(sys.modules)
resource = sys.argv[1]
path = resource.replace("{slug}", "acme-air")
event = {"resource": resource, "path": path, "httpMethod": "GET", "headers": {"Host": "example.org"},
         "multiValueHeaders": {"Host": ["example.org"]}, "queryStringParameters": {"token": "not-a-token"},
         "multiValueQueryStringParameters": {"token": ["not-a-token"]},
         "pathParameters": {"slug": "acme-air"} if "{slug}" in resource else None,
         "stageVariables": None, "body": None, "isBase64Encoded": False,
         "requestContext": {"resourcePath": resource, "httpMethod": "GET", "stage": "api",
                            "identity": {"sourceIp": "192.0.2.1"}}}
status = app(event, None)["statusCode"]
print(json.dumps({"status": status, "by_import": sorted(at_import - before),
                  "by_request": sorted(set(sys.modules) - at_import)}))
"""


def test_lambda_first_requests_load_only_what_they_serve(tmp_path: Path) -> None:
    # GIVEN stored snapshots and a signing key (a deployment has both before its first request)
    from chalicelib import runtime
    from chalicelib.notify.keys import signing_key

    _aggregated(tmp_path)
    signing_key(runtime.settings())
    runtime.reset()
    env = {**os.environ, "FAIR_REPLY_PSEUDONYM_SALT": "salt", "PYTHONPATH": str(REPO_ROOT)}
    for route, forbidden in LAMBDA_ROUTES.items():
        # WHEN a fresh interpreter imports the app and handles one API Gateway event, as a cold Lambda does
        done = subprocess.run(
            [sys.executable, "-c", _LAMBDA_CHILD, route],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
        )
        result = json.loads(done.stdout.strip().splitlines()[-1])
        # THEN the route answered; the import loaded only the wiring; the request loaded nothing it does not use
        assert result["status"] in (200, 400), (route, result)
        ours = {m for m in result["by_import"] if m == "app" or m.startswith("chalicelib")}
        assert ours == _IMPORT_APP_LOADS, route
        loaded = [m for m in result["by_request"] if any(m == f or m.startswith(f + ".") for f in forbidden)]
        assert loaded == [], route
