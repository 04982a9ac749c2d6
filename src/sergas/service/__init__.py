"""The HTTP service (`sergas serve`): accounts, tiers, health and Prometheus metrics over
FastAPI, with hashed bearer API keys (`sergas.access`). See docs/service.md."""

from sergas.service.app import create_app

__all__ = ["create_app"]
