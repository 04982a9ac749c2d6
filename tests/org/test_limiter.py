"""The org's limiter at the choke point, against the sandbox over real HTTP (REST tier), with
and without Redis: the credit reserve refuses background work only, Zoho's own credit count
corrects the ledger, a Redis outage degrades interactive calls and fails background work
closed, a 429 from Zoho holds the whole org back, and a slot that never comes is a clear
error. The MCP tier gives its slot back as soon as Zoho's answer is in, once."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import pytest
import redis
from cryptography.fernet import Fernet
from tests.helpers import wait_until_async
from tests.org.conftest import RedisServer

from sergas import errors
from sergas.auth import token_manager
from sergas.db import create_engine, upgrade
from sergas.errors import CoordinationError, CreditReserveError, SergasError, SlotTimeoutError
from sergas.org import background, build_limiter, open_org, redis_client
from sergas.org.limiter import OrgLimiter
from sergas.sandbox.config import SandboxConfig
from sergas.sandbox.server import RunningSandbox, serve_sandbox
from sergas.settings import Settings, load_settings
from sergas.tiers.base import TierName, ZohoTier
from sergas.tiers.factory import build_tier
from sergas.tiers.mcp_boundary import SESSION_LOST


@pytest.fixture(scope="module")
def small_org() -> Iterator[RunningSandbox]:
    """A sandbox whose org has 100 credits a day (so half are soon used) and a cap of 20."""
    with serve_sandbox(SandboxConfig(accounts=30, credits=100)) as running:
        yield running


@pytest.fixture
def org_sandbox(small_org: RunningSandbox) -> Iterator[RunningSandbox]:
    small_org.reset(records=False)
    yield small_org
    small_org.set_faults(targeted=[], latency_ms=0)


@dataclass
class Gateway:
    tier: ZohoTier
    org: OrgLimiter
    ids: list[str]
    settings: Settings


@contextlib.asynccontextmanager
async def gateway(
    sandbox: RunningSandbox, tmp: Path, tier_name: TierName = "rest", **env: Any
) -> AsyncIterator[Gateway]:
    """A tier (REST unless said) through an org limiter opened as the runtime opens it."""
    url = f"sqlite+aiosqlite:///{tmp / 'org.db'}"
    settings = load_settings(
        **sandbox.env,
        SERGAS_DATABASE_URL=url,
        SERGAS_TOKEN_KEY=Fernet.generate_key().decode(),
        SERGAS_CREDIT_BUDGET=100,
        **env,
    )
    engine = create_engine(url)
    await upgrade(engine)
    tokens = token_manager(settings, engine=engine)
    try:
        async with open_org(settings, tokens.user) as org:
            tier = build_tier(tier_name, settings, tokens)
            try:
                ids = sorted(r["id"] for r in sandbox.sandbox.store.all("Accounts"))[:5]
                yield Gateway(tier, org, ids, settings)
            finally:
                await tier.aclose()
    finally:
        await tokens.aclose()
        await engine.dispose()


@pytest.fixture(params=["local", "redis"])
def redis_url(request: pytest.FixtureRequest) -> str | None:
    if request.param == "local":
        return None
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.url


def crm_calls(sandbox: RunningSandbox) -> int:
    return sum(n for name, n in sandbox.stats()["endpoints"].items() if "/crm/" in name)


async def test_background_work_is_refused_at_the_reserve_while_interactive_calls_pass(
    org_sandbox: RunningSandbox, tmp_path: Path, redis_url: str | None
) -> None:
    env = {"SERGAS_CREDIT_RESERVE": 95}
    if redis_url:
        env["SERGAS_REDIS_URL"] = redis_url
    async with gateway(org_sandbox, tmp_path, **env) as gw:
        with background("sweep"):
            await gw.tier.get_account(gw.ids[0])  # 100 left: above the reserve
        for rid in gw.ids[:4]:
            await gw.tier.get_account(rid)
        assert await gw.org.ledger.remaining() == 95
        sent = crm_calls(org_sandbox)
        with background("sweep"), pytest.raises(CreditReserveError) as refused:
            await gw.tier.get_account(gw.ids[0])
        assert crm_calls(org_sandbox) == sent  # refused before anything was sent
        assert "sweep" in refused.value.message
        assert "SERGAS_CREDIT_RESERVE" in refused.value.message
        assert refused.value.details["remaining"] == 95
        assert await gw.tier.get_account(gw.ids[0])  # interactive work still passes
        assert gw.org.stats["refused_reserve"] == 1


async def test_zohos_count_of_the_remaining_credits_corrects_the_ledger(
    org_sandbox: RunningSandbox, tmp_path: Path, redis_url: str | None
) -> None:
    # Another client of the org (not Sergas) spends 60 of the day's 100 credits.
    token = org_sandbox.access_token()
    async with httpx2.AsyncClient(base_url=org_sandbox.url) as other:
        for _ in range(60):
            response = await other.get(
                "/crm/v8/Accounts",
                params={"fields": "Account_Name"},
                headers={"Authorization": f"Zoho-oauthtoken {token}"},
            )
            assert response.status_code == 200
    env = {"SERGAS_REDIS_URL": redis_url} if redis_url else {}
    async with gateway(org_sandbox, tmp_path, **env) as gw:
        await gw.tier.get_account(gw.ids[0])  # Zoho answers: 39 left
        for _ in range(50):
            if await gw.org.ledger.remaining() < 99:
                break
            await asyncio.sleep(0.02)
        assert await gw.org.ledger.remaining() == 39
        await gw.tier.get_account(gw.ids[1])
        await asyncio.sleep(0.1)
        assert await gw.org.ledger.remaining() == 38


async def test_redis_down_degrades_interactive_calls_and_fails_background_work_closed(
    org_sandbox: RunningSandbox, tmp_path: Path, redis_server: RedisServer
) -> None:
    async with gateway(org_sandbox, tmp_path, SERGAS_REDIS_URL=redis_server.url) as gw:
        await gw.tier.get_account(gw.ids[0])
        assert gw.org.mode == "redis"
        redis_server.stop()
        started = time.monotonic()
        assert await gw.tier.get_account(gw.ids[1])  # this process's own limits now
        assert time.monotonic() - started < 3
        assert gw.org.mode == "degraded"
        with background("export"), pytest.raises(CoordinationError) as refused:
            await gw.tier.get_account(gw.ids[2])
        assert "SERGAS_REDIS_URL" in refused.value.message
        assert "export" in refused.value.message
        snapshot = await gw.org.snapshot()
        assert snapshot["mode"] == "degraded"
        redis_server.start()
        await asyncio.sleep(1.1)  # Redis is tried again a second after it failed
        await gw.tier.get_account(gw.ids[3])
        assert gw.org.mode == "redis"
        with background("export"):
            assert await gw.tier.get_account(gw.ids[2])


async def test_a_429_from_zoho_holds_every_process_of_the_org_back(
    org_sandbox: RunningSandbox, tmp_path: Path, redis_server: RedisServer
) -> None:
    async with gateway(org_sandbox, tmp_path, SERGAS_REDIS_URL=redis_server.url) as gw:
        # Another process of the org: its own limiter and Redis connection.
        client = redis_client(redis_server.url)
        other = build_limiter(gw.settings, "default", client)
        await gw.tier.get_account(gw.ids[0])
        org_sandbox.set_faults(targeted=[{"path": "/crm/", "status": 429, "count": 1}])
        started = time.monotonic()
        call = asyncio.create_task(gw.tier.get_account(gw.ids[1]))  # 429, retried later
        for _ in range(300):
            if gw.org.stats["backoffs"]:
                break
            await asyncio.sleep(0.01)
        sent_at: list[float] = []

        async def send() -> None:
            sent_at.append(time.monotonic())

        await other.run(False, 0, send)
        assert sent_at[0] - started >= 0.9  # held back too, though it never saw the 429
        assert await call  # the caller's retry went through after the backoff
        assert time.monotonic() - started >= 0.9
        await other.aclose()
        await client.aclose()


async def test_no_slot_within_the_deadline_is_a_clear_error(
    org_sandbox: RunningSandbox, tmp_path: Path, redis_url: str | None
) -> None:
    env: dict[str, Any] = {"ZOHO_CONCURRENCY": 1, "SERGAS_SLOT_TIMEOUT": 0.3}
    if redis_url:
        env["SERGAS_REDIS_URL"] = redis_url
    async with gateway(org_sandbox, tmp_path, **env) as gw:
        await gw.tier.get_account(gw.ids[0])
        org_sandbox.set_faults(latency_ms=1000)
        results = await asyncio.gather(
            gw.tier.get_account(gw.ids[0]), gw.tier.get_account(gw.ids[1]), return_exceptions=True
        )
        errors = [r for r in results if isinstance(r, BaseException)]
        assert len(errors) == 1 and isinstance(errors[0], SlotTimeoutError)
        assert "SERGAS_SLOT_TIMEOUT" in errors[0].message
        assert gw.org.stats["slot_timeouts"] == 1


@dataclass
class SlotWatch:
    """What the org held while the MCP library worked on an answer already in (when it
    turned the tool's result into Zoho's JSON), and how often the limiter released."""

    releases: int = 0
    held_in_process: list[int] = field(default_factory=list)
    held_in_redis: list[int] = field(default_factory=list)


@pytest.fixture
def slot_watch(monkeypatch: pytest.MonkeyPatch) -> SlotWatch:
    from sergas.tiers import mcp_session

    watch = SlotWatch()
    limiters: list[OrgLimiter] = []
    real_acquire = OrgLimiter._acquire
    real_tool_body = mcp_session.tool_body

    async def acquire(self: OrgLimiter, heavy: bool, work: str | None) -> Any:
        limiters.append(self)
        release = await real_acquire(self, heavy, work)

        async def counted() -> None:
            watch.releases += 1
            await release()

        return counted

    def tool_body(result: Any) -> dict[str, Any]:
        org = limiters[-1]
        watch.held_in_process.append(org.in_use)
        if org.shared is not None:  # Redis's own count, read while the caller still waits
            url = org.shared.client.get_connection_kwargs()
            with redis.Redis(host=url["host"], port=url["port"]) as sync:
                watch.held_in_redis.append(int(sync.zcard(org.shared.general.keys[0])))
        return real_tool_body(result)

    monkeypatch.setattr(OrgLimiter, "_acquire", acquire)
    monkeypatch.setattr(mcp_session, "tool_body", tool_body)
    return watch


async def test_the_mcp_tier_gives_its_slot_back_as_soon_as_zoho_has_answered(
    org_sandbox: RunningSandbox, tmp_path: Path, redis_url: str | None, slot_watch: SlotWatch
) -> None:
    env = {"SERGAS_REDIS_URL": redis_url} if redis_url else {}
    async with gateway(org_sandbox, tmp_path, "mcp", **env) as gw:
        assert await gw.tier.get_account(gw.ids[0])
        assert slot_watch.held_in_process == [0]  # free before the tier's call returned
        if redis_url:
            assert slot_watch.held_in_redis == [0]
            snapshot = await gw.org.snapshot()
            assert snapshot["slots"]["in_use"] == 0 and snapshot["mode"] == "redis"
        assert slot_watch.releases == 1  # once: the call's end did not release it again
        assert gw.org.in_use == 0
        assert gw.org.local._slots._value == gw.org.local.cap  # nothing given back twice


async def test_an_mcp_tool_error_keeps_its_slot_until_the_call_ends(
    org_sandbox: RunningSandbox, tmp_path: Path, redis_url: str | None, slot_watch: SlotWatch
) -> None:
    env = {"SERGAS_REDIS_URL": redis_url} if redis_url else {}
    async with gateway(org_sandbox, tmp_path, "mcp", **env) as gw:
        with pytest.raises(SergasError) as failed:
            await gw.tier.coql("select Account_Name from Accounts where")
        assert failed.value.http_status is None or failed.value.http_status < 500
        assert slot_watch.held_in_process == [1]  # a tool error is no answer: still held
        if redis_url:
            assert slot_watch.held_in_redis == [1]
        assert slot_watch.releases == 1
        assert gw.org.in_use == 0
        if redis_url:
            assert (await gw.org.snapshot())["slots"]["in_use"] == 0


async def test_a_call_cancelled_while_it_holds_a_slot_gives_it_back(
    org_sandbox: RunningSandbox, tmp_path: Path, redis_url: str | None
) -> None:
    env: dict[str, Any] = {"ZOHO_CONCURRENCY": 1}
    if redis_url:
        env["SERGAS_REDIS_URL"] = redis_url
    async with gateway(org_sandbox, tmp_path, **env) as gw:
        # A first call gets the access token, so the call cancelled below is in flight at
        # Zoho (what this test is about), not inside the token's refresh and its transaction.
        assert await gw.tier.get_account(gw.ids[1])
        org_sandbox.set_faults(latency_ms=5000)
        call = asyncio.create_task(gw.tier.get_account(gw.ids[0]))
        await wait_until_async(
            lambda: _in_use(gw.org), what="the call to hold its slot"
        )  # and to hold it while Zoho takes its time
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        assert gw.org.in_use == 0
        assert (await gw.org.snapshot())["slots"]["in_use"] == 0
        org_sandbox.set_faults(latency_ms=0)
        assert await gw.tier.get_account(gw.ids[1])  # the one slot is free again


async def _in_use(org: OrgLimiter) -> int:
    in_use: int = (await org.snapshot())["slots"]["in_use"]
    return in_use


async def test_an_mcp_call_answered_before_its_session_was_lost_is_not_sent_again(
    org_sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """Its slot went back with the answer: sent again on a new session, it would have none."""
    from sergas.tiers.mcp import ZohoMCPClient

    async with gateway(org_sandbox, tmp_path, "mcp") as gw:
        assert isinstance(gw.tier, ZohoMCPClient)
        connection = gw.tier.connection
        sent: list[bool] = []

        async def lost_after(answer: bool) -> Any:
            async def call(client: Any) -> Any:
                sent.append(answer)
                if answer:
                    await client.call_tool(
                        "get_record", {"module": "Accounts", "record_id": gw.ids[0]}
                    )
                raise errors.ConnectionError("the session is gone", code=SESSION_LOST)

            return await connection.request(call, idempotent=True)

        with pytest.raises(errors.ConnectionError):
            await gw.org.run(False, 1, lambda: lost_after(True))
        assert sent == [True]  # answered, then lost: not sent again
        sent.clear()
        with pytest.raises(errors.ConnectionError):
            await gw.org.run(False, 1, lambda: lost_after(False))
        assert sent == [False, False]  # lost before any answer: once more, on a new session


async def test_credits_recorded_together_go_to_redis_later_in_one_write(
    redis_server: RedisServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A call's credits are not a write of their own: those recorded within COALESCE_SECONDS
    go to Redis together, where another process then sees them without anyone flushing; the
    process that spent them reads them exactly at once."""
    from sergas.org import credits
    from sergas.org.credits import CreditLedger

    monkeypatch.setattr(credits, "COALESCE_SECONDS", 1.0)  # far longer than the calls below

    spender_client, other_client = redis_client(redis_server.url), redis_client(redis_server.url)
    spender = CreditLedger(100, "org-coalesce", client=spender_client)
    other = CreditLedger(100, "org-coalesce", client=other_client)
    observer = redis.Redis.from_url(redis_server.url)
    try:
        assert await other.used() == 0
        for _ in range(7):  # seven calls' worth, the event loop running between them
            spender.record(1)
            await asyncio.sleep(0.001)
        assert observer.keys("*org-coalesce*") == []  # nothing written yet
        await wait_until_async(lambda: other.used(), what="the credits reach Redis", timeout=5)
        assert observer.keys("*org-coalesce*") != []
        assert await other.used() == 7
        spender.record(2)
        assert await spender.used() == 9  # its own reads send what is pending first
        assert await other.used() == 9
    finally:
        await spender.aclose()
        await other.aclose()
        await spender_client.aclose()
        await other_client.aclose()
        observer.close()
