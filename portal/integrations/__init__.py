"""Adapters to the outside world: mail transports (later storage, scanner, PDF)."""
