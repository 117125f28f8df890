"""Tilsvar: a self-hosted social customer-service hub (one inbox for every channel)."""

__version__ = "0.1.0"
