"""Three `sergas serve` processes, one sandbox, one Redis, one PostgreSQL: under load the org's
cap holds across them (the sandbox's peak ≤ 20), Zoho never answers 429, and no client sees
an error; each process is told apart in the sandbox's stats by its X-Sergas-Client. REST
only, and the default routing (MCP first: the sandbox counts MCP tool calls against the same
cap). The benchmark (benchmarks/fleet.py) runs the same fleet longer, and without Redis."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from benchmarks.fleet import CAP, Fleet, Place, prepare, run_fleet, sandbox_server
from tests.org.conftest import RedisServer

from sergas.db.testing import find_test_postgres, postgres_required, temporary_database


@pytest.fixture(scope="module")
def postgres() -> str:
    url, reason = find_test_postgres()
    if url is None:
        if postgres_required():
            pytest.fail(f"SERGAS_REQUIRE_POSTGRES=1 but {reason}")
        pytest.skip(reason)
    return url


@pytest.mark.slow
@pytest.mark.parametrize("routing", ["rest", "default"])
def test_three_processes_hold_the_orgs_cap_together(
    routing: str, postgres: str, redis_server: RedisServer, tmp_path: Path
) -> None:
    with (
        temporary_database(postgres, "sergas_fleet") as database,
        sandbox_server("127.0.0.1", 100, 300) as (sandbox_url, _),
    ):
        fleet = Fleet(
            sandbox_url,
            database,
            redis_server.url,
            tmp_path,
            [Place() for _ in range(3)],
            tiers=routing,
        )
        prepare(fleet)
        result = run_fleet(fleet, redis=True, clients=60, seconds=4, label=routing)
    assert result.error_count == 0, result.errors
    assert result.rejected_429 == 0
    assert 0 < result.peak <= CAP
    assert result.ok > 0
    clients = result.sandbox["clients"]
    host = os.uname().nodename
    named = [name for name in clients if name.startswith(f"{host}:")]
    assert len(named) == 3, clients  # one per process, by X-Sergas-Client
    assert all(clients[name]["peak_concurrency"] <= CAP for name in named)
    assert sum(clients[name]["calls"] for name in named) >= result.ok
    if routing == "default":
        mcp_calls = sum(n for name, n in result.sandbox["endpoints"].items() if "MCP" in name)
        assert mcp_calls >= result.ok  # served by the MCP tier, under the same cap
