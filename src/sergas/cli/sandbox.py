"""`sergas sandbox serve`: the offline Zoho CRM sandbox on a local port."""

from __future__ import annotations

from pathlib import Path

import typer
import uvicorn

from sergas.cli._common import console, err_console

app = typer.Typer(help="The offline Zoho CRM v8 sandbox.", no_args_is_help=True)


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8085, help="Port to listen on."),
    seed: int = typer.Option(42, help="Seed for the generated CRM (same seed, same records)."),
    accounts: int = typer.Option(10_000, min=0, help="Accounts to generate."),
    edition: str = typer.Option(
        "enterprise", help="Zoho edition: free, standard, professional, enterprise, ultimate."
    ),
    latency_ms: float = typer.Option(0.0, min=0, help="Latency added to every call, in ms."),
    latency_jitter_ms: float = typer.Option(0.0, min=0, help="Random ± jitter on latency, in ms."),
    error_rate: float = typer.Option(0.0, min=0, max=1, help="Share of calls failing with 500."),
    token_ttl: int = typer.Option(3600, min=1, help="Access-token lifetime in seconds."),
    bulk_job_seconds: float = typer.Option(1.0, min=0, help="How long a bulk job runs."),
    state_file: Path | None = typer.Option(
        None, help="Keep the CRM in this SQLite file so it survives restarts."
    ),
) -> None:
    """Serve the sandbox and print the settings a client needs."""
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
            base_url=base_url,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    with console.status(f"seeding {accounts:,} accounts (seed {seed})…"):
        application = create_app(config)
    if error_rate:
        application.state.sandbox.faults.update({"error_rates": {"500": error_rate}})
    sandbox = application.state.sandbox
    origin = "loaded from " + str(state_file) if sandbox.seeded_from_file else "seeded"
    err_console.print(
        f"Zoho CRM sandbox ({edition}, {origin}): {base_url}  — paste these into your shell:",
        style="bold",
    )
    for name, value in client_env(base_url).items():
        print(f"export {name}={value}", flush=True)
    uvicorn.run(application, host=host, port=port, log_level="warning", lifespan="on")
