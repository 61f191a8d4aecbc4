"""Protocols: event streams that drive circuits, with metrics and figures."""
