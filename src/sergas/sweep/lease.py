"""One sweep per CRM at a time: a lease in Sergas's database, renewed while the sweep works.

A real (not dry) sweep takes the lease of its scope (which CRM) before it reads anything,
and holds it until its run is done. The lease names its holder (a queued job, or a
`sergas sweep` process), the run it writes, and when it expires. While it has not expired,
every other sweep of the same CRM is refused with `SweepRunning`, naming the holder; the
holder renews it every third of `SERGAS_SWEEP_LEASE_SECONDS`, so a holder that died (its
process killed, its machine gone) frees it within that time. Two cases free it at once:
another attempt of the *same* job (the queue only retries a job whose worker stopped sending
heartbeats), and a holder on this same machine whose process is gone (a `sergas sweep`
killed a moment ago).

Every batch is marked "writing" only while the lease still names its holder (a *fence*,
checked in the same UPDATE), so a sweep whose lease was taken over (it expired while the
process was stalled) stops before its next batch instead of writing beside the new holder.
Shards of a queued sweep (sub-jobs writing some of its batches) are fenced by the job: they
write while the lease is held by any attempt of the job that planned them, and only the
batches still assigned to them.

Expiry uses each machine's clock (UTC): hosts sharing a database must keep their clocks in
step (NTP) to well within the lease time.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, insert, select, update
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql.elements import ColumnElement

from sergas.db.engine import database_errors, write_transaction
from sergas.db.tables import sweep_leases
from sergas.errors import DatabaseError, SergasError

__all__ = [
    "Fence",
    "Holder",
    "Interrupted",
    "LeaseLost",
    "LeaseRow",
    "SweepLease",
    "SweepRunning",
    "current_lease",
]

_UNIQUE_VIOLATION = "23505"


class SweepRunning(SergasError):
    """Another sweep of the same CRM holds the lease."""

    default_code = "SWEEP_RUNNING"


class LeaseLost(SergasError):
    """This sweep's lease was taken over by another sweep (it had expired)."""

    default_code = "SWEEP_LEASE_LOST"


class Interrupted(SergasError):
    """The sweep stopped at a checkpoint because it was asked to (its worker is shutting
    down); it resumes from there."""

    default_code = "SWEEP_INTERRUPTED"
    default_retryable = True


