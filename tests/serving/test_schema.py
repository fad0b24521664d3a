"""schemathesis against the running API's OpenAPI schema: generated requests, valid and invalid,
for every operation; none may get a server error (5xx)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from tests.serving.conftest import API_KEY, Api

pytestmark = pytest.mark.serving


@pytest.fixture(scope="module")
def api_schema(api: Api) -> schemathesis.schemas.BaseSchema:
    return schemathesis.openapi.from_url(api.url + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_gets_a_server_error(case: schemathesis.Case) -> None:
    case.call_and_validate(headers={"X-API-Key": API_KEY}, checks=[not_a_server_error])
