"""The caller's permissions hold on every tier: the manager checks them before routing, so a
read-only caller's write is refused (typed, audited, nothing sent) whichever tier would have
served it: a preferred tier, the routing's choice with a tier disabled, or failover past an
open breaker; single updates, bulk updates, and approved proposals applied with the
approver's authority."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from tests.manager.support import take_down

from sergas.access.applying import approve
from sergas.access.approvals import ApprovalStore
from sergas.access.audit import AuditLog
from sergas.errors import PermissionDeniedError
from sergas.manager import Caller, IntegrationConfig, RoutingContext, ZohoIntegrationManager
from sergas.query import F
from sergas.runtime import Runtime, open_runtime
from sergas.sandbox.server import RunningSandbox
from sergas.settings import Settings

KEY_ID = "3f9c2a1b7d4e"
READER = Caller.reader("health-agent", key_id=KEY_ID, channel="mcp-http")
OPERATOR = Caller("ops (local)", channel="cli")


@pytest.fixture(autouse=True)
def schema(tier_engine: AsyncEngine) -> AsyncEngine:
    """The test's database, at the newest schema (the runtime opens its own engine on it)."""
    return tier_engine


@asynccontextmanager
async def runtime_with(settings: Settings, **env: Any) -> AsyncIterator[Runtime]:
    async with open_runtime(settings, IntegrationConfig.from_env(**env)) as runtime:
        yield runtime


def sent(sandbox: RunningSandbox) -> int:
    return sum(sandbox.stats()["calls"].values())


def health_score(sandbox: RunningSandbox, record_id: str) -> Any:
    record = sandbox.sandbox.store.get("Accounts", record_id)
    assert record is not None
    return record.get("Health_Score")


async def refused_and_nothing_sent(
    manager: ZohoIntegrationManager,
    sandbox: RunningSandbox,
    record_id: str,
    context: RoutingContext | None = None,
) -> PermissionDeniedError:
    before, calls = health_score(sandbox, record_id), sent(sandbox)
    with pytest.raises(PermissionDeniedError) as refused:
        await manager.update_account(record_id, {"Health_Score": 7}, context=context, caller=READER)
    assert sent(sandbox) == calls  # no tier was called, no token fetched
    assert health_score(sandbox, record_id) == before
    return refused.value


async def denied_rows(engine: AsyncEngine) -> list[dict[str, Any]]:
    return [r for r in await AuditLog(engine).recent() if r["outcome"] == "denied"]


@pytest.mark.parametrize("tier", ["rest", "sdk", "mcp"])
async def test_a_reader_cannot_write_through_a_preferred_tier(
    tier_settings: Settings, tier_sandbox: RunningSandbox, account_id: str, tier: str
) -> None:
    async with runtime_with(tier_settings) as runtime:
        context = RoutingContext(preferred_tier=tier)
        error = await refused_and_nothing_sent(runtime.manager, tier_sandbox, account_id, context)
        assert error.code == "PERMISSION_DENIED"
        assert not error.tier_health and not error.retryable
        assert "health-agent" in error.message and "read-only" in error.message
        # Reads are the reader's to make, on that tier.
        record = await runtime.manager.get_account(account_id, context=context, caller=READER)
        assert record["id"] == account_id
        [row] = await denied_rows(runtime.engine)
        assert (row["tool"], row["client_key_id"], row["client_name"]) == (
            "update_account",
            KEY_ID,
            "health-agent",
        )
        assert (row["transport"], row["error_code"]) == ("mcp-http", "PERMISSION_DENIED")
        assert row["arguments"] == {
            "module": "Accounts",
            "record_id": account_id,
            "fields": ["Health_Score"],
        }


async def test_a_reader_cannot_write_with_the_mcp_tier_disabled(
    tier_settings: Settings, tier_sandbox: RunningSandbox, account_id: str
) -> None:
    async with runtime_with(tier_settings, ENABLE_TIER1_MCP=False) as runtime:
        await refused_and_nothing_sent(runtime.manager, tier_sandbox, account_id)
        assert len(await denied_rows(runtime.engine)) == 1


