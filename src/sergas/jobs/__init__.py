"""Long work on a job queue (Procrastinate, on Sergas's PostgreSQL database): the sweep,
its shards, the approved agent changes; `sergas worker` runs them, `sergas jobs` and
/v1/jobs queue and follow them. See docs/jobs.md.

```
settings   SERGAS_JOBS_*, SERGAS_SWEEP_SCHEDULE[_TIMEZONE]
queue      the Procrastinate app, open_queue(); enqueue, list, show, cancel
schedule   periodic sweeps and approvals
tasks      sweep (a coordinator), sweep_shard, apply_approvals; how failures are retried
shards     the coordinator's side of a sharded sweep
worker     `sergas worker`: heartbeats, stalled jobs handed on, graceful stop, attempts recorded
```
"""
