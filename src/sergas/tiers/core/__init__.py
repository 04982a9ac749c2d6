"""The tier core: every strategy written once over a small protocol of per-tier primitives,
and the one choke point every call to Zoho passes (`calls.ZohoCalls.run`).

    Tier (tier.py) ─ the ZohoTier operations
      ├ reads.py   iteration, search paging, bulk read (count, COQL pages or a Bulk Read job)
      ├ writes.py  one update, bulk update (chunks of 100 or Bulk Write jobs), outcomes
      ├ jobs.py    bulk jobs: create, poll, download; metadata.py: fields, users, zgid
      └ primitives.py: what each adapter (rest.py, sdk.py, mcp.py) implements
          └ calls.py: ZohoCalls.run(ZohoCall, attempt): retries, the org's limiter
"""

from sergas.tiers.core.calls import CallKind, ZohoCall, ZohoCalls
from sergas.tiers.core.tier import Tier

__all__ = ["CallKind", "Tier", "ZohoCall", "ZohoCalls"]
