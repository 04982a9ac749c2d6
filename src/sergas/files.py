"""Files Sergas writes: private to their owner, and never half-written.

Everything Sergas keeps on disk holds data someone should not read (encrypted tokens and
their key, API key hashes, audit rows, CRM records, briefs, exports): files are 0600 and
the folders Sergas creates for them 0700. A folder that already existed is left as it is:
it may be the user's own (an export's `--out` folder, /tmp).

`atomic_write` writes to a private temporary file in the same folder and renames it over the
target only when the whole content was written, so a failure (Zoho refusing a field midway,
a full disk, a killed process) leaves the previous file, or none, never a partial one.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

__all__ = [
    "PRIVATE_DIR",
    "PRIVATE_FILE",
    "atomic_write",
    "narrow",
    "private_dir",
    "private_file",
]

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700


def private_dir(path: Path) -> Path:
    """Make `path` and any missing parents, each with mode 0700 (whatever the umask)."""
    missing: list[Path] = []
    current = path
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):  # made meanwhile by another process
            folder.mkdir(mode=PRIVATE_DIR)
            folder.chmod(PRIVATE_DIR)  # exactly 0700, whatever the umask took away
    return path


def private_file(path: Path) -> Path:
    """Make `path` (empty) with mode 0600 if it is missing; narrow it to 0600 if it exists."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE)
    try:
        if stat.S_IMODE(os.fstat(fd).st_mode) != PRIVATE_FILE:
            os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    return path


def narrow(path: Path) -> None:
    """Narrow an existing file to 0600 (nothing if it does not exist)."""
    with contextlib.suppress(FileNotFoundError):
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(PRIVATE_FILE)


@contextlib.contextmanager
def atomic_write(
    path: Path, *, encoding: str = "utf-8", newline: str | None = None
) -> Iterator[IO[str]]:
    """A text file to write `path` through: private, and in place only once the block ends
    without an error (then flushed to disk and renamed over `path`)."""
    private_dir(path.parent)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline=newline) as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise
