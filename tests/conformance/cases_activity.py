"""Conformance cases: related records, notes, lead conversion, record count, the recycle bin,
mass update, custom views and If-Modified-Since."""

from __future__ import annotations
