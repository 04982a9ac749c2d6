"""A sharded sweep, the coordinator's side: its write batches as shard jobs that any workers
take in parallel, the briefs written once (by the coordinator) when every shard is done.

```
sweep job (holds the lease)     plan saved ─► N-1 shard jobs queued, their batches assigned
                                 ├ writes its own share, here
                                 ├ takes back every shard still queued (cancelled first,
                                 │ so it can never start) and writes it here too
                                 └ waits for the shards that started; then the run's outcome
sweep_shard jobs (any worker)    write their batches, fenced by the sweep job's lease
```

Every call still goes through the gateway's choke point (`sergas.tiers.core.calls`) and the
org's limiter (shared by every worker with SERGAS_REDIS_URL), so the number of workers does
not take Zoho past the org's caps. A shard whose worker died
is handed on like any job; a resumed coordinator follows the shards that are still queued
or running and plans the rest again.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from sergas.jobs.queue import ACTIVE, SHARD
from sergas.jobs.tasks import WorkerState
from sergas.sweep.app import routed
from sergas.sweep.lease import Fence, Interrupted, SweepLease
from sergas.sweep.model import Outcome
from sergas.sweep.runner import Progress
from sergas.sweep.store import DONE, BatchRow, RunRow, SweepStore
from sergas.sweep.writing import BatchWriter

__all__ = ["ShardedWriter", "split"]

POLL_SECONDS = 0.5


def split(numbers: list[int], shards: int) -> list[list[int]]:
    """`numbers` dealt round-robin into at most `shards` non-empty groups."""
    groups = [numbers[i::shards] for i in range(min(shards, len(numbers)))]
    return [g for g in groups if g]


class ShardedWriter:
    """`BatchesWriter` for a queued sweep (see the module docstring)."""

    def __init__(self, state: WorkerState, scope: str, job_id: int) -> None:
        self.state = state
        self.scope = scope
        self.job_id = job_id
        self.store = SweepStore(state.runtime.engine)

    async def write(
        self,
        run: RunRow,
        batches: list[BatchRow],
        lease: SweepLease,
        progress: Progress,
    ) -> tuple[dict[str, Outcome], list[int]]:
        todo = [b for b in batches if b.state != DONE]
        others = {b.job_id for b in todo if b.job_id is not None and b.job_id != self.job_id}
        statuses = await self._statuses(others)
        following = {j for j, status in statuses.items() if status in ACTIVE}
        free = [b.batch_no for b in todo if b.job_id not in following]
        own, *rest = split(free, self.state.sweep.shards) or [[]]
        for group in rest:
            following.add(await self._defer(run.id, group))
        if own:
            await self.store.assign(run.id, own, self.job_id)
            await self._write_here(run, own)
        while following:
            statuses = await self._statuses(following)
            for shard, status in statuses.items():
                if status not in ACTIVE:
                    following.discard(shard)
                elif status == "todo" and await self._take_back(shard):
                    following.discard(shard)
                    taken = [
                        b.batch_no
                        for b in await self.store.batch_states(run.id)
                        if b.job_id == shard and b.state != DONE
                    ]
                    if taken:
                        await self.store.assign(run.id, taken, self.job_id)
                        await self._write_here(run, taken)
            if following:
                await self._pause()
        final = await self.store.batches(run.id)
        outcomes = {o.id: o for b in final if b.state == DONE for o in b.outcomes or ()}
        return outcomes, [b.batch_no for b in final if b.state != DONE]

    async def _defer(self, run_id: str, group: list[int]) -> int:
        deferrer = self.state.app.configure_task(SHARD)
        shard: int = await deferrer.defer_async(
            scope=self.scope, run_id=run_id, batches=list[Any](group), parent=self.job_id
        )
        await self.store.assign(run_id, group, shard)
        return shard

    async def _take_back(self, shard: int) -> bool:
        """Cancel a shard that has not started (atomic in the queue: a started one is not
        cancelled), so its batches can be written here."""
        cancelled: bool = await self.state.app.job_manager.cancel_job_by_id_async(shard)
        return cancelled

    async def _statuses(self, jobs: set[int]) -> dict[int, str]:
        manager = self.state.app.job_manager
        return {j: (await manager.get_job_status_async(j)).value for j in sorted(jobs)}

    async def _write_here(self, run: RunRow, numbers: list[int]) -> None:
        rows = [b for b in await self.store.batches(run.id, numbers) if b.state != DONE]
        writer = BatchWriter(
            routed(self.state.runtime.manager, self.state.sweep.tier),
            self.store,
            run.id,
            run.checked_at,
            concurrency=self.state.sweep.write_concurrency,
            clock=lambda: datetime.now(UTC),
            fence=Fence(self.scope, job_id=self.job_id, shard_job=self.job_id),
            stop=self.state.stop,
            test_pause=self.state.sweep.test_pause,
        )
        await writer.write_all(rows)

    async def _pause(self) -> None:
        stop = self.state.stop
        try:
            await asyncio.wait_for(stop.wait(), POLL_SECONDS)
        except TimeoutError:
            return
        raise Interrupted("stopped on request while its shards were writing")
