"""The `zoho_oas` fixture: Zoho's OpenAPI files, or a skip (a failure in CI) when absent; and the
report section listing the known gaps in those files that passing cases were checked around."""

from __future__ import annotations

import os
import re
import textwrap

import pytest
from tests.conformance.oas import (
    ENV_DIR,
    ENV_REQUIRE,
    KNOWN_GAP_PROPERTY,
    STAND_IN_PROPERTY,
    ZohoOAS,
    oas_dir,
)


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


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Each known gap once, with the passing cases that were validated around it; then the
    cases checked against another of Zoho's files than their endpoint's own."""
    gaps = _noted(terminalreporter, KNOWN_GAP_PROPERTY)
    write = terminalreporter.write_line
    if gaps:
        noted = len({case for names in gaps.values() for case in names})
        terminalreporter.section("known gaps in Zoho's OpenAPI files")
        summary = (
            f"{noted} conformance cases passed with findings set aside where Zoho's schema "
            "contradicts Zoho's own example; the rest of each request and body was validated."
        )
        write(fill(summary, "", ""))
        for reason, names in sorted(gaps.items()):
            write(fill(reason, "- ", "  "))
            write(fill(", ".join(names), "    ", "    "))
    stand_ins = _noted(terminalreporter, STAND_IN_PROPERTY)
    if stand_ins:
        terminalreporter.section("endpoints whose own OpenAPI file is not in the shared set")
        for reason, names in sorted(stand_ins.items()):
            write(fill(reason, "- ", "  "))
            write(fill(", ".join(names), "    ", "    "))


def _noted(terminalreporter: pytest.TerminalReporter, prop: str) -> dict[str, list[str]]:
    """Per reason, the passing cases that recorded it under `prop`."""
    cases: dict[str, list[str]] = {}
    for report in terminalreporter.stats.get("passed", []):
        if report.when != "call":
            continue
        param = re.search(r"\[(.+)\]$", report.nodeid)
        for name, reason in report.user_properties:
            if name == prop:
                cases.setdefault(str(reason), []).append(param.group(1) if param else report.nodeid)
    return cases


def fill(text: str, first: str, rest: str) -> str:
    """Wrapped at spaces only, so a path such as github.com/zoho/crm-oas stays whole."""
    return textwrap.fill(
        text,
        width=100,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=False,
        break_on_hyphens=False,
    )
