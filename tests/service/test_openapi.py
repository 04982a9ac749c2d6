"""The HTTP service's OpenAPI description holds: schemathesis generates requests for every
operation from /openapi.json (valid and invalid ones), sends them with a write key to the
live app (uvicorn in a thread of this process, its own runtime over the sandbox's REST
tier), and checks every answer: no server error, and status, content type and body as
declared."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.service.support import Keys, serve_on_loopback

from sergas.manager import IntegrationConfig
from sergas.service import create_app
from sergas.service.settings import ServiceSettings
from sergas.settings import Settings

pytestmark = pytest.mark.slow

EXAMPLES = 15  # per operation and mode: bounded, so the run takes seconds
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def live(tier_settings: Settings, keys: Keys) -> Iterator[str]:
    """The app under uvicorn, opening its own runtime (REST tier) from the settings, after
    `keys` made the database and its keys."""
    config = IntegrationConfig.from_env(ENABLE_TIER1_MCP=False, ENABLE_TIER2_SDK=False)
    service = ServiceSettings(readiness_cache_seconds=0, api_key_cache_seconds=0)
    app = create_app(settings=tier_settings, config=config, service=service)
    with serve_on_loopback(app) as url:
        yield url


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_answer_is_as_declared(live: str, keys: Keys, mode: GenerationMode) -> None:
    """Valid requests (positive) and requests the schema says are invalid (negative), a
    bounded number per operation; the first failing answer fails the test, shrunk."""
    api = schemathesis.openapi.from_url(live + "/openapi.json")
    operations = [result.ok() for result in api.get_all_operations()]
    assert len(operations) == 14
    sent: list[str] = []
    for operation in operations:
        inputs = (operation.path_parameters, operation.query, operation.body)
        if mode is GenerationMode.NEGATIVE and not any(len(i) for i in inputs):
            continue  # /healthz, /metrics...: nothing to send wrong

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(mode))
        def check(case: Any) -> None:
            response = case.call_and_validate(
                base_url=live, headers=Keys.bearer(keys.write), checks=CHECKS
            )
            sent.append(f"{case.method} {case.path} {response.status_code}")

        check()
    assert len(sent) >= len(operations)
