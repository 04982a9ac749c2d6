"""Where the sandbox keeps its records: in memory, optionally mirrored to a SQLite state file.

Records are dicts in Zoho's JSON shape (ids are 19-digit strings, lookups are
`{"name","id"}` objects, datetimes ISO 8601 with an offset). Ids grow monotonically, so a
module's dict keeps ascending-id order by insertion.

With a state file every write is mirrored in the same call (one SQLite transaction per
batch), so a sandbox that is killed and started again sees every write it acknowledged.
A module's records are read from the file when the module is first used: the embedded
sandbox behind `sergas accounts get` decodes the ~10,000 Accounts, not all ~87,000 records.
"""

from __future__ import annotations

import itertools
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson

from sergas.sandbox.schema import ID_BASE

Record = dict[str, Any]

_DDL = """
CREATE TABLE IF NOT EXISTS records (
    module TEXT NOT NULL,
    id TEXT NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (module, id)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deleted (
    module TEXT NOT NULL,
    id TEXT NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (module, id)
);
"""


class RecordStore:
    def __init__(self, modules: Iterable[str], path: Path | None = None) -> None:
        self._modules = tuple(modules)
        self._data: dict[str, dict[str, Record]] = {m: {} for m in self._modules}
        self._unread: set[str] = set()  # modules whose records are still only in the file
        # The recycle bin: per module, what GET /{module}/deleted lists, in deletion order.
        self._deleted: dict[str, dict[str, Record]] = {m: {} for m in self._modules}
        self._version: dict[str, int] = dict.fromkeys(self._modules, 0)
        self._sorted: dict[tuple[str, str], tuple[int, list[Record]]] = {}
        self._lookups: dict[tuple[str, str], tuple[int, dict[str, list[Record]]]] = {}
        self._next_id = ID_BASE + 1000
        self._lock = threading.RLock()
        self._db: sqlite3.Connection | None = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))  # CRM data: owner only
            path.chmod(0o600)
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_DDL)

    # -- persistence -------------------------------------------------------------------

    @property
    def persistent(self) -> bool:
        return self._db is not None

    def load(self) -> bool:
        """Take the state file's records as the store's (each module read when first used);
        False when it holds nothing yet."""
        if self._db is None:
            return False
        stored = {m for (m,) in self._db.execute("SELECT DISTINCT module FROM records")}
        with self._lock:
            self._unread = stored & set(self._modules)
            for module in self._unread:
                self._data[module].clear()
        found = bool(self._unread)
        for module, record_id, body in self._db.execute(
            "SELECT module, id, body FROM deleted ORDER BY rowid"
        ):
            if module in self._deleted:
                self._deleted[module][record_id] = orjson.loads(body)
        meta = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
        self._next_id = int(meta.get("next_id", self._next_id))
        for module in self._modules:
            self._bump(module)
        return found

    def _bucket(self, module: str) -> dict[str, Record]:
        """The module's records, read from the state file on first use (ids ascending)."""
        if module in self._unread:
            with self._lock:
                if module in self._unread and self._db is not None:
                    rows = self._db.execute(
                        "SELECT id, body FROM records WHERE module = ? ORDER BY id", (module,)
                    )
                    bucket = self._data[module]
                    for record_id, body in rows:
                        bucket[record_id] = orjson.loads(body)
                    self._bump(module)
                self._unread.discard(module)
        return self._data[module]

    def get_meta(self, key: str) -> str | None:
        if self._db is None:
            return None
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        if self._db is not None:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    def _mirror(self, module: str, records: list[Record], table: str = "records") -> None:
        if self._db is None or not records:
            return
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    f"INSERT INTO {table} (module, id, body) VALUES (?, ?, ?) "
                    "ON CONFLICT(module, id) DO UPDATE SET body = excluded.body",
                    [(module, r["id"], orjson.dumps(r)) for r in records],
                )
                self._db.execute(
                    "INSERT INTO meta (key, value) VALUES ('next_id', ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (str(self._next_id),),
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    # -- reads ---------------------------------------------------------------------------

    def count(self, module: str) -> int:
        return len(self._bucket(module))

    def version(self, module: str) -> int:
        """Changes whenever the module's records do (for caches of derived data)."""
        return self._version[module]

    def get(self, module: str, record_id: str) -> Record | None:
        return self._bucket(module).get(record_id)

    def all(self, module: str) -> Iterator[Record]:
        """Every record of the module, ascending by id."""
        return iter(list(self._bucket(module).values()))

    def ordered(self, module: str, sort_by: str = "id", descending: bool = False) -> list[Record]:
        """Records sorted by `sort_by` (id, Created_Time or Modified_Time); cached per version."""
        key = (module, f"{sort_by}:{descending}")
        version = self._version[module]
        cached = self._sorted.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        records = list(self._bucket(module).values())
        if sort_by == "id":
            if descending:
                records.reverse()
        else:
            # Ties broken by id so paging is stable.
            records.sort(key=lambda r: (r.get(sort_by) or "", r["id"]), reverse=descending)
        self._sorted[key] = (version, records)
        return records

    def by_lookup(self, module: str, field: str) -> dict[str, list[Record]]:
        """Records by the id their lookup `field` points to, each list ascending by id; cached
        per version (an index, as Zoho has: a query on a lookup need not read every record)."""
        key = (module, field)
        version = self._version[module]
        cached = self._lookups.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        index: dict[str, list[Record]] = {}
        for record in self.ordered(module):
            value = record.get(field)
            if isinstance(value, dict) and value.get("id") is not None:
                index.setdefault(str(value["id"]), []).append(record)
        self._lookups[key] = (version, index)
        return index

    # -- writes --------------------------------------------------------------------------

    def new_id(self) -> str:
        with self._lock:
            self._next_id += 1
            return str(self._next_id)

    @contextmanager
    def id_block(self) -> Iterator[Callable[[], str]]:
        """`new_id` without the lock, for one thread that creates many records (seeding);
        the store's next id moves past the block's when it ends."""
        with self._lock:
            numbers = itertools.count(self._next_id + 1)
            last = [self._next_id]

            def new_id() -> str:
                last[0] = number = next(numbers)
                return str(number)

            try:
                yield new_id
            finally:
                self._next_id = last[0]

    def put_many(self, module: str, records: list[Record]) -> None:
        """Insert or replace records (a record's `id` must be set)."""
        with self._lock:
            bucket = self._bucket(module)
            for record in records:
                bucket[record["id"]] = record
            self._bump(module)
            self._mirror(module, records)

    def put(self, module: str, record: Record) -> None:
        self.put_many(module, [record])

    def delete(self, module: str, record_id: str) -> Record | None:
        """Remove a record; the removed record, or None if there was none."""
        with self._lock:
            found = self._bucket(module).pop(record_id, None)
            if found is not None:
                self._bump(module)
                if self._db is not None:
                    self._db.execute(
                        "DELETE FROM records WHERE module = ? AND id = ?", (module, record_id)
                    )
            return found

    def put_deleted(self, module: str, entries: list[Record]) -> None:
        """Add recycle-bin entries (each with the deleted record's `id`)."""
        with self._lock:
            bucket = self._deleted[module]
            for entry in entries:
                bucket[entry["id"]] = entry
            self._mirror(module, entries, "deleted")

    def deleted(self, module: str) -> list[Record]:
        """The module's recycle-bin entries, oldest deletion first."""
        return list(self._deleted[module].values())

    def clear(self) -> None:
        with self._lock:
            self._unread.clear()
            for module in self._modules:
                self._data[module].clear()
                self._deleted[module].clear()
                self._bump(module)
            self._next_id = ID_BASE + 1000
            if self._db is not None:
                self._db.execute("DELETE FROM records")
                self._db.execute("DELETE FROM deleted")
                self._db.execute("DELETE FROM meta")

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _bump(self, module: str) -> None:
        self._version[module] += 1
