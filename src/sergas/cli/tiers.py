"""`sergas tiers status`: check each tier now, then show its circuit breaker and metrics, and
the org's limits as every process shares them (slots in use by process, waiting callers,
credits used and remaining).

A tier switched on that the settings cannot serve (the MCP tier without ZOHO_MCP_URL) shows
as "not configured", with the reason below the table; calls are not routed to it."""

from __future__ import annotations

import asyncio
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from sergas.cli._common import console, print_json, styled

app = typer.Typer(help="The three ways to Zoho: health, circuit breakers, metrics.")

_STATE_STYLE = {"closed": "green", "half_open": "yellow", "open": "red"}


@app.command()
def status(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Run every enabled tier's health check (real calls to Zoho), then show each tier's
    breaker state and metrics. The metrics are this process's, i.e. those checks; a running
    service exposes its own through Prometheus."""
    from sergas.log import configure_logging_from
    from sergas.settings import get_settings

    configure_logging_from(get_settings())
    report = asyncio.run(_collect())
    if json_out:
        print_json(report)
        return
    console.print(_table(report))
    for name, tier in report["tiers"].items():
        if tier["enabled"] and not tier["healthy"]:
            console.print(styled((name, "red"), f": {tier['detail']}"), highlight=False)
    console.print(_org_table(report["org"]))


async def _collect() -> dict[str, Any]:
    from sergas.runtime import open_runtime

    async with open_runtime() as runtime:
        health = await runtime.manager.get_tier_health()
        metrics = runtime.manager.get_tier_metrics()
        failover = runtime.config.enable_failover
        org = await runtime.org.snapshot()
    tiers = {}
    for name, checked in health.items():
        tier_metrics = {k: v for k, v in metrics[name].items() if k != "circuit_breaker"}
        tiers[name] = {
            "enabled": checked["enabled"],
            "configured": checked["configured"],
            "healthy": checked.get("healthy"),
            "latency_ms": checked.get("latency_ms"),
            "detail": checked.get("detail", ""),
            "circuit_breaker": checked["circuit_breaker"],
            "metrics": tier_metrics,
        }
    return {"tiers": tiers, "failover": failover, "org": org}


_MODES = {
    "local": "this process only (SERGAS_REDIS_URL not set)",
    "redis": "shared by every process through Redis",
    "degraded": "Redis unreachable: this process's own limits, background work refused",
}


def _org_table(org: dict[str, Any]) -> Table:
    """The org's limits: who holds the slots, who waits, the day's credits."""
    slots, credits = org["slots"], org["credits"]
    table = Table(
        title=f"Zoho org: {_MODES[org['mode']]}",
        title_justify="left",
        title_style="red" if org["mode"] == "degraded" else None,
        show_header=False,
    )
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("concurrent calls", f"{slots['in_use']} of {slots['cap']} in use")
    for client, count in sorted(slots.get("in_use_by_client", {}).items()):
        table.add_row(f"  held by {client}", str(count))
    table.add_row("waiting for a slot", str(slots.get("waiting", 0)))
    for client, count in sorted(slots.get("waiting_by_client", {}).items()):
        table.add_row(f"  waiting in {client}", str(count))
    if slots.get("backoff_left"):
        table.add_row("held back after a 429", f"{slots['backoff_left']:.1f} s")
    if "used" in credits:
        table.add_row("credits used (24 h)", f"{credits['used']:,} of {credits['budget']:,}")
        table.add_row("credits remaining", f"{credits['remaining']:,}")
    table.add_row("credit reserve", f"{credits['reserve']:,}")
    stats = org["this_process"]
    waited = stats["wait_seconds"] / stats["calls"] * 1000 if stats["calls"] else 0.0
    table.add_row("this process: slot waits", f"{stats['calls']:.0f}, {waited:.1f} ms on average")
    return table


def _table(report: dict[str, Any]) -> Table:
    table = Table(title="Zoho tiers", caption="durations in ms", title_justify="left")
    table.add_column("tier")
    table.add_column("health", no_wrap=True)
    table.add_column("breaker")
    for column in ("calls", "ok", "p50", "p95", "p99"):
        table.add_column(column, justify="right")
    table.add_column("top error")
    for name, tier in report["tiers"].items():
        if not tier["enabled"]:
            table.add_row(name, styled(("disabled", "dim")), *[""] * 7)
            continue
        if not tier["configured"]:  # not routed to: nothing else to show
            table.add_row(name, Text("not configured", style="yellow"), *[""] * 7)
            continue
        m, breaker = tier["metrics"], tier["circuit_breaker"]
        state = breaker["state"]
        if breaker["retry_in"] is not None:
            state += f" {breaker['retry_in']:.0f}s"
        errors = m.get("top_errors") or []
        table.add_row(
            name,
            styled(("healthy", "green") if tier["healthy"] else ("down", "red")),
            styled((state, _STATE_STYLE[breaker["state"]])),
            str(m.get("total", 0)),
            "" if m.get("success_rate") is None else f"{m['success_rate']:.0%}",
            _ms(m.get("p50_ms")),
            _ms(m.get("p95_ms")),
            _ms(m.get("p99_ms")),
            f"{errors[0]['code']} ×{errors[0]['count']}" if errors else "",
        )
    return table


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.0f}" if value >= 100 else f"{value:.1f}"