async def test_a_reader_cannot_write_past_an_open_mcp_breaker(
    tier_settings: Settings, tier_sandbox: RunningSandbox, account_id: str
) -> None:
    async with runtime_with(tier_settings, CIRCUIT_BREAKER_THRESHOLD=1) as runtime:
        manager = runtime.manager
        take_down(tier_sandbox, "/mcp")
        await manager.get_account(account_id, caller=READER)  # MCP fails, the SDK answers
        assert manager.breaker("mcp").is_open()
        await refused_and_nothing_sent(manager, tier_sandbox, account_id)


async def test_a_reader_cannot_bulk_update(
    tier_settings: Settings, tier_sandbox: RunningSandbox, account_id: str
) -> None:
    async with runtime_with(tier_settings) as runtime:
        calls = sent(tier_sandbox)
        with pytest.raises(PermissionDeniedError):
            await runtime.manager.bulk_update_accounts(
                [{"id": account_id, "Health_Score": 7}], caller=READER
            )
        assert sent(tier_sandbox) == calls
        [row] = await denied_rows(runtime.engine)
        assert row["tool"] == "bulk_update_accounts"
        assert row["arguments"]["ids"] == [account_id]


async def test_an_approved_change_is_applied_with_the_approvers_authority(
    tier_settings: Settings, tier_sandbox: RunningSandbox, account_id: str
) -> None:
    async with runtime_with(tier_settings) as runtime:
        store = ApprovalStore(runtime.engine)
        agent = READER
        before = health_score(tier_sandbox, account_id)
        seen = {"Health_Score": before}
        proposed = await store.propose(
            _principal(agent), account_id, {"Health_Score": 11}, "a reader proposes", current=seen
        )
        # Approved by someone who may only read: refused at the manager, recorded as failed.
        failed = await approve(
            store, runtime.manager, proposed.id, "an auditor", caller=Caller.reader("an auditor")
        )
        assert failed.status == "failed"
        assert failed.outcome is not None and failed.outcome["code"] == "PERMISSION_DENIED"
        assert health_score(tier_sandbox, account_id) == before
        # Approved by the operator: applied.
        again = await store.propose(
            _principal(agent),
            account_id,
            {"Health_Score": 12},
            "a reader proposes again",
            current=seen,
        )
        applied = await approve(store, runtime.manager, again.id, "ops", caller=OPERATOR)
        assert applied.status == "applied", applied.outcome
        assert health_score(tier_sandbox, account_id) == 12


async def test_only_names_the_operations_a_caller_may_use(
    tier_settings: Settings, tier_sandbox: RunningSandbox, account_id: str
) -> None:
    lookup = Caller.only({"get_account"}, "lookup-bot")
    async with runtime_with(tier_settings) as runtime:
        manager = runtime.manager
        assert (await manager.get_account(account_id, caller=lookup))["id"] == account_id
        calls = sent(tier_sandbox)
        for refused in (
            manager.get_accounts(caller=lookup),
            manager.search_accounts(F("Account_Name") == "x", caller=lookup),
            manager.coql("select Account_Name from Accounts where id > 0", caller=lookup),
            manager.bulk_read_accounts(caller=lookup),
        ):
            with pytest.raises(PermissionDeniedError, match="lookup-bot may not use it"):
                await refused
        with pytest.raises(PermissionDeniedError):
            await anext(manager.iter_accounts(caller=lookup))
        assert sent(tier_sandbox) == calls
    with pytest.raises(ValueError, match="unknown manager operations"):
        Caller.only({"delete_account"}, "x")


async def test_a_manager_made_for_a_reader_refuses_calls_that_name_no_one(
    settings_for: Callable[..., Settings],
    tier_engine: AsyncEngine,
    tier_sandbox: RunningSandbox,
    account_id: str,
) -> None:
    async with open_runtime(settings_for(), caller=READER) as runtime:
        await refused_and_nothing_sent(runtime.manager, tier_sandbox, account_id)
        # An explicit caller is who the call is for.
        result = await runtime.manager.update_account(
            account_id, {"Health_Score": 9}, caller=OPERATOR
        )
        assert result.ok


def _principal(caller: Caller) -> Any:
    from sergas.access.principal import Principal

    return Principal(caller.key_id, caller.name, "read")
