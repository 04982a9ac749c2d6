"""`sergas tokens rotate-key`: re-encrypt every stored token under a new key."""

from __future__ import annotations

import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from sergas.cli._common import console
from sergas.cli.db import run_with_engine

app = typer.Typer(help="Stored tokens: encryption keys.", no_args_is_help=True)


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
    key_file = None if settings.token_key is not None else KeyFile(settings.data_path)

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
