"""The HTTP service (`sergas serve`): accounts, tiers, health and Prometheus metrics over
FastAPI, with hashed bearer API keys. See docs/service.md."""

from sergas.service.app import create_app
from sergas.service.keys import ApiKeyStore, Principal
from sergas.service.runtime import Runtime, open_runtime

__all__ = ["ApiKeyStore", "Principal", "Runtime", "create_app", "open_runtime"]