def worker_name() -> str:
    """This process, as leases and job attempts name it: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Holder:
    """Who holds a lease: `name` for people, `job_id` when it is a queued job."""

    name: str
    job_id: int | None = None

    @classmethod
    def process(cls) -> Holder:
        return cls(f"`sergas sweep` on {worker_name()}")


@dataclass(frozen=True)
class Fence:
    """The condition under which a batch may be marked "writing" (see the module docstring)."""

    scope: str
    holder: str | None = None  # the lease still names this holder …
    job_id: int | None = None  # … or any attempt of this job
    shard_job: int | None = None  # and the batch is still assigned to this (shard) job

    def condition(self) -> ColumnElement[bool]:
        """The lease row, while it still names this holder (or job)."""
        condition = sweep_leases.c.scope == self.scope
        if self.job_id is not None:
            return condition & (sweep_leases.c.job_id == self.job_id)
        return condition & (sweep_leases.c.holder == self.holder)

    def clause(self) -> ColumnElement[bool]:
        return exists(select(sweep_leases.c.scope).where(self.condition()))

    def lost(self, batch_no: int = 0) -> LeaseLost:
        """LeaseLost, before batch `batch_no` (0: while saving the plan or finishing)."""
        who = f"job {self.job_id}" if self.job_id is not None else self.holder
        shard = f" or the batch was handed to another job than {self.shard_job}"
        where = f"before batch {batch_no}" if batch_no else "before saving its work"
        return LeaseLost(
            f"the lease of this CRM's sweep is no longer held by {who} (it expired and "
            f"another sweep took it over){shard if self.shard_job else ''}: stopped {where}",
            details={"scope": self.scope, "batch": batch_no},
        )


@dataclass(frozen=True)
class LeaseRow:
    scope: str
    holder: str
    job_id: int | None
    run_id: str | None
    acquired_at: datetime
    expires_at: datetime

    @property
    def run(self) -> str:
        return f"run {self.run_id}" if self.run_id else "its run not planned yet"

    def process_gone(self) -> bool:
        """Whether the holder ran on this machine and its process no longer exists."""
        host, _, pid = self.holder.rpartition(" on ")[2].rpartition(":")
        if host != socket.gethostname() or not pid.isdigit():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False  # it exists (owned by another user)
        return False


def _row(row: Any) -> LeaseRow:
    return LeaseRow(row.scope, row.holder, row.job_id, row.run_id, row.acquired_at, row.expires_at)


async def current_lease(engine: AsyncEngine, scope: str) -> LeaseRow | None:
    """The lease row of `scope` (which may have expired), if any."""
    with database_errors(engine.url):
        async with engine.connect() as conn:
            row = (
                await conn.execute(select(sweep_leases).where(sweep_leases.c.scope == scope))
            ).first()
    return None if row is None else _row(row)


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SweepLease:
    """The lease of one scope, for one holder. Use `held()`."""

    def __init__(
        self,
        engine: AsyncEngine,
        scope: str,
        holder: Holder,
        *,
        seconds: float,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.engine = engine
        self.scope = scope
        self.holder = holder
        self.seconds = seconds
        self.clock = clock
        self.lost: LeaseLost | None = None  # set when a renewal found it taken over

    @property
    def fence(self) -> Fence:
        return Fence(self.scope, holder=self.holder.name)

    async def acquire(self) -> None:
        """Take the lease, or raise SweepRunning naming whoever holds it."""
        try:
            await self._acquire()
        except DatabaseError as exc:
            if exc.details.get("sqlstate") != _UNIQUE_VIOLATION:
                raise
            await self._acquire()  # another sweep inserted it first: it now holds it

    async def _acquire(self) -> None:
        now = self.clock()
        values = {
            "holder": self.holder.name,
            "job_id": self.holder.job_id,
            "acquired_at": now,
            "expires_at": now + timedelta(seconds=self.seconds),
        }
        query = select(sweep_leases).where(sweep_leases.c.scope == self.scope).with_for_update()
        async with write_transaction(self.engine) as conn:
            found = (await conn.execute(query)).first()
            if found is None:
                await conn.execute(insert(sweep_leases).values(scope=self.scope, **values))
                return
            row = _row(found)
            same_job = self.holder.job_id is not None and row.job_id == self.holder.job_id
            mine = row.holder == self.holder.name or same_job
            if not mine and row.expires_at > now and not row.process_gone():
                raise self._running(row)
            run_id = row.run_id if mine else None
            await conn.execute(
                update(sweep_leases)
                .where(sweep_leases.c.scope == self.scope)
                .values(run_id=run_id, **values)
            )

    def _running(self, row: LeaseRow) -> SweepRunning:
        if row.job_id is not None:
            what = f"queued job {row.job_id}"
            hint = f"see `sergas jobs show {row.job_id}`, or cancel it with `sergas jobs cancel`"
        else:
            what = row.holder
            hint = "wait for it to finish"
        return SweepRunning(
            f"a sweep of this CRM is already running: {what} holds it "
            f"({row.run}), its lease renewed until "
            f"{row.expires_at:%Y-%m-%d %H:%M:%S} UTC; {hint}",
            details={
                "scope": self.scope,
                "holder": row.holder,
                "job_id": row.job_id,
                "run_id": row.run_id,
                "expires_at": row.expires_at.isoformat(),
            },
        )

    async def renew(self) -> None:
        """Push the expiry on; LeaseLost if another sweep took the lease over."""
        expires = self.clock() + timedelta(seconds=self.seconds)
        statement = (
            update(sweep_leases)
            .where(sweep_leases.c.scope == self.scope, sweep_leases.c.holder == self.holder.name)
            .values(expires_at=expires)
        )
        async with write_transaction(self.engine) as conn:
            changed = (await conn.execute(statement)).rowcount
        if not changed:
            self.lost = LeaseLost(
                f"the lease of this CRM's sweep was taken over by another sweep while "
                f"{self.holder.name} held it (it expired)",
                details={"scope": self.scope},
            )
            raise self.lost

    async def set_run(self, run_id: str) -> None:
        statement = (
            update(sweep_leases)
            .where(sweep_leases.c.scope == self.scope, sweep_leases.c.holder == self.holder.name)
            .values(run_id=run_id)
        )
        async with write_transaction(self.engine) as conn:
            await conn.execute(statement)

    async def release(self) -> None:
        statement = delete(sweep_leases).where(
            sweep_leases.c.scope == self.scope, sweep_leases.c.holder == self.holder.name
        )
        async with write_transaction(self.engine) as conn:
            await conn.execute(statement)

    async def _renew_forever(self) -> None:
        while True:
            await asyncio.sleep(self.seconds / 3)
            try:
                await self.renew()
            except LeaseLost:
                return  # the fence stops the next batch
            except DatabaseError:
                continue  # the database is away: try again; the fence decides meanwhile

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[SweepLease]:
        """Acquire, renew in the background, release at the end. Kept (not released) when
        the body stops with Interrupted or is cancelled: the job's next attempt takes it
        over at once, and its shards keep their fence."""
        await self.acquire()
        renewer = asyncio.create_task(self._renew_forever(), name="sweep lease")
        keep = False
        try:
            yield self
        except (Interrupted, asyncio.CancelledError):
            keep = True
            raise
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            if not keep:
                with contextlib.suppress(SergasError):
                    await self.release()
