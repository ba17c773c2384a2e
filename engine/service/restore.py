"""Bring an agent back up on the version just restored after a failed one."""

from __future__ import annotations

from pathlib import Path

from engine.errors import ServiceError
from engine.service.base import ServiceManager
from engine.service.health import HealthCheck, HealthResult, read_pid

__all__ = ["restart_and_check"]


def restart_and_check(
    service: ServiceManager,
    unit: str,
    health: HealthCheck,
    pid_file: Path,
    socket_path: Path,
) -> HealthResult:
    """Restart ``unit`` and health-check it, for an agent that was running before.

    A version that failed its check may have left the unit crashing in a loop, backing off,
    or given up on by its manager. A reload would then signal a dying process, or nothing
    at all, and a re-exec it starts can replace the restored process after it looked
    healthy. A restart (which also starts a failed unit) replaces whatever runs with the
    restored binary, and the check waits until that process is the one that stays.
    """
    before = read_pid(pid_file)
    try:
        service.restart(unit)
    except ServiceError as e:
        return HealthResult(False, "restart-failed", str(e), None, 0.0)
    return health.check(pid_file, socket_path, before, service=service, unit=unit)
