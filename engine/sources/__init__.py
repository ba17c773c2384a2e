"""Asking the cluster: the v2 find endpoint, the v1 version channel, and their transport."""

__all__: list[str] = []
