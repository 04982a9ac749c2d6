"""Sergas: a gateway between account-management automation and Zoho CRM."""

__all__ = ["__version__"]

__version__ = "0.1.0"
