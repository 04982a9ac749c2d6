"""Deterministic seed data for the sandbox: the org, its users, and a book of accounts.

Everything here is a pure function of the seed (and of `now` for the records): one
`random.Random(seed)` per call, no global random state, no clock reads. The same seed gives
byte-identical users, org and records, and the same ids, because ids are taken from
the store (`RecordStore.id_block()`) in a fixed order.

`seed_store` is built for speed (10,000 accounts with their ~77,000 contacts, deals and tasks
in about a second on a slow two-core machine): picklist values and counts are drawn in bulk
with `Random.choices`, datetimes are formatted from precomputed day and time-of-day strings
instead of one `datetime` per value, records are built once in creation order (no copying,
no second pass), and they go into the store in a few large batches per module.

The package: `words` (the vocabulary and picklist weights), `people` (users and org) and
`records` (one builder per seeded module).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sergas.sandbox.seed.activity import ACTIVITY, build_activity
from sergas.sandbox.seed.people import ORG_ID, USER_DOMAIN, USER_ID_BASE, build_org, build_users
from sergas.sandbox.seed.records import DEAL_PROBABILITY, SEEDED, build_book
from sergas.sandbox.store import RecordStore

__all__ = [
    "DEAL_PROBABILITY",
    "ORG_ID",
    "USER_DOMAIN",
    "USER_ID_BASE",
    "build_org",
    "build_users",
    "seed_store",
]

_BATCH = 20_000  # records per put_many call


def seed_store(
    store: RecordStore, *, seed: int, accounts: int, users: list[dict[str, Any]], now: float
) -> None:
    """Fill `store` with `accounts` Accounts and their Contacts, Deals and Tasks, then
    Leads, Notes, Calls and Events (`activity`), and a few entries in the recycle bin.

    Records carry every schema field of their module, in schema order (None when empty).
    Created, modified and activity times lie in the past of `now`: accounts were created
    over the last three years, related records after their account; closing and due dates
    also reach ahead of `now`. Ids are handed out in creation order across the
    four modules, so within a module ascending id means ascending Created_Time, and a
    related record's id is above its account's; the later modules take their ids after
    all of those (their draws come after too, so the first four are the same with or
    without them). Health_Score, Account_Status and
    Last_Health_Check stay None for the health sweep to fill.
    """
    if accounts < 0:
        raise ValueError("accounts must be >= 0")
    if not users:
        raise ValueError("seeding needs at least one user")
    with _gc_paused():
        with store.id_block() as new_id:
            batches, book, plan = build_book(new_id, seed, accounts, users, int(now))
            activity, recycle_bin = build_activity(book, plan, batches[0], batches[2])
        for module, records in zip((*SEEDED, *ACTIVITY), (*batches, *activity), strict=True):
            for start in range(0, len(records), _BATCH):
                store.put_many(module, records[start : start + _BATCH])
        for module, entries in recycle_bin.items():
            store.put_deleted(module, entries)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Bulk allocation of container objects without the cyclic collector's passes.

    Seeding creates no reference cycles, so nothing is lost; the pause is process-wide but
    lasts only while the records are built and stored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
