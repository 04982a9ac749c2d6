"""The `zoho_oas` fixture: Zoho's OpenAPI files, or a skip (a failure in CI) when absent."""

from __future__ import annotations

import os

import pytest
from tests.conformance.oas import ENV_DIR, ENV_REQUIRE, ZohoOAS, oas_dir


@pytest.fixture(scope="session")
def zoho_oas() -> ZohoOAS:
    directory = oas_dir()
    if not directory.is_dir() or not any(directory.glob("*.json")):
        reason = (
            f"Zoho's OpenAPI files are not at {directory} "
            f"(set {ENV_DIR} to the folder holding record.json, users.json, ...)"
        )
        if os.environ.get(ENV_REQUIRE) == "1":
            pytest.fail(f"{ENV_REQUIRE}=1 but {reason}")
        pytest.skip(reason)
    return ZohoOAS(directory)

