"""The service-manager seam: a few operations with written contracts.

Implementations: ``engine.service.systemd.Systemd`` (shells out to ``systemctl``) and
``engine.service.supervisor.Supervisord`` (``supervisorctl``). Both are thin; the update
logic lives in the transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

__all__ = [
    "QUERY_TIMEOUT_SECONDS",
    "RESTART_TIMEOUT_SECONDS",
    "AgentUnit",
    "Reload",
    "ReloadOutcome",
    "ServiceManager",
]

# Every call of the manager's command line is bounded: a hung manager (stopped with
# SIGSTOP, deadlocked) fails the operation, naming the manager, instead of stalling it.
QUERY_TIMEOUT_SECONDS = 30.0  # status, signal, reload, daemon-reload
RESTART_TIMEOUT_SECONDS = 180.0  # restart and start wait for the agent to stop and start


class Reload(StrEnum):
    RELOADED = "reloaded"  # the agent was told to re-exec (SIGHUP)
    RESTARTED = "restarted"  # reload failed; try-restart worked
    NOT_RUNNING = "not-running"  # inactive: left stopped, nothing to health-check


@dataclass(frozen=True)
class ReloadOutcome:
    result: Reload
    warning: str = ""


@dataclass(frozen=True)
class AgentUnit:
    """What a service manager needs to run one agent: its unit (program) name, the command
    that starts it, and the systemd unit file (copied from the version dir beforehand)."""

    name: str
    command: Sequence[str]
    unit_file: Path


class ServiceManager(Protocol):
    name: str

    def present(self) -> bool:
        """Whether this manager is usable on the host."""

    def is_active(self, unit: str) -> bool:
        """True when the unit is running."""

    def is_enabled(self, unit: str) -> bool:
        """True when the unit starts at boot."""

    def main_pid(self, unit: str) -> int | None:
        """The PID the manager tracks, or None when not running."""

    def restarts(self, unit: str) -> int | None:
        """How often the manager restarted the unit by itself, or None if it does not count."""

    def reload(self, unit: str) -> ReloadOutcome:
        """Make a running agent re-exec its (new) binary; PROTOCOL §3 step 4.

        Reload first; if that fails, try-restart and say so in ``warning``. An inactive unit
        is never started: returns ``Reload.NOT_RUNNING``.

        Raises:
            ServiceError: both reload and try-restart failed (names the unit and stderr).
        """

    def try_restart(self, unit: str) -> None:
        """Restart the unit only if it is running. Raises ServiceError on failure."""

    def restart(self, unit: str) -> None:
        """Restart the unit, or start it when it is not running (also when it is failed or
        waiting to be restarted). Raises ServiceError on failure."""

    def daemon_reload(self) -> None:
        """Tell the manager that unit files changed. Idempotent."""

    def start(self, unit: str) -> None:
        """Start the unit; idempotent (a running unit stays as it is). Waits at most the
        restart timeout. Raises ServiceError naming the unit and the manager's stderr."""

    def stop(self, unit: str) -> None:
        """Stop the unit and wait until it stopped; idempotent (a stopped or unknown unit
        is fine). Raises ServiceError naming the unit and the manager's stderr."""

    def enable(self, unit: str) -> None:
        """Make the unit start with the host (systemd ``enable``; supervisord: load the
        program, which then starts with supervisord and, being ``autostart``, now).
        Idempotent. Raises ServiceError naming the unit and the manager's stderr."""

    def disable(self, unit: str) -> None:
        """Undo ``enable`` (systemd ``disable``; supervisord: unload the stopped program).
        Idempotent: an unknown unit is fine. Raises ServiceError naming the unit."""

    def write_unit(self, unit: AgentUnit) -> Callable[[], None]:
        """Make the manager know ``unit`` (systemd: its unit file must already be in place;
        this reloads systemd. supervisord: writes the program section into the include
        directory its config reads and rereads it). Idempotent. Raises ServiceError.

        Returns what puts the manager back as it was before: systemd reloads (whoever put
        the unit file in place puts the old one back first); supervisord writes back the
        program section that was there, or removes the program it added."""

    def remove_unit(self, unit: AgentUnit) -> None:
        """Forget ``unit``: remove its unit file or program section and tell the manager.
        Stop it first. Idempotent: a missing file is fine. Raises ServiceError."""
