"""systemd via ``systemctl``: the production service manager. Deliberately thin."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from engine.errors import ServiceError
from engine.service.base import (
    QUERY_TIMEOUT_SECONDS,
    RESTART_TIMEOUT_SECONDS,
    AgentUnit,
    Reload,
    ReloadOutcome,
)

__all__ = ["Systemd"]

# systemctl's exit code for a unit that is not loaded (LSB "program is not installed")
_NOT_LOADED = 5
_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}


class Systemd:
    name = "systemd"

    def __init__(
        self,
        systemctl: str | None = None,
        *,
        run_dir: Path = Path("/run/systemd/system"),
        timeout_seconds: float = QUERY_TIMEOUT_SECONDS,
        restart_timeout_seconds: float = RESTART_TIMEOUT_SECONDS,
    ) -> None:
        self._systemctl = systemctl or shutil.which("systemctl", path=_ENV["PATH"]) or "systemctl"
        self._run_dir = run_dir
        self._timeout = timeout_seconds
        self._restart_timeout = restart_timeout_seconds

    def _run(self, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
        seconds = timeout or self._timeout
        try:
            return subprocess.run(
                [self._systemctl, *args],
                capture_output=True,
                text=True,
                check=False,
                env=_ENV,
                timeout=seconds,
            )
        except subprocess.TimeoutExpired as e:
            raise ServiceError(
                f"systemd did not answer 'systemctl {' '.join(args)}' within {seconds:g} s: "
                "is it hung?"
            ) from e
        except OSError as e:
            raise ServiceError(f"systemctl {' '.join(args)} could not run: {e}") from e

    @staticmethod
    def _unit(unit: str) -> str:
        return unit if unit.endswith(".service") else f"{unit}.service"

    def present(self) -> bool:
        return self._run_dir.is_dir()

    def is_active(self, unit: str) -> bool:
        return self._run("is-active", "--quiet", self._unit(unit)).returncode == 0

    def is_enabled(self, unit: str) -> bool:
        return self._run("is-enabled", "--quiet", self._unit(unit)).returncode == 0

    def main_pid(self, unit: str) -> int | None:
        result = self._run("show", "-p", "MainPID", "--value", self._unit(unit))
        text = result.stdout.strip()
        return int(text) if result.returncode == 0 and text.isdigit() and int(text) > 0 else None

    def restarts(self, unit: str) -> int | None:
        """How often systemd restarted the unit (``NRestarts``); None when it cannot say."""
        result = self._run("show", "-p", "NRestarts", "--value", self._unit(unit))
        text = result.stdout.strip()
        return int(text) if result.returncode == 0 and text.isdigit() else None

    def reload(self, unit: str) -> ReloadOutcome:
        if not self.is_active(unit):
            return ReloadOutcome(Reload.NOT_RUNNING)
        reloaded = self._run("reload", self._unit(unit))
        if reloaded.returncode == 0:
            return ReloadOutcome(Reload.RELOADED)
        warning = (
            f"systemctl reload {self._unit(unit)} failed ({reloaded.stderr.strip() or 'exit '}"
            f"{reloaded.returncode}); restarting it instead"
        )
        self.try_restart(unit)
        return ReloadOutcome(Reload.RESTARTED, warning)

    def try_restart(self, unit: str) -> None:
        result = self._run("try-restart", self._unit(unit), timeout=self._restart_timeout)
        if result.returncode != 0:
            raise ServiceError(
                f"systemctl try-restart {self._unit(unit)} failed: "
                f"{result.stderr.strip() or f'exit {result.returncode}'}"
            )

    def restart(self, unit: str) -> None:
        self._run("reset-failed", self._unit(unit))  # a unit past its start limit starts again
        result = self._run("restart", self._unit(unit))
        if result.returncode != 0:
            raise ServiceError(
                f"systemctl restart {self._unit(unit)} failed: "
                f"{result.stderr.strip() or f'exit {result.returncode}'}"
            )

    def daemon_reload(self) -> None:
        result = self._run("daemon-reload")
        if result.returncode != 0:
            raise ServiceError(f"systemctl daemon-reload failed: {result.stderr.strip()}")

    def _check(self, *args: str, ok: tuple[int, ...] = (0,), timeout: float | None = None) -> None:
        result = self._run(*args, timeout=timeout)
        if result.returncode not in ok:
            raise ServiceError(
                f"systemctl {' '.join(args)} failed: "
                f"{result.stderr.strip() or f'exit {result.returncode}'}"
            )

    def start(self, unit: str) -> None:
        self._check("start", self._unit(unit), timeout=self._restart_timeout)

    def stop(self, unit: str) -> None:
        self._check("stop", self._unit(unit), ok=(0, _NOT_LOADED), timeout=self._restart_timeout)

    def enable(self, unit: str) -> None:
        self._check("enable", self._unit(unit))

    def disable(self, unit: str) -> None:
        if self._run("cat", self._unit(unit)).returncode != 0:
            return  # systemd does not know it: nothing is enabled
        self._check("disable", self._unit(unit))

    def write_unit(self, unit: AgentUnit) -> Callable[[], None]:
        if not unit.unit_file.is_file():
            raise ServiceError(
                f"cannot set up {self._unit(unit.name)}: {unit.unit_file} is missing"
            )
        self.daemon_reload()
        return self.daemon_reload

    def remove_unit(self, unit: AgentUnit) -> None:
        try:
            unit.unit_file.unlink(missing_ok=True)
        except OSError as e:
            raise ServiceError(f"cannot remove {unit.unit_file}: {e.strerror}") from e
        self.daemon_reload()
        self._run("reset-failed", self._unit(unit.name))  # forget a failed state, if any
