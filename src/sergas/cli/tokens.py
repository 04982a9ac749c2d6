"""`sergas tokens`: the key that encrypts stored tokens (the first one, a new one), and the way
back when it is lost."""

from __future__ import annotations

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.cli._common import console
from sergas.cli.db import run_with_engine

app = typer.Typer(help="Stored tokens: encryption keys.", no_args_is_help=True)

_WHERE_TO_KEEP = (
    "Keep the key secret and safe: give it to every Sergas process as SERGAS_TOKEN_KEY "
    "(from a secrets manager or the service's protected environment file), never in the "
    "database, in version control or in a shared .env. Keep a copy (a password manager, a "
    "vault): without it the stored tokens cannot be read."
)


@app.command("rotate-key")
def rotate_key(
    new_key: str | None = typer.Option(
        None, "--new-key", help="The new Fernet key (url-safe base64 of 32 bytes)."
    ),
    generate: bool = typer.Option(False, "--generate", help="Generate the new key."),
) -> None:
    """Re-encrypt every row under a new key, in one transaction.

    With SERGAS_TOKEN_KEY, set it to the new key afterwards (during a roll-out, to
    "NEW,OLD": the first key encrypts, all decrypt). With the key file of an embedded
    installation, the file is replaced. Restart running Sergas processes either way.
    On PostgreSQL without SERGAS_TOKEN_KEY and with no token stored yet, this makes the
    first key: it prints it, and re-encrypts nothing.
    """
    from sergas.auth.sql_store import SqlTokenStore
    from sergas.crypto import KeyFile, TokenCipher, load_cipher
    from sergas.errors import ConfigError
    from sergas.settings import get_settings

    if bool(new_key) == generate:
        raise ConfigError("give exactly one of --new-key KEY or --generate")
    settings = get_settings()
    key = new_key or TokenCipher.generate_key()
    new = TokenCipher([key], source="--new-key")
    key_given = settings.token_key is not None and bool(settings.token_key.get_secret_value())
    if not key_given and not settings.effective_database_url.startswith("sqlite"):
        _first_key(key, generate)
        return
    key_file = None if key_given else KeyFile(settings.data_path)

    async def run(engine: AsyncEngine) -> int:
        store = SqlTokenStore(engine, load_cipher(settings))
        if key_file is None:
            return await store.rotate_key(new)
        if key_file.pending_path.exists():  # finish a rotation that was interrupted
            await store.rotate_key(TokenCipher([*reversed(key_file.keys())]))
            key_file.promote_pending()
        key_file.write_pending(key)
        try:
            count = await store.rotate_key(new)
        except BaseException:
            key_file.discard_pending()
            raise
        key_file.promote_pending()
        return count

    count = run_with_engine(run)
    console.print(f"re-encrypted {count} token row(s) under the new key")
    if key_file is not None:
        console.print(f"key file replaced: {key_file.path}")
    else:
        console.print("now set SERGAS_TOKEN_KEY to the new key in every Sergas process")
        if generate:
            print(key)


def _first_key(key: str, generated: bool) -> None:
    """A shared database and no key yet: nothing to re-encrypt, unless tokens are stored
    under a key this process was not given (then a new key would orphan them)."""
    from sergas.auth.sql_store import count_tokens
    from sergas.db import safe_url
    from sergas.errors import TokenKeyMissingError
    from sergas.settings import get_settings

    stored = run_with_engine(count_tokens)
    if stored:
        where = safe_url(get_settings().effective_database_url)
        raise TokenKeyMissingError(
            f"SERGAS_TOKEN_KEY is not set, but {where} holds {stored} encrypted Zoho token(s) "
            "under some key: set SERGAS_TOKEN_KEY to that key (then `rotate-key` moves them "
            "to a new one), or, if it is lost, run `sergas tokens drop` and then "
            "`sergas auth login` with a new key",
            details={"stored_tokens": stored},
        )
    console.print("no token is stored yet, so this is the first key: nothing to re-encrypt.")
    console.print(_WHERE_TO_KEEP, soft_wrap=True)
    console.print("then run `sergas auth login --code …` (or set ZOHO_REFRESH_TOKEN)")
    if generated:
        print(key)


@app.command("drop")
def drop(yes: bool = typer.Option(False, "--yes", help="Do not ask for confirmation.")) -> None:
    """Delete every stored Zoho token, without reading them: the way back when the key that
    decrypts them is lost. The refresh-audit rows stay."""
    from sergas.auth.sql_store import drop_tokens

    if not yes:
        typer.confirm(
            "Delete every stored Zoho token? Sergas needs a new login afterwards.", abort=True
        )
    count = run_with_engine(drop_tokens)
    console.print(f"deleted {count} stored token(s); the refresh audit is kept")
    console.print(
        "next: `sergas auth login --code …` (or set ZOHO_REFRESH_TOKEN) to store a new one; "
        "on a shared database, with SERGAS_TOKEN_KEY set to a new key first "
        "(`sergas tokens rotate-key --generate`). The dropped refresh tokens stay valid at "
        "Zoho until you revoke them in Zoho's API console.",
        soft_wrap=True,
    )
