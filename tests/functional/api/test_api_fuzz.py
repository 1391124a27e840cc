"""Fuzz the OpenAPI document against the running local server: no server error, no response off-schema.

The server is chalice's own local server (``chalicelib.local.LocalServer``) on an ephemeral port, so the
requests go through real HTTP parsing and routing, as with ``make run``. Bounded: a few examples per
operation, no deadline.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from chalicelib.api.openapi import document

schema = schemathesis.openapi.from_dict(document())
# Methods no route has (TRACE…) are answered by the dev server itself (501), by API Gateway on AWS: not our code.
schema.config.phases.coverage.unexpected_methods = set()
CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance, content_type_conformance]


@pytest.fixture
def server_url(local_server: str, api_data) -> str:
    """The server reads the store and registry per request, so each test's isolated data is what it serves."""
    return local_server


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.timeout(120)
@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi_document(case, server_url) -> None:
    case.call_and_validate(base_url=server_url, checks=CHECKS)
