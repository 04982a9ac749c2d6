"""The sandbox's HTTP layer: thin, stateless translation of Zoho's wire protocol."""

from sergas.sandbox.http.app import create_app

__all__ = ["create_app"]
