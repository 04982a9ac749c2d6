"""Encryption at rest: the key from SERGAS_TOKEN_KEY, or a key file made once with mode 0600."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from sergas.crypto import KeyFile, TokenCipher, load_cipher
from sergas.errors import ConfigError
from sergas.settings import get_settings

TOKEN = "1000.2b7e151628aed2a6abf7158809cf4f3c.9f2c41d0a7e64b1c8d3e5f6a7b8c9d0e"


def test_round_trip_without_plaintext() -> None:
    cipher = TokenCipher([TokenCipher.generate_key()])
    sealed = cipher.encrypt(TOKEN)
    assert TOKEN.encode() not in sealed
    assert cipher.decrypt(sealed) == TOKEN
    assert cipher.encrypt(TOKEN) != sealed  # a fresh IV each time


def test_key_file_created_once_with_mode_0600(isolated_settings: Path) -> None:
    with capture_logs() as logs:
        first = load_cipher(get_settings())
        second = load_cipher(get_settings())
    key_file = isolated_settings / "token.key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert second.decrypt(first.encrypt(TOKEN)) == TOKEN
    created = [e for e in logs if e["event"] == "token encryption key created"]
    assert [e["path"] for e in created] == [str(key_file)]  # its location, logged once
    assert key_file.read_text().strip() not in repr(logs)


def _load(directory: str, queue: multiprocessing.Queue[str]) -> None:
    queue.put(KeyFile(Path(directory)).keys()[0])


def test_concurrent_first_use_agrees_on_one_key(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    queue: multiprocessing.Queue[str] = ctx.Queue()
    procs = [ctx.Process(target=_load, args=(str(tmp_path), queue)) for _ in range(4)]
    for p in procs:
        p.start()
    keys = {queue.get(timeout=30) for _ in procs}
    for p in procs:
        p.join()
    assert keys == {(tmp_path / "token.key").read_text().strip()}


def test_sergas_token_key_wins_and_may_list_several_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    old, new = TokenCipher.generate_key(), TokenCipher.generate_key()
    sealed_by_old = TokenCipher([old]).encrypt(TOKEN)
    monkeypatch.setenv("SERGAS_TOKEN_KEY", f"{new}, {old}")
    cipher = load_cipher(get_settings())
    assert cipher.decrypt(sealed_by_old) == TOKEN
    assert TokenCipher([new]).decrypt(cipher.encrypt(TOKEN)) == TOKEN  # the first encrypts
    assert not (get_settings().data_path / "token.key").exists()


def test_an_invalid_key_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERGAS_TOKEN_KEY", "too-short")
    with pytest.raises(ConfigError, match="SERGAS_TOKEN_KEY") as info:
        load_cipher(get_settings())
    assert "too-short" not in str(info.value)


def test_postgres_requires_an_explicit_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERGAS_DATABASE_URL", "postgresql://postgres@127.0.0.1/x")
    with pytest.raises(ConfigError, match="SERGAS_TOKEN_KEY is not set"):
        load_cipher(get_settings())


def test_an_interrupted_rotation_stays_readable(isolated_settings: Path) -> None:
    key_file = KeyFile(isolated_settings)
    old = TokenCipher(key_file.keys())
    new_key = TokenCipher.generate_key()
    key_file.write_pending(new_key)
    sealed_by_new = TokenCipher([new_key]).encrypt(TOKEN)  # rows re-encrypted, then a crash
    recovered = load_cipher(get_settings())
    assert recovered.decrypt(sealed_by_new) == TOKEN
    assert recovered.decrypt(old.encrypt(TOKEN)) == TOKEN
    key_file.promote_pending()
    assert load_cipher(get_settings()).decrypt(sealed_by_new) == TOKEN


def test_repr_shows_no_key() -> None:
    key = TokenCipher.generate_key()
    assert key not in repr(TokenCipher([key]))
