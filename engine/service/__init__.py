"""Service managers: systemd (production) and supervisord (no systemd, and the sandbox)."""

from engine.service.base import ReloadOutcome, ServiceManager

__all__ = ["ReloadOutcome", "ServiceManager"]
