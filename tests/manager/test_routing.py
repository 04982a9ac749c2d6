"""route(): the rules of the issue, as a table."""

from __future__ import annotations

from typing import Any

import pytest

from sergas.manager.config import RoutingContext
from sergas.manager.routing import TierView, route
from sergas.tiers.base import TierName

ALL = ("mcp", "sdk", "rest")


def views(
    disabled: tuple[str, ...] = (),
    open_: tuple[str, ...] = (),
    priority: dict[str, int] | None = None,
) -> list[TierView]:
    prio = {"mcp": 1, "sdk": 2, "rest": 3, **(priority or {})}
    return [
        TierView(name, enabled=name not in disabled, priority=prio[name], open=name in open_)
        for name in ALL  # type: ignore[misc]
    ]


AGENT = {"agent": "account-reviewer"}

# (operation, context fields, disabled, open, priorities, expected order)
Row = tuple[str, dict[str, Any], tuple[str, ...], tuple[str, ...], dict[str, int], list[str]]
TABLE: list[Row] = [
    # 5. the default: MCP, then the rest by priority
    ("get_account", {}, (), (), {}, ["mcp", "sdk", "rest"]),
    ("get_account", {}, ("mcp",), (), {}, ["sdk", "rest"]),
    ("get_account", {}, ("mcp", "sdk"), (), {}, ["rest"]),
    # 1. preferred tier first, if enabled; ignored if disabled
    ("get_account", {"preferred_tier": "rest"}, (), (), {}, ["rest", "mcp", "sdk"]),
    ("get_account", {"preferred_tier": "sdk"}, (), (), {}, ["sdk", "mcp", "rest"]),
    ("get_account", {"preferred_tier": "rest"}, ("rest",), (), {}, ["mcp", "sdk"]),
    # the preferred tier wins over every other rule
    ("bulk_read_accounts", {"preferred_tier": "rest", "agent_context": AGENT}, (), (), {},
     ["rest", "mcp", "sdk"]),
    # 2. an agent's call goes to MCP, even when bulk
    ("get_account", {"agent_context": AGENT}, (), (), {"mcp": 9}, ["mcp", "sdk", "rest"]),
    ("bulk_update_accounts", {"agent_context": AGENT, "record_count": 500}, (), (), {},
     ["mcp", "sdk", "rest"]),
    ("get_account", {"agent_context": AGENT}, ("mcp",), (), {}, ["sdk", "rest"]),
    # an empty agent context is no agent
    ("bulk_read_accounts", {"agent_context": {}}, (), (), {}, ["sdk", "mcp", "rest"]),
    # 3. bulk by operation name or by record count (≥ 10) goes to the SDK
    ("bulk_read_accounts", {}, (), (), {}, ["sdk", "mcp", "rest"]),
    ("bulk_update_accounts", {"record_count": 3}, (), (), {}, ["sdk", "mcp", "rest"]),
    ("get_accounts", {"record_count": 10}, (), (), {}, ["sdk", "mcp", "rest"]),
    ("get_accounts", {"record_count": 9}, (), (), {}, ["mcp", "sdk", "rest"]),
    ("bulk_read_accounts", {}, ("sdk",), (), {}, ["mcp", "rest"]),
    # bulk beats realtime (rule 3 before rule 4)
    ("get_accounts", {"record_count": 50, "requires_realtime": True}, (), (), {},
     ["sdk", "mcp", "rest"]),
    # 4. realtime goes to MCP even when MCP is not first by priority
    ("get_account", {"requires_realtime": True}, (), (), {"mcp": 5}, ["mcp", "sdk", "rest"]),
    ("get_account", {"requires_realtime": True}, ("mcp",), (), {}, ["sdk", "rest"]),
    # the failover order follows priority, ties broken by tier number
    ("get_account", {}, (), (), {"rest": 0}, ["mcp", "rest", "sdk"]),
    ("bulk_read_accounts", {}, (), (), {"rest": 1, "mcp": 2}, ["sdk", "rest", "mcp"]),
    ("get_account", {"preferred_tier": "sdk"}, (), (), {"mcp": 3, "rest": 3},
     ["sdk", "mcp", "rest"]),
    # open breakers are skipped wherever they stand
    ("get_account", {}, (), ("mcp",), {}, ["sdk", "rest"]),
    ("bulk_read_accounts", {}, (), ("sdk",), {}, ["mcp", "rest"]),
    ("get_account", {"preferred_tier": "rest"}, (), ("rest",), {}, ["mcp", "sdk"]),
    ("get_account", {}, (), ("sdk",), {}, ["mcp", "rest"]),
    ("get_account", {}, (), ALL, {}, []),
    ("get_account", {}, ALL, (), {}, []),
    ("get_account", {}, ("mcp", "sdk"), ("rest",), {}, []),
    # what MCP's tools cannot do (inserts, user lookup) goes to MCP last, unless preferred
    ("find_users", {}, (), (), {}, ["sdk", "rest", "mcp"]),
    ("find_users", {"agent_context": AGENT, "requires_realtime": True}, (), (), {},
     ["sdk", "rest", "mcp"]),
    ("create_records", {"record_count": 3}, (), (), {"rest": 0}, ["sdk", "rest", "mcp"]),
    ("create_records", {"record_count": 500}, (), (), {}, ["sdk", "rest", "mcp"]),
    ("create_records", {"preferred_tier": "mcp"}, (), (), {}, ["mcp", "sdk", "rest"]),
    ("find_users", {}, ("sdk", "rest"), (), {}, ["mcp"]),
    ("get_notes", {}, (), (), {}, ["mcp", "sdk", "rest"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("operation", "fields", "disabled", "open_", "priority", "expected"),
    TABLE,
    ids=[f"{i}-{row[0]}" for i, row in enumerate(TABLE)],
)
def test_route_table(
    operation: str,
    fields: dict[str, Any],
    disabled: tuple[str, ...],
    open_: tuple[str, ...],
    priority: dict[str, int],
    expected: list[TierName],
) -> None:
    context = RoutingContext(**fields)
    assert route(operation, context, views(disabled, open_, priority)) == expected


def test_no_context_is_the_default_route() -> None:
    assert route("get_account", None, views()) == ["mcp", "sdk", "rest"]


def test_route_is_pure() -> None:
    tiers = views(open_=("sdk",))
    context = RoutingContext(record_count=20)
    first = route("get_accounts", context, tiers)
    assert route("get_accounts", context, tiers) == first
    assert tiers == views(open_=("sdk",))


@pytest.mark.parametrize(
    ("given", "name"),
    [("mcp", "mcp"), ("TIER1", "mcp"), ("tier2_sdk", "sdk"), ("3", "rest"), (2, "sdk")],
)
def test_preferred_tier_spellings(given: object, name: str) -> None:
    assert RoutingContext(preferred_tier=given).preferred_tier == name  # type: ignore[arg-type]


def test_unknown_preferred_tier_is_rejected() -> None:
    with pytest.raises(ValueError, match="preferred_tier"):
        RoutingContext(preferred_tier="tier4")  # type: ignore[arg-type]
