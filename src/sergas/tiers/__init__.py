"""Three ways to reach Zoho behind one async interface (see `base.ZohoTier`)."""

from sergas.tiers.base import BulkResult, HealthStatus, RecordResult, ZohoTier

__all__ = ["BulkResult", "HealthStatus", "RecordResult", "ZohoTier"]
