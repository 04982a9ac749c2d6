"""Bulk Read and Bulk Write jobs (zoho-api.md §5, §6), driven by the sandbox clock."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sergas.sandbox.backend import Sandbox


class BulkJobs:
    """All bulk jobs of one sandbox; state advances only as `sandbox.clock` moves."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sb = sandbox
