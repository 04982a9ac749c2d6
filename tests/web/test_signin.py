"""Signing in to the dashboard: an API key on a form becomes a session cookie (never the key),
scripts use Bearer, and sessions end when they expire, when their key is revoked, or on
signing out. Forged cross-site posts are refused."""

from __future__ import annotations

import hashlib

import httpx2
from sqlalchemy import select, update
from tests.service.support import Keys
from tests.web.conftest import Swept
from tests.web.support import hidden, sign_in

from sergas.access.keys import ApiKeyStore
from sergas.db.tables import web_sessions
from sergas.runtime import Runtime
from sergas.web.auth import COOKIE


async def test_a_browser_without_a_session_is_sent_to_sign_in(client: httpx2.AsyncClient) -> None:
    response = await client.get("/approvals?decided=1")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=%2Fapprovals%3Fdecided%3D1"

    form = await client.get("/signin")
    assert form.status_code == 200
    assert '<label for="api_key">API key</label>' in form.text
    assert 'id="api_key" name="api_key" type="password"' in form.text
    assert form.headers["content-security-policy"].startswith("default-src 'none'")


async def test_signing_in_sets_a_session_cookie_not_the_key(
    client: httpx2.AsyncClient, keys: Keys, runtime: Runtime, swept: Swept
) -> None:
    response = await sign_in(client, keys.read, "/approvals")
    assert response.status_code == 303 and response.headers["location"] == "/approvals"

    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}="))
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "max-age", "path", "samesite"} <= attributes
    assert "samesite=strict" in cookie.lower()
    assert "secure" not in attributes  # plain HTTP here; see the TLS test below
    token = client.cookies[COOKIE]
    secret = keys.read.rsplit("_", 1)[1]
    assert secret not in cookie and keys.read not in cookie

    # The database holds a hash of the token and the key's public id: neither secret.
    async with runtime.engine.connect() as conn:
        rows = (await conn.execute(select(web_sessions))).all()
    assert [r.id for r in rows] == [hashlib.sha256(token.encode()).hexdigest()]
    assert rows[0].key_id in keys.read and secret not in str(rows[0])

    page = await client.get("/")
    assert page.status_code == 200 and "reader · read scope" in page.text


async def test_the_cookie_is_secure_over_tls(app: object, keys: Keys) -> None:
    transport = httpx2.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx2.AsyncClient(transport=transport, base_url="https://sergas.test") as client:
        response = await sign_in(client, keys.read)
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith(f"{COOKIE}="))
    assert "secure" in {p.strip().lower() for p in cookie.split(";")}


async def test_a_wrong_key_is_refused_on_the_form(client: httpx2.AsyncClient, keys: Keys) -> None:
    response = await sign_in(client, keys.read[:-4] + "AAAA")
    assert response.status_code == 401
    assert "Not signed in: unknown or revoked API key." in response.text
    assert COOKIE not in client.cookies
    assert keys.read[:-4] not in response.text  # the key is not echoed back


async def test_a_forged_sign_in_is_refused(client: httpx2.AsyncClient, keys: Keys) -> None:
    """Without the form's own value (double-submitted in a cookie), or from another site."""
    no_form = await client.post("/signin", data={"api_key": keys.read})
    assert no_form.status_code == 403

    form = await client.get("/signin")
    data = {"api_key": keys.read, "form": hidden(form.text)["form"]}
    elsewhere = await client.post("/signin", data=data, headers={"Origin": "https://evil.test"})
    assert elsewhere.status_code == 403
    assert COOKIE not in client.cookies


async def test_sign_in_goes_back_only_to_this_site(client: httpx2.AsyncClient, keys: Keys) -> None:
    for target in ("//evil.test/x", "https://evil.test", "/\\evil.test", "/\t/evil.test"):
        client.cookies.clear()
        response = await sign_in(client, keys.read, target)
        assert response.headers["location"] == "/"
    client.cookies.clear()
    kept = await sign_in(client, keys.read, "/owners/42?x=1")
    assert kept.headers["location"] == "/owners/42?x=1"


async def test_bearer_keys_work_for_scripts(
    client: httpx2.AsyncClient, keys: Keys, swept: Swept
) -> None:
    page = await client.get("/", headers=Keys.bearer(keys.read))
    assert page.status_code == 200 and "Accounts by status" in page.text
    assert "Sign out" not in page.text  # no session to end

    unknown = "sgk_000000000000_" + "x" * 40
    bad = await client.get("/", headers={"Authorization": f"Bearer {unknown}"})
    assert bad.status_code == 401


async def test_a_session_ends(
    client: httpx2.AsyncClient, keys: Keys, runtime: Runtime, swept: Swept
) -> None:
    await sign_in(client, keys.write)
    assert (await client.get("/")).status_code == 200

    # Past its expiry: signed out.
    async with runtime.engine.begin() as conn:
        await conn.execute(update(web_sessions).values(expires_at=web_sessions.c.created_at))
    assert (await client.get("/")).status_code == 303

    # Its key revoked: signed out at once.
    await sign_in(client, keys.write)
    assert (await client.get("/")).status_code == 200
    await ApiKeyStore(runtime.engine).revoke(keys.write)
    assert (await client.get("/")).status_code == 303

    # Signing out deletes the session (the same cookie no longer works).
    await sign_in(client, keys.read)
    page = await client.get("/")
    token = client.cookies[COOKIE]
    signed_out = await client.post("/signout", data={"csrf": hidden(page.text)["csrf"]})
    assert signed_out.status_code == 303
    client.cookies.set(COOKIE, token)
    assert (await client.get("/")).status_code == 303


async def test_signing_out_needs_the_form_token(client: httpx2.AsyncClient, keys: Keys) -> None:
    await sign_in(client, keys.read)
    forged = await client.post("/signout", data={})
    assert forged.status_code == 403
    assert (await client.get("/approvals")).status_code == 200
