"""`sergas sandbox serve`: the offline Zoho CRM sandbox on a local port."""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import typer

from sergas.cli._common import console, err_console, styled

app = typer.Typer(help="The offline Zoho CRM v8 sandbox.", no_args_is_help=True)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8085, help="Port to listen on."),
    # An option left out is read from its SERGAS_SANDBOX_* variable (SandboxConfig.from_env).
    seed: int | None = typer.Option(
        None, help="Seed for the generated CRM (same seed, same records). Default: 42."
    ),
    accounts: int | None = typer.Option(None, min=0, help="Accounts to generate. Default: 10000."),
    edition: str | None = typer.Option(
        None,
        help="Zoho edition: free, standard, professional, enterprise, ultimate. "
        "Default: enterprise.",
    ),
    latency_ms: float | None = typer.Option(
        None, min=0, help="Latency added to every call, in ms. Default: 0."
    ),
    latency_jitter_ms: float | None = typer.Option(
        None, min=0, help="Random ± jitter on latency, in ms. Default: 0."
    ),
    error_rate: float = typer.Option(0.0, min=0, max=1, help="Share of calls failing with 500."),
    token_ttl: int | None = typer.Option(
        None, min=1, help="Access-token lifetime in seconds. Default: 3600."
    ),
    bulk_job_seconds: float | None = typer.Option(
        None, min=0, help="How long a bulk job runs, in seconds. Default: 1."
    ),
    state_file: Path | None = typer.Option(
        None, help="Keep the CRM in this SQLite file so it survives restarts."
    ),
    page_token_limit: int | None = typer.Option(
        None,
        min=1,
        help="Records a list can page through before a page token is needed. "
        "Default: 100000, as Zoho.",
    ),
) -> None:
    """Serve the sandbox and print the settings a client needs.

    An option left out is taken from its SERGAS_SANDBOX_* variable (--accounts from
    SERGAS_SANDBOX_ACCOUNTS, and so on), else its default.
    """
    from sergas.sandbox.config import SandboxConfig, client_env
    from sergas.sandbox.http.app import create_app

    shown_host = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    base_url = f"http://{shown_host}:{port}"
    try:
        config = SandboxConfig.from_env(
            seed=seed,
            accounts=accounts,
            edition=edition,
            latency_ms=latency_ms,
            latency_jitter_ms=latency_jitter_ms,
            token_ttl=token_ttl,
            bulk_job_seconds=bulk_job_seconds,
            state_file=state_file,
            page_token_limit=page_token_limit,
            base_url=base_url,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    with console.status(f"seeding {config.accounts:,} accounts (seed {config.seed})…"):
        application = create_app(config)
    if error_rate:
        application.state.sandbox.faults.update({"error_rates": {"500": error_rate}})
    sandbox = application.state.sandbox
    origin = "loaded from " + str(state_file) if sandbox.seeded_from_file else "seeded"
    err_console.print(
        f"Zoho CRM sandbox ({config.edition}, {origin}): {base_url}"
        "  — paste these into your shell:",
        style="bold",
    )
    for name, value in client_env(base_url).items():
        print(f"export {name}={value}", flush=True)
    import uvicorn  # only here: a second's worth of imports every other command skips

    uvicorn.run(application, host=host, port=port, log_level="warning", lifespan="on")


@app.command()
def demo(
    accounts: int = typer.Option(10_000, min=1, help="Accounts to generate."),
    seed: int = typer.Option(42, help="Seed for the generated CRM."),
) -> None:
    """Start a sandbox in process and walk through Zoho's API against it."""
    import httpx2
    from rich.table import Table

    from sergas.sandbox.config import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, SandboxConfig
    from sergas.sandbox.server import serve_sandbox

    with ExitStack() as stack:
        with console.status(f"starting the sandbox with {accounts:,} accounts…"):
            sandbox = stack.enter_context(
                serve_sandbox(SandboxConfig(accounts=accounts, seed=seed))
            )
        console.print(styled(("Zoho CRM sandbox", "bold"), f" serving at {sandbox.url}"))
        with httpx2.Client(base_url=sandbox.url, timeout=30) as http:
            token = http.post(
                "/oauth/v2/token",
                data={
                    "grant_type": "refresh_token",
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "refresh_token": REFRESH_TOKEN,
                },
            ).json()
            console.print(f"1. POST /oauth/v2/token → access token for {token['expires_in']} s")
            http.headers["Authorization"] = f"Zoho-oauthtoken {token['access_token']}"

            page = http.get(
                "/crm/v8/Accounts",
                params={
                    "fields": "Account_Name,Industry,Annual_Revenue,Owner",
                    "per_page": 5,
                    "sort_by": "Modified_Time",
                    "sort_order": "desc",
                },
            ).json()
            table = Table("id", "Account_Name", "Industry", "Annual_Revenue", "Owner")
            for r in page["data"]:
                table.add_row(
                    r["id"],
                    r["Account_Name"],
                    r["Industry"] or "",
                    f"{r['Annual_Revenue'] or 0:,.0f}",
                    r["Owner"]["name"],
                )
            console.print("2. GET /crm/v8/Accounts (latest modified):")
            console.print(table)

            criteria = (
                "((Industry:equals:Wireless Industry)and(Annual_Revenue:greater_than:50000000))"
            )
            found = http.get(
                "/crm/v8/Accounts/search", params={"criteria": criteria, "fields": "Account_Name"}
            )
            hits = found.json()["info"]["count"] if found.status_code == 200 else 0
            console.print(f"3. GET /crm/v8/Accounts/search {criteria} → {hits} accounts")

            query = (
                "select Account_Name, Annual_Revenue from Accounts "
                "where Annual_Revenue > 100000000 order by Annual_Revenue desc limit 3"
            )
            rows = http.post("/crm/v8/coql", json={"select_query": query}).json()["data"]
            top = ", ".join(f"{r['Account_Name']} ({r['Annual_Revenue']:,.0f})" for r in rows)
            console.print(f"4. POST /crm/v8/coql → top revenue: {top}")

            target = page["data"][0]["id"]
            result = http.put(
                "/crm/v8/Accounts",
                json={
                    "data": [
                        {"id": target, "Health_Score": 64, "Account_Status": "Watch"},
                        {"id": target, "Account_Status": "Unknown"},
                    ]
                },
            )
            codes = [i["code"] for i in result.json()["data"]]
            console.print(
                f"5. PUT /crm/v8/Accounts (one valid, one invalid) → HTTP "
                f"{result.status_code}, per record: {codes}"
            )

            stats = http.get("/__sandbox/stats").json()
            console.print(
                f"6. /__sandbox/stats → {stats['total_calls']} calls, "
                f"{stats['credits']['used']} credits used of {stats['credits']['budget']:,}, "
                f"{stats['tokens']['refreshes']} token refresh"
            )
        console.print(
            styled("Serve it yourself with ", ("sergas sandbox serve", "bold"), "; see README.md.")
        )
