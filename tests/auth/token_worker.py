"""One worker process of the multi-process token test (run as a script, not collected).

It reads its settings from the environment, prints "ready", then for every "go" line on
stdin runs COROUTINES concurrent callers — each asks TokenManager for a token and calls
GET /crm/v8/users through ZohoAuth — and prints "done <json counts>". "stop" ends it.

With a second argument "manual" the process reads time from its own ManualClock, which
"advance SECONDS" moves (answered by "advanced"): the test moves the clients' clocks past a
token's expiry instead of Zoho's.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections import Counter

import httpx2

from sergas.auth import ManualClock, ZohoAuth, token_manager
from sergas.db import create_engine
from sergas.log import configure_logging
from sergas.settings import get_settings


async def call(client: httpx2.AsyncClient, get_token: object) -> str:
    assert callable(get_token)
    await get_token()
    response = await client.get("/crm/v8/users", params={"type": "CurrentUser"})
    if response.status_code == 200:
        return "ok"
    try:
        code = response.json().get("code", "")
    except ValueError:
        code = ""
    return f"{response.status_code} {code}".strip()


async def main(coroutines: int, manual: bool) -> None:
    settings = get_settings()
    configure_logging("json", "WARNING")  # stdout carries the protocol
    engine = create_engine(settings=settings)
    clock = ManualClock() if manual else None
    manager = token_manager(settings, engine=engine, clock=clock)
    limits = httpx2.Limits(max_connections=coroutines)
    async with httpx2.AsyncClient(
        base_url=settings.api_domain, auth=ZohoAuth(manager), limits=limits, timeout=60
    ) as client:
        print("ready", flush=True)
        while (line := (await asyncio.to_thread(sys.stdin.readline)).strip()) != "stop":
            if line.startswith("advance ") and clock is not None:
                clock.advance(float(line.split()[1]))
                print("advanced", flush=True)
                continue
            if line != "go":
                continue
            results = await asyncio.gather(
                *(call(client, manager.get_access_token) for _ in range(coroutines)),
                return_exceptions=True,
            )
            counts = Counter(r if isinstance(r, str) else type(r).__name__ for r in results)
            print("done " + json.dumps(counts), flush=True)
    await manager.aclose()
    await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2:] == ["manual"]))
