"""Encryption of tokens at rest (Fernet, from the `cryptography` package).

The key comes from SERGAS_TOKEN_KEY: one Fernet key, or several separated by commas (the first
encrypts, all decrypt), which lets a fleet move to a new key without downtime. With a SQLite
database and no SERGAS_TOKEN_KEY, a key file `token.key` (mode 0600) is created in the data
directory on first use. A PostgreSQL database is shared between hosts, so there the key must
be given explicitly.

A key file is created only while the database holds no token: if `token.key` disappears while
encrypted tokens are stored, a new key would make them unreadable without a word, so Sergas
refuses (TokenKeyMissingError) and says how to recover: restore the file, or `sergas tokens
drop` and log in again.

Key rotation on the key file goes through `token.key.next`: the new key is written there first,
the rows are re-encrypted in one transaction, then the file is renamed over `token.key`. Both
files are loaded when present, so a crash at any step leaves every row readable.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy.engine import make_url

from sergas.errors import ConfigError, DatabaseError, TokenKeyMissingError
from sergas.files import private_dir
from sergas.log import get_logger
from sergas.settings import Settings

__all__ = ["KEY_FILE", "PENDING_KEY_FILE", "KeyFile", "TokenCipher", "load_cipher"]

KEY_FILE = "token.key"
PENDING_KEY_FILE = "token.key.next"

log = get_logger("sergas.crypto")


class TokenCipher:
    """Encrypts and decrypts token strings. Its repr never shows a key."""

    def __init__(self, keys: Sequence[str | bytes], *, source: str = "SERGAS_TOKEN_KEY") -> None:
        if not keys:
            raise ConfigError(f"{source}: no encryption key given")
        try:
            self._fernets = [Fernet(k) for k in keys]
        except (ValueError, TypeError):
            raise ConfigError(
                f"{source}: not a valid key (expected url-safe base64 of 32 bytes; "
                "generate one with `sergas tokens rotate-key`)"
            ) from None
        self._multi = MultiFernet(self._fernets)
        self._primary = keys[0] if isinstance(keys[0], bytes) else keys[0].encode()
        self.source = source

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()

    @property
    def fingerprint(self) -> str:
        """A short, non-secret identifier of the primary key (for status output)."""
        return hashlib.sha256(self._primary).hexdigest()[:12]

    def encrypt(self, plaintext: str) -> bytes:
        return self._multi.encrypt(plaintext.encode())

    def decrypt(self, ciphertext: bytes) -> str:
        try:
            return self._multi.decrypt(bytes(ciphertext)).decode()
        except InvalidToken:
            raise ConfigError(
                f"the stored tokens cannot be decrypted with the key from {self.source}; "
                "was the key changed without `sergas tokens rotate-key`?"
            ) from None

    def __repr__(self) -> str:
        return f"TokenCipher(source={self.source!r}, fingerprint={self.fingerprint!r})"


class KeyFile:
    """The key file of an embedded installation: created once, mode 0600, rotated safely."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / KEY_FILE
        self.pending_path = directory / PENDING_KEY_FILE

    def keys(self) -> list[str]:
        """The keys to load, primary first; creates the key file when there is none."""
        if not self.path.exists():
            self._create(self.path, TokenCipher.generate_key())
        keys = [self._read(self.path)]
        if self.pending_path.exists():
            keys.append(self._read(self.pending_path))
        return keys

    def write_pending(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.pending_path.unlink()
        self._create(self.pending_path, key)

    def promote_pending(self) -> None:
        os.replace(self.pending_path, self.path)
        log.info("token key rotated", path=str(self.path))

    def discard_pending(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.pending_path.unlink()

    def _create(self, path: Path, key: str) -> None:
        # Written to a private temp file, then linked into place: a concurrent process either
        # wins the link or reads the complete file of the process that did.
        private_dir(self.directory)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, key.encode() + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)
            if path.name == KEY_FILE:
                log.info("token encryption key created", path=str(path))
        except FileExistsError:
            pass
        finally:
            tmp.unlink()

    def _read(self, path: Path) -> str:
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            log.warning("token key file is readable by others", path=str(path), mode=oct(mode))
        return path.read_text().strip()


def load_cipher(settings: Settings) -> TokenCipher:
    """The cipher for this process: SERGAS_TOKEN_KEY, else the key file (SQLite only)."""
    if settings.token_key is not None and settings.token_key.get_secret_value().strip():
        keys = [k.strip() for k in settings.token_key.get_secret_value().split(",") if k.strip()]
        return TokenCipher(keys)
    if not settings.effective_database_url.startswith("sqlite"):
        raise ConfigError(
            "SERGAS_TOKEN_KEY is not set: it is required with a shared (PostgreSQL) database; "
            "generate one with `sergas tokens rotate-key --generate`"
        )
    key_file = KeyFile(settings.data_path)
    if not key_file.path.exists():
        stored = stored_tokens(settings.effective_database_url)
        if stored:
            raise key_missing(key_file.path, stored)
    return TokenCipher(key_file.keys(), source=str(key_file.path))


def key_missing(path: Path, stored: int) -> TokenKeyMissingError:
    return TokenKeyMissingError(
        f"the token key file {path} is missing, but the database holds {stored} encrypted "
        "Zoho token(s) that only that key decrypts, so Sergas will not make a new one. "
        f"Restore {path.name} from a backup (mode 0600), or, if the key is lost, run "
        "`sergas tokens drop` to delete the unreadable tokens and then `sergas auth login` "
        "(or set ZOHO_REFRESH_TOKEN) to store a new one",
        details={"path": str(path), "stored_tokens": stored},
    )


def stored_tokens(sqlite_url: str) -> int:
    """How many token rows an embedded (SQLite) database holds; 0 if it does not exist yet.

    Read with the standard library, read-only: this runs before an engine exists, to decide
    whether a key file may be created."""
    database = make_url(sqlite_url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return 0
    path = Path(database).expanduser()
    if not path.is_file():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as conn:
            (count,) = conn.execute("SELECT count(*) FROM zoho_tokens").fetchone()
    except sqlite3.Error as exc:
        if "no such table" in str(exc):  # no schema yet
            return 0
        raise DatabaseError(
            f"cannot read the embedded database {path}: {type(exc).__name__}: {exc}"
        ) from None
    return int(count)
